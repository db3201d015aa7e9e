// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/config/device_spec.h"

#include "core/base/strings.h"

#include <algorithm>
#include <array>

namespace core {

namespace {

struct Tag {
    std::string_view name;
    DeviceSpec::Kind kind;
};
constexpr std::array tags {
    Tag { "UUID", DeviceSpec::Kind::Uuid },
    Tag { "LABEL", DeviceSpec::Kind::Label },
    Tag { "PARTUUID", DeviceSpec::Kind::PartUuid },
    Tag { "PARTLABEL", DeviceSpec::Kind::PartLabel },
};

} // namespace

std::optional<DeviceSpec> DeviceSpec::split(std::string_view text)
{
    DeviceSpec spec;
    if (text.starts_with('/')) {
        spec.value = std::string(text);
        return spec;
    }
    auto equals = text.find('=');
    if (equals == std::string_view::npos)
        return std::nullopt;
    auto name = text.substr(0, equals);
    auto tag = std::find_if(tags.begin(), tags.end(), [&](Tag const& candidate) { return candidate.name == name; });
    if (tag == tags.end())
        return std::nullopt;
    std::string_view value = text.substr(equals + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
        value = value.substr(1, value.size() - 2);
    spec.kind = tag->kind;
    spec.value = std::string(value);
    return spec;
}

Result<DeviceSpec> DeviceSpec::parse(std::string_view text)
{
    auto spec = split(text);
    if (!spec)
        return Error::invalid(cat("dump target '", text, "' is neither a device path (/dev/...) nor UUID=, LABEL=, PARTUUID= or PARTLABEL=..."));
    if (spec->value.empty())
        return Error::invalid(cat("dump target '", text, "' has an empty value"));
    return *spec;
}

std::string_view DeviceSpec::tag_name() const
{
    for (auto const& tag : tags) {
        if (tag.kind == kind)
            return tag.name;
    }
    return {};
}

std::string DeviceSpec::text() const
{
    if (kind == Kind::Path)
        return value;
    return cat(tag_name(), '=', value);
}

Result<void> DeviceSpec::check_findable() const
{
    if (kind == Kind::Path && !value.starts_with('/'))
        return Error::invalid(cat("dump target '", value, "' is neither a device path (/dev/...) nor UUID=, LABEL=, PARTUUID= or PARTLABEL=..."));
    return {};
}

} // namespace core
