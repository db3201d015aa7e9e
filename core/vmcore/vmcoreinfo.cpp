// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/vmcore/vmcoreinfo.h"

#include "core/base/strings.h"

namespace core {

namespace {

// "SYMBOL(init_top_pgt)" -> lookup key as stored.
std::string key_of(std::string_view kind, std::string_view name) { return cat(kind, '(', name, ')'); }

// Which base a key's value is written in, and whether it is numeric at all.
// The kernel writes SYMBOL and KERNELOFFSET in hex without 0x; NUMBER is
// decimal, but arm64 writes some NUMBERs as 0x-prefixed hex.
enum class ValueForm { Text, Hex, Decimal, DecimalOrHex };

// NUMBER(): signed decimal, or 0x hex taken as the 64-bit pattern it spells.
Result<int64_t> parse_number(std::string_view text, std::string_view key)
{
    if (text.starts_with("0x") || text.starts_with("0X"))
        return static_cast<int64_t>(TRY(parse_u64(text, key, 16)));
    return parse_i64(text, key, 10);
}

ValueForm form_of(std::string_view key)
{
    if (key.starts_with("SYMBOL(") || key == "KERNELOFFSET")
        return ValueForm::Hex;
    if (key.starts_with("SIZE(") || key.starts_with("OFFSET(") || key.starts_with("LENGTH(") || key == "PAGESIZE" || key == "CRASHTIME")
        return ValueForm::Decimal;
    if (key.starts_with("NUMBER("))
        return ValueForm::DecimalOrHex;
    return ValueForm::Text;
}

Result<void> check_value(std::string_view key, std::string_view value)
{
    switch (form_of(key)) {
    case ValueForm::Text:
        return {};
    case ValueForm::Hex:
        TRY(parse_u64(value, key, 16));
        return {};
    case ValueForm::Decimal:
        TRY(parse_i64(value, key, 0));
        return {};
    case ValueForm::DecimalOrHex:
        // NUMBER() may be negative (PAGE_BUDDY_MAPCOUNT_VALUE on old
        // kernels) or a 64-bit 0x address (VMALLOC_START on 6.12).
        TRY(parse_number(value, key));
        return {};
    }
    return {};
}

} // namespace

Result<VmcoreInfo> VmcoreInfo::parse(std::string_view text)
{
    VmcoreInfo info;
    // The note's descriptor may carry NUL padding after the text.
    info.m_text = std::string(text.substr(0, text.find('\0')));
    size_t line_number = 0;
    for (auto line : split(info.m_text, '\n')) {
        ++line_number;
        if (line.empty())
            continue;
        size_t equals = line.find('=');
        if (equals == std::string_view::npos || equals == 0) {
            // Shown on a serial console: at most 80 bytes, control bytes as '?'.
            std::string shown(line.substr(0, 80));
            for (char& c : shown)
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                    c = '?';
            info.m_warnings.push_back(cat("VMCOREINFO line ", line_number, ": '", shown, line.size() > 80 ? "...": "", "' is not KEY=VALUE; skipping it"));
            continue;
        }
        std::string_view key = line.substr(0, equals);
        std::string_view value = line.substr(equals + 1);
        if (auto checked = check_value(key, value); !checked.ok()) {
            info.m_warnings.push_back(cat("VMCOREINFO line ", line_number, ": ", checked.error().message(), "; skipping the entry"));
            continue;
        }
        // The first definition wins, as in makedumpfile's reader.
        info.m_values.emplace(std::string(key), std::string(value));
    }
    return info;
}

std::optional<std::string_view> VmcoreInfo::value(std::string_view key) const
{
    auto found = m_values.find(key);
    if (found == m_values.end())
        return std::nullopt;
    return std::string_view(found->second);
}

std::optional<uint64_t> VmcoreInfo::symbol(std::string_view name) const
{
    auto text = value(key_of("SYMBOL", name));
    if (!text)
        return std::nullopt;
    return parse_u64(*text, name, 16).value(); // checked in parse()
}

namespace {
std::optional<uint64_t> decimal_value(VmcoreInfo const& info, std::string const& key)
{
    auto text = info.value(key);
    if (!text)
        return std::nullopt;
    auto value = parse_i64(*text, key, 0).value(); // checked in parse()
    return static_cast<uint64_t>(value);
}
} // namespace

std::optional<uint64_t> VmcoreInfo::size(std::string_view name) const { return decimal_value(*this, key_of("SIZE", name)); }
std::optional<uint64_t> VmcoreInfo::offset(std::string_view struct_member) const { return decimal_value(*this, key_of("OFFSET", struct_member)); }
std::optional<uint64_t> VmcoreInfo::length(std::string_view name) const { return decimal_value(*this, key_of("LENGTH", name)); }

std::optional<int64_t> VmcoreInfo::number(std::string_view name) const
{
    auto text = value(key_of("NUMBER", name));
    if (!text)
        return std::nullopt;
    return parse_number(*text, name).value(); // checked in parse()
}

KernelVersion parse_kernel_version(std::string_view osrelease)
{
    auto parts = split(osrelease, '.');
    if (parts.size() < 2)
        return {};
    std::string_view minor_text = parts[1];
    size_t digits = 0;
    while (digits < minor_text.size() && minor_text[digits] >= '0' && minor_text[digits] <= '9')
        ++digits;
    auto major = parse_u64(parts[0], "kernel major version");
    auto minor = parse_u64(minor_text.substr(0, digits), "kernel minor version");
    if (!major.ok() || !minor.ok())
        return {};
    return { true, major.value(), minor.value() };
}

std::string_view VmcoreInfo::osrelease() const { return value("OSRELEASE").value_or(""); }
std::optional<uint64_t> VmcoreInfo::page_size() const { return decimal_value(*this, "PAGESIZE"); }

std::optional<uint64_t> VmcoreInfo::kernel_offset() const
{
    auto text = value("KERNELOFFSET");
    if (!text)
        return std::nullopt;
    return parse_u64(*text, "KERNELOFFSET", 16).value();
}

std::optional<int64_t> VmcoreInfo::crash_time() const
{
    auto seconds = decimal_value(*this, "CRASHTIME");
    if (!seconds)
        return std::nullopt;
    return static_cast<int64_t>(*seconds);
}

} // namespace core
