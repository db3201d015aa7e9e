// SPDX-License-Identifier: GPL-2.0-or-later
// SSH's wire encoding (RFC 4253 section 5): uint32, string and mpint, read
// in order through a bounds-checked big-endian reader. Key blobs in
// known_hosts and OpenSSH private key files both use it.
#pragma once

#include "core/base/bytes.h"
#include "core/base/strings.h"

#include <span>
#include <string>
#include <string_view>

namespace core {

// Bytes of a wire string as text (no copy).
inline std::string_view wire_text(std::span<uint8_t const> bytes) { return { reinterpret_cast<char const*>(bytes.data()), bytes.size() }; }

class SshWireReader {
public:
    // `what` names the bytes in errors ("sshkey /root/.ssh/kdump_id_rsa").
    SshWireReader(std::span<uint8_t const> bytes, std::string_view what) : m_reader(bytes, Endian::Big, what), m_what(what) { }

    Result<uint32_t> u32()
    {
        auto value = TRY(m_reader.u32(m_offset).context(m_what));
        m_offset += 4;
        return value;
    }
    Result<std::span<uint8_t const>> string(std::string_view field)
    {
        uint32_t length = TRY(u32().context(field));
        auto bytes = m_reader.bytes(m_offset, length);
        if (!bytes)
            return Error::invalid(cat(m_what, ": ", field, " says ", length, " bytes, past the end (", m_reader.size() - m_offset, " left)"));
        m_offset += length;
        return bytes.value();
    }
    // A non-negative mpint, without its leading zero byte.
    Result<std::span<uint8_t const>> unsigned_mpint(std::string_view field)
    {
        auto bytes = TRY(string(field));
        if (!bytes.empty() && (bytes[0] & 0x80))
            return Error::invalid(cat(m_what, ": ", field, " is negative"));
        while (!bytes.empty() && bytes[0] == 0)
            bytes = bytes.subspan(1);
        if (bytes.empty())
            return Error::invalid(cat(m_what, ": ", field, " is zero"));
        return bytes;
    }
    std::span<uint8_t const> rest() const { return m_reader.all().subspan(m_offset); }
    bool at_end() const { return m_offset == m_reader.size(); }

private:
    ByteReader m_reader;
    std::string_view m_what;
    uint64_t m_offset { 0 };
};

} // namespace core
