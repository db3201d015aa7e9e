// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/bytes.h"

#include "core/base/strings.h"

#include <cstring>

namespace core {

uint64_t load_uint(uint8_t const* bytes, unsigned width, Endian endian)
{
    uint64_t value = 0;
    for (unsigned index = 0; index < width; ++index) {
        unsigned byte_index = endian == Endian::Little ? width - 1 - index : index;
        value = (value << 8) | bytes[byte_index];
    }
    return value;
}

void store_uint(uint8_t* bytes, unsigned width, uint64_t value, Endian endian)
{
    for (unsigned index = 0; index < width; ++index) {
        unsigned byte_index = endian == Endian::Little ? index : width - 1 - index;
        bytes[byte_index] = static_cast<uint8_t>(value >> (8 * index));
    }
}

Error ByteReader::out_of_bounds(uint64_t offset, uint64_t length) const
{
    return Error::invalid(cat(m_what, ": ", length, " bytes at offset ", hex(offset), " run past its end (", m_bytes.size(), " bytes); the data is truncated or corrupt"));
}

Result<uint64_t> ByteReader::uint(uint64_t offset, unsigned width) const
{
    if (width != 1 && width != 2 && width != 4 && width != 8)
        return Error::invalid(cat(m_what, ": unsupported field width ", width));
    if (!extent_within(offset, width, m_bytes.size()))
        return out_of_bounds(offset, width);
    return load_uint(m_bytes.data() + offset, width, m_endian);
}

Result<uint8_t> ByteReader::u8(uint64_t offset) const { return static_cast<uint8_t>(TRY(uint(offset, 1))); }
Result<uint16_t> ByteReader::u16(uint64_t offset) const { return static_cast<uint16_t>(TRY(uint(offset, 2))); }
Result<uint32_t> ByteReader::u32(uint64_t offset) const { return static_cast<uint32_t>(TRY(uint(offset, 4))); }
Result<uint64_t> ByteReader::u64(uint64_t offset) const { return TRY(uint(offset, 8)); }

Result<std::span<uint8_t const>> ByteReader::bytes(uint64_t offset, uint64_t length) const
{
    if (!extent_within(offset, length, m_bytes.size()))
        return out_of_bounds(offset, length);
    return m_bytes.subspan(offset, length);
}

Result<ByteReader> ByteReader::sub(uint64_t offset, uint64_t length) const
{
    auto range = TRY(bytes(offset, length));
    return ByteReader(range, m_endian, m_what);
}

Result<std::string_view> ByteReader::c_string(uint64_t offset, uint64_t max_length) const
{
    auto range = TRY(bytes(offset, max_length));
    std::string_view text(reinterpret_cast<char const*>(range.data()), range.size());
    return text.substr(0, text.find('\0'));
}

uint64_t ByteCursor::next(unsigned width)
{
    if (m_error)
        return 0;
    auto value = m_reader.uint(m_offset, width);
    if (!value.ok()) {
        m_error = std::move(value).error();
        return 0;
    }
    m_offset += width;
    return value.value();
}

void ByteCursor::skip(uint64_t length)
{
    if (m_error)
        return;
    if (!extent_within(m_offset, length, m_reader.size())) {
        m_error = m_reader.out_of_bounds(m_offset, length);
        return;
    }
    m_offset += length;
}

Result<void> ByteCursor::status() const
{
    if (m_error)
        return *m_error;
    return {};
}

void ByteWriter::ensure_size(uint64_t size)
{
    if (m_bytes.size() < size)
        m_bytes.resize(size, '\0');
}

void ByteWriter::put_uint(uint64_t offset, unsigned width, uint64_t value)
{
    ensure_size(offset + width);
    store_uint(reinterpret_cast<uint8_t*>(m_bytes.data()) + offset, width, value, m_endian);
}

void ByteWriter::put_bytes(uint64_t offset, std::span<uint8_t const> bytes)
{
    ensure_size(offset + bytes.size());
    if (!bytes.empty())
        std::memcpy(m_bytes.data() + offset, bytes.data(), bytes.size());
}

void ByteWriter::put_string(uint64_t offset, std::string_view text)
{
    put_bytes(offset, { reinterpret_cast<uint8_t const*>(text.data()), text.size() });
}

} // namespace core
