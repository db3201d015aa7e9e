// SPDX-License-Identifier: GPL-2.0-or-later
// The printk log readers (the lockless ring and the older log_buf) on
// kernel memory the input describes:
//   VMCOREINFO text, a NUL, then chunks of kernel virtual memory, each
//   [u64 little-endian address][u32 little-endian length][bytes].
// A read must fall inside one chunk; the first byte of the memory part
// picks the crashed kernel's byte order. tests/fuzz/make_seeds records
// such inputs from real vmcores.
#include "tests/fuzz/fuzz_support.h"

#include "core/vmcore/dmesg.h"
#include "core/vmcore/kernel_memory.h"
#include "core/vmcore/vmcoreinfo.h"

#include <cstring>
#include <map>

namespace {

class ChunkMemory final : public core::KernelMemory {
public:
    ChunkMemory(core::Endian endian, std::map<uint64_t, std::span<uint8_t const>> chunks) : m_endian(endian), m_chunks(std::move(chunks)) { }
    core::Result<void> read(uint64_t vaddr, std::span<uint8_t> out) const override
    {
        auto after = m_chunks.upper_bound(vaddr);
        if (after != m_chunks.begin()) {
            auto const& [start, bytes] = *std::prev(after);
            uint64_t skip = vaddr - start;
            if (skip <= bytes.size() && out.size() <= bytes.size() - skip) {
                if (!out.empty())
                    std::memcpy(out.data(), bytes.data() + skip, out.size());
                return {};
            }
        }
        return core::Error::invalid("fuzz: address not in any chunk");
    }
    core::Endian endian() const override { return m_endian; }

private:
    core::Endian m_endian;
    std::map<uint64_t, std::span<uint8_t const>> m_chunks;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    auto text = fuzz::text_of(data, size);
    auto end = text.find('\0');
    if (end == std::string_view::npos || end + 1 >= size)
        return 0;
    auto info = core::VmcoreInfo::parse(text.substr(0, end));
    if (!info)
        return 0;
    auto memory = fuzz::bytes_of(data + end + 1, size - end - 1);
    core::ByteReader reader(memory.subspan(1), core::Endian::Little, "fuzz chunks");
    std::map<uint64_t, std::span<uint8_t const>> chunks;
    for (uint64_t offset = 0;;) {
        auto address = reader.u64(offset);
        auto length = reader.u32(offset + 8);
        if (!address || !length)
            break;
        auto bytes = reader.bytes(offset + 12, *length);
        if (!bytes)
            break;
        chunks[*address] = *bytes;
        offset += 12 + uint64_t(*length);
    }
    ChunkMemory kernel((memory[0] & 1) ? core::Endian::Big : core::Endian::Little, std::move(chunks));
    (void)core::extract_dmesg(*info, kernel);
    (void)core::read_utsname(*info, kernel);
    return 0;
}
