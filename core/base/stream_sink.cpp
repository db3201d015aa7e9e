// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/stream_sink.h"

#include "core/base/fd.h"

namespace core {

Result<void> StringSink::write(std::span<uint8_t const> bytes)
{
    m_out.append(reinterpret_cast<char const*>(bytes.data()), bytes.size());
    return {};
}

Result<void> FdSink::write(std::span<uint8_t const> bytes)
{
    TRY(write_all(m_fd, bytes, m_what));
    m_bytes_written += bytes.size();
    return {};
}

Result<void> TeeSink::write(std::span<uint8_t const> bytes)
{
    TRY(m_first.write(bytes));
    return m_second.write(bytes);
}

Result<void> TeeSink::finish()
{
    TRY(m_first.finish());
    return m_second.finish();
}

} // namespace core
