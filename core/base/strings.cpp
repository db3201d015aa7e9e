// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/strings.h"

namespace core {

std::string hex(uint64_t value)
{
    char digits[20];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value, 16);
    return cat("0x", std::string_view(digits, static_cast<size_t>(end - digits)));
}

Result<uint64_t> parse_u64(std::string_view text, std::string_view what, int base)
{
    std::string_view digits = text;
    if (base == 0 || base == 16) {
        if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
            digits.remove_prefix(2);
            base = 16;
        } else if (base == 0) {
            base = 10;
        }
    }
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (digits.empty() || ec == std::errc::invalid_argument || end != digits.data() + digits.size())
        return Error::invalid(cat(what, ": '", text, "' is not a ", base == 16 ? "hexadecimal" : "decimal", " number"));
    if (ec == std::errc::result_out_of_range)
        return Error::invalid(cat(what, ": '", text, "' is out of range"));
    return value;
}

Result<int64_t> parse_i64(std::string_view text, std::string_view what, int base)
{
    bool negative = !text.empty() && text[0] == '-';
    uint64_t magnitude = TRY(parse_u64(negative ? text.substr(1) : text, what, base));
    uint64_t limit = negative ? uint64_t(INT64_MAX) + 1 : uint64_t(INT64_MAX);
    if (magnitude > limit)
        return Error::invalid(cat(what, ": '", text, "' is out of range"));
    if (negative)
        return magnitude == limit ? INT64_MIN : -static_cast<int64_t>(magnitude);
    return static_cast<int64_t>(magnitude);
}

std::string_view trim(std::string_view text)
{
    constexpr std::string_view blanks = " \t\r\n";
    size_t first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos)
        return {};
    size_t last = text.find_last_not_of(blanks);
    return text.substr(first, last - first + 1);
}

std::string join(std::vector<std::string> const& words, std::string_view separator)
{
    std::string out;
    for (size_t index = 0; index < words.size(); ++index) {
        if (index)
            out.append(separator);
        out.append(words[index]);
    }
    return out;
}

std::vector<std::string_view> split(std::string_view text, char separator)
{
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (true) {
        size_t at = text.find(separator, start);
        if (at == std::string_view::npos) {
            parts.push_back(text.substr(start));
            return parts;
        }
        parts.push_back(text.substr(start, at - start));
        start = at + 1;
    }
}

} // namespace core
