// SPDX-License-Identifier: GPL-2.0-or-later
// Binary formats (ELF, VMCOREINFO notes, kdump headers, cpio, DHCP) are
// decoded through these readers, never by casting file bytes to structs:
// every read is bounds-checked and its byte order is explicit, because a
// vmcore's byte order is the crashed machine's, not ours.
#pragma once

#include "core/base/error.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace core {

enum class Endian { Little, Big };

// Overflow-safe extent arithmetic. The subtraction form never wraps.
constexpr bool extent_within(uint64_t offset, uint64_t length, uint64_t size)
{
    return offset <= size && length <= size - offset;
}
constexpr std::optional<uint64_t> checked_add(uint64_t a, uint64_t b)
{
    uint64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return std::nullopt;
    return sum;
}
constexpr std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b)
{
    uint64_t product;
    if (__builtin_mul_overflow(a, b, &product))
        return std::nullopt;
    return product;
}
constexpr uint64_t align_up(uint64_t value, uint64_t alignment) { return (value + alignment - 1) / alignment * alignment; }

// Endian-explicit loads and stores on raw memory the caller has already
// bounds-checked (the readers and writers below do that).
uint64_t load_uint(uint8_t const* bytes, unsigned width, Endian endian);
void store_uint(uint8_t* bytes, unsigned width, uint64_t value, Endian endian);

class ByteReader {
public:
    ByteReader() = default;
    // `what` names the data in errors: "ELF header", "/proc/vmcore note".
    ByteReader(std::span<uint8_t const> bytes, Endian endian, std::string_view what)
        : m_bytes(bytes)
        , m_endian(endian)
        , m_what(what)
    {
    }

    size_t size() const { return m_bytes.size(); }
    Endian endian() const { return m_endian; }
    std::span<uint8_t const> all() const { return m_bytes; }
    std::string_view what() const { return m_what; }
    void set_endian(Endian endian) { m_endian = endian; }

    Result<uint8_t> u8(uint64_t offset) const;
    Result<uint16_t> u16(uint64_t offset) const;
    Result<uint32_t> u32(uint64_t offset) const;
    Result<uint64_t> u64(uint64_t offset) const;
    // width 1, 2, 4 or 8: for fields whose size depends on the ELF class.
    Result<uint64_t> uint(uint64_t offset, unsigned width) const;
    Result<std::span<uint8_t const>> bytes(uint64_t offset, uint64_t length) const;
    Result<ByteReader> sub(uint64_t offset, uint64_t length) const;
    // The text up to the first NUL within [offset, offset+max_length), or the
    // whole range if it has none.
    Result<std::string_view> c_string(uint64_t offset, uint64_t max_length) const;

    Error out_of_bounds(uint64_t offset, uint64_t length) const;

private:
    std::span<uint8_t const> m_bytes;
    Endian m_endian { Endian::Little };
    std::string_view m_what { "data" };
};

// Sequential decoding with a sticky error, for headers with many fields:
// read them all, then check status() once.
class ByteCursor {
public:
    explicit ByteCursor(ByteReader const& reader, uint64_t offset = 0) : m_reader(reader), m_offset(offset) { }

    uint8_t u8() { return static_cast<uint8_t>(next(1)); }
    uint16_t u16() { return static_cast<uint16_t>(next(2)); }
    uint32_t u32() { return static_cast<uint32_t>(next(4)); }
    uint64_t u64() { return next(8); }
    uint64_t uint(unsigned width) { return next(width); }
    void skip(uint64_t length);

    uint64_t offset() const { return m_offset; }
    Result<void> status() const;

private:
    uint64_t next(unsigned width);

    ByteReader const& m_reader;
    uint64_t m_offset;
    std::optional<Error> m_error;
};

// Builds binary output (dump headers, cpio, netlink messages) with the same
// explicit byte order. Writes past the end grow the buffer.
class ByteWriter {
public:
    explicit ByteWriter(Endian endian) : m_endian(endian) { }

    void put_uint(uint64_t offset, unsigned width, uint64_t value);
    void put_u8(uint64_t offset, uint8_t value) { put_uint(offset, 1, value); }
    void put_u16(uint64_t offset, uint16_t value) { put_uint(offset, 2, value); }
    void put_u32(uint64_t offset, uint32_t value) { put_uint(offset, 4, value); }
    void put_u64(uint64_t offset, uint64_t value) { put_uint(offset, 8, value); }
    void put_bytes(uint64_t offset, std::span<uint8_t const> bytes);
    void put_string(uint64_t offset, std::string_view text);
    void resize(size_t size) { m_bytes.resize(size); }

    std::span<uint8_t const> bytes() const { return { reinterpret_cast<uint8_t const*>(m_bytes.data()), m_bytes.size() }; }
    std::string& buffer() { return m_bytes; }

private:
    void ensure_size(uint64_t size);

    Endian m_endian;
    std::string m_bytes;
};

} // namespace core
