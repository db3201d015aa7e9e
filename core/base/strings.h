// SPDX-License-Identifier: GPL-2.0-or-later
// Small text helpers shared by every applet: building messages without
// iostreams (they cost size in a static binary) and strict number parsing.
#pragma once

#include "core/base/error.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace core {

namespace detail {
inline void append_part(std::string& out, std::string_view part) { out.append(part); }
inline void append_part(std::string& out, char part) { out.push_back(part); }
inline void append_part(std::string& out, char const* part) { out.append(part); }
inline void append_part(std::string& out, std::string const& part) { out.append(part); }
template<typename Integer>
    requires(std::is_integral_v<Integer> && !std::is_same_v<Integer, char> && !std::is_same_v<Integer, bool>)
void append_part(std::string& out, Integer part)
{
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, part);
    out.append(digits, end);
}
inline void append_part(std::string& out, bool part) { out.append(part ? "true" : "false"); }
} // namespace detail

// cat("read ", path, " at offset ", 42) -> one string.
template<typename... Parts>
std::string cat(Parts const&... parts)
{
    std::string out;
    (detail::append_part(out, parts), ...);
    return out;
}

// "0x1f000" style, for addresses and offsets in messages.
std::string hex(uint64_t value);

// Strict parsing: the whole text must be a number in range. base 0 accepts
// 0x-prefixed hex and plain decimal. `what` names the thing in the error,
// e.g. "dump level".
Result<uint64_t> parse_u64(std::string_view text, std::string_view what, int base = 10);
Result<int64_t> parse_i64(std::string_view text, std::string_view what, int base = 10);

std::string_view trim(std::string_view text);
std::vector<std::string_view> split(std::string_view text, char separator);
// The words with `separator` between them: {"a", "b"}, ", " -> "a, b".
std::string join(std::vector<std::string> const& words, std::string_view separator);

} // namespace core
