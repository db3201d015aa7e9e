// SPDX-License-Identifier: GPL-2.0-or-later
// -R: rebuilding a file from makedumpfile's flattened stream, into a sink
// that checks each record's extent and keeps nothing.
#include "tests/fuzz/fuzz_support.h"

#include "core/dump/dump_output.h"

namespace {

class DiscardSink final : public core::OutputSink {
public:
    core::Result<void> write_at(uint64_t offset, std::span<uint8_t const> data) override
    {
        if (offset + data.size() < offset)
            std::abort(); // the reader let an extent wrap around
        m_high_water = std::max(m_high_water, offset + data.size());
        return {};
    }
    core::Result<void> finish() override { return {}; }
    bool can_rewrite() const override { return true; }
    uint64_t bytes_written() const override { return m_high_water; }

private:
    uint64_t m_high_water { 0 };
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    fuzz::InputFile input(fuzz::bytes_of(data, size));
    DiscardSink sink;
    (void)core::rebuild_flattened_into(input.fd(), "fuzz input", sink, "fuzz output");
    return 0;
}
