// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/lvm_format.h"

#include "core/base/bytes.h"
#include "core/base/log.h"
#include "core/base/strings.h"

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <variant>
#include <zlib.h>

namespace core {

namespace {

constexpr std::string_view label_id = "LABELONE";
constexpr std::string_view label_type = "LVM2 001";
constexpr uint64_t label_header_bytes = 32;
constexpr uint64_t label_crc_from = 20; // the CRC covers offset_xl to the sector's end
constexpr uint64_t pv_uuid_bytes = 32;
constexpr std::string_view mda_magic = " LVM2 x[5A%r0N*>";
constexpr uint32_t mda_version = 1;
constexpr uint32_t raw_locn_ignored = 1;
// Bounds on how many areas a pv_header may list before its zero pair.
constexpr size_t max_disk_areas = 8;

bool is_id_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '!' || c == '#';
}

} // namespace

uint32_t lvm_crc32(std::span<uint8_t const> bytes, uint32_t initial)
{
    // zlib inverts the running value before and after; lvm2 does neither,
    // so invert around zlib's to get lvm2's raw register.
    uLong crc = ~initial & 0xffffffffu;
    while (!bytes.empty()) {
        auto chunk = std::min<size_t>(bytes.size(), 1u << 30);
        crc = ::crc32(crc, bytes.data(), static_cast<uInt>(chunk));
        bytes = bytes.subspan(chunk);
    }
    return static_cast<uint32_t>(~crc & 0xffffffffu);
}

std::string format_lvm_uuid(std::string_view id32)
{
    static constexpr size_t groups[] = { 6, 4, 4, 4, 4, 4, 6 };
    std::string out;
    size_t at = 0;
    for (size_t group : groups) {
        if (!out.empty())
            out += '-';
        out += id32.substr(at, group);
        at += group;
    }
    return out;
}

Result<std::string> lvm_uuid_without_dashes(std::string_view uuid)
{
    std::string bare;
    for (char c : uuid) {
        if (c == '-')
            continue;
        if (!is_id_char(c) || bare.size() == pv_uuid_bytes)
            return Error::invalid(cat("\"", uuid, "\" is not an LVM uuid (32 characters of [0-9a-zA-Z!#], dashed as 6-4-4-4-4-4-6)"));
        bare += c;
    }
    if (bare.size() != pv_uuid_bytes)
        return Error::invalid(cat("\"", uuid, "\" is not an LVM uuid (32 characters of [0-9a-zA-Z!#], dashed as 6-4-4-4-4-4-6)"));
    return bare;
}

bool is_lvm_name(std::string_view name)
{
    // lvm2's rule for VG and LV names (validate_name): [a-zA-Z0-9+_.-],
    // not starting with '-', not "." or "..", at most 127 bytes.
    if (name.empty() || name.size() > 127 || name.front() == '-' || name == "." || name == "..")
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '+' || c == '.' || c == '-'; });
}

// --- Label ------------------------------------------------------------------

Result<std::optional<PvLabel>> parse_pv_label(std::span<uint8_t const> first_sectors)
{
    ByteReader device(first_sectors, Endian::Little, "PV label");
    for (uint64_t sector = 0; sector * lvm_sector_bytes < lvm_label_scan_bytes; ++sector) {
        auto sector_bytes = device.sub(sector * lvm_sector_bytes, lvm_sector_bytes);
        if (!sector_bytes.ok())
            break;
        ByteReader label = *sector_bytes;
        auto id = TRY(label.bytes(0, label_id.size()));
        if (!std::equal(id.begin(), id.end(), label_id.begin()))
            continue;
        // lvm2 ignores a LABELONE that names another sector or fails its
        // CRC: it may be a stale copy, or data that happens to read so.
        if (TRY(label.u64(8)) != sector)
            continue;
        uint32_t crc = TRY(label.u32(16));
        if (lvm_crc32(TRY(label.bytes(label_crc_from, lvm_sector_bytes - label_crc_from))) != crc)
            continue;
        auto where = [&](std::string_view problem) { return cat("LVM label in sector ", sector, ": ", problem); };
        auto type = TRY(label.bytes(24, label_type.size()));
        if (!std::equal(type.begin(), type.end(), label_type.begin()))
            return Error::unsupported(where("type is not \"LVM2 001\" (an LVM1 or unknown format, which kdumpbox does not read)"));
        uint32_t contents_offset = TRY(label.u32(20));
        if (contents_offset < label_header_bytes || contents_offset >= lvm_sector_bytes)
            return Error::invalid(where(cat("pv_header offset ", contents_offset, " is outside the label sector")));

        PvLabel result;
        result.label_sector = sector;
        auto uuid = TRY(label.bytes(contents_offset, pv_uuid_bytes).context(where("pv_header")));
        std::string id32(uuid.begin(), uuid.end());
        if (!std::all_of(id32.begin(), id32.end(), is_id_char))
            return Error::invalid(where("PV uuid has characters LVM never writes"));
        result.pv_uuid = format_lvm_uuid(id32);
        result.device_size_bytes = TRY(label.u64(contents_offset + pv_uuid_bytes).context(where("pv_header")));
        uint64_t offset = contents_offset + pv_uuid_bytes + 8;
        for (auto* list : { &result.data_areas, &result.metadata_areas }) {
            while (true) {
                LvmDiskArea area;
                area.offset_bytes = TRY(label.u64(offset).context(where("area list runs past the label sector")));
                area.size_bytes = TRY(label.u64(offset + 8).context(where("area list runs past the label sector")));
                offset += 16;
                if (area.offset_bytes == 0)
                    break;
                if (list->size() == max_disk_areas)
                    return Error::invalid(where(cat("more than ", max_disk_areas, " areas in one list")));
                list->push_back(area);
            }
        }
        return std::optional(std::move(result));
    }
    return std::optional<PvLabel>();
}

// --- Metadata area ----------------------------------------------------------

Result<MdaHeader> parse_mda_header(std::span<uint8_t const> header_bytes, LvmDiskArea const& area, uint64_t device_bytes)
{
    auto where = [&](std::string_view problem) { return cat("metadata area at byte ", area.offset_bytes, ": ", problem); };
    if (header_bytes.size() < lvm_mda_header_bytes)
        return Error::invalid(where("header is truncated"));
    ByteReader header(header_bytes.first(lvm_mda_header_bytes), Endian::Little, "metadata area header");
    if (lvm_crc32(TRY(header.bytes(4, lvm_mda_header_bytes - 4))) != TRY(header.u32(0)))
        return Error::invalid(where("header checksum does not match"));
    auto magic = TRY(header.bytes(4, mda_magic.size()));
    if (!std::equal(magic.begin(), magic.end(), mda_magic.begin()))
        return Error::invalid(where("header magic is wrong"));
    uint32_t version = TRY(header.u32(20));
    if (version != mda_version)
        return Error::unsupported(where(cat("header version ", version, " is not 1")));
    MdaHeader result;
    result.start_bytes = TRY(header.u64(24));
    result.size_bytes = TRY(header.u64(32));
    if (result.start_bytes != area.offset_bytes)
        return Error::invalid(where(cat("header says it starts at byte ", result.start_bytes)));
    if (result.size_bytes < 2 * lvm_mda_header_bytes)
        return Error::invalid(where(cat("area size ", result.size_bytes, " is too small")));
    if (area.size_bytes != 0 && result.size_bytes > area.size_bytes)
        return Error::invalid(where(cat("header's area size ", result.size_bytes, " is larger than the label's ", area.size_bytes)));
    if (!extent_within(result.start_bytes, result.size_bytes, device_bytes))
        return Error::invalid(where(cat("area of ", result.size_bytes, " bytes runs past the device's end at byte ", device_bytes)));
    // raw_locn slot 0: the committed text (slot 1 is a precommitted one,
    // which activation does not use).
    uint64_t text_offset = TRY(header.u64(40));
    uint64_t text_size = TRY(header.u64(48));
    result.text_checksum = TRY(header.u32(56));
    result.ignored = (TRY(header.u32(60)) & raw_locn_ignored) != 0;
    if (text_offset == 0 && text_size == 0)
        return result;
    if (text_offset < lvm_mda_header_bytes || text_offset >= result.size_bytes)
        return Error::invalid(where(cat("text offset ", text_offset, " is outside the area")));
    if (text_size == 0 || text_size > result.size_bytes - lvm_mda_header_bytes || text_size > lvm_max_metadata_text_bytes)
        return Error::invalid(where(cat("text size ", text_size, " does not fit the area")));
    result.text_offset_bytes = text_offset;
    result.text_size_bytes = text_size;
    return result;
}

std::vector<LvmDiskArea> mda_text_extents(MdaHeader const& header)
{
    if (header.text_size_bytes == 0)
        return {};
    uint64_t to_end = header.size_bytes - header.text_offset_bytes;
    if (header.text_size_bytes <= to_end)
        return { { header.start_bytes + header.text_offset_bytes, header.text_size_bytes } };
    // The buffer wraps: the rest follows the header at the area's start.
    return { { header.start_bytes + header.text_offset_bytes, to_end }, { header.start_bytes + lvm_mda_header_bytes, header.text_size_bytes - to_end } };
}

Result<std::string> check_metadata_text(std::span<uint8_t const> text, uint32_t checksum)
{
    if (lvm_crc32(text) != checksum)
        return Error::invalid("metadata text checksum does not match");
    if (text.empty() || text.back() != 0)
        return Error::invalid("metadata text does not end with a NUL");
    return std::string(text.begin(), text.end() - 1);
}

// --- The text parser ----------------------------------------------------------

namespace {

struct ConfigSection;

struct ConfigValue {
    // Integer, string, or a list of integers and strings.
    std::variant<int64_t, std::string, std::vector<std::variant<int64_t, std::string>>> value;
};

struct ConfigEntry {
    std::string key;
    unsigned line { 0 };
    std::optional<ConfigValue> value;          // key = value
    std::unique_ptr<ConfigSection> section;    // key { ... }
};

struct ConfigSection {
    std::vector<ConfigEntry> entries;
    ConfigEntry const* find(std::string_view key) const
    {
        for (auto const& entry : entries) {
            if (entry.key == key)
                return &entry;
        }
        return nullptr;
    }
};

class ConfigParser {
public:
    explicit ConfigParser(std::string_view text) : m_text(text) { }

    Result<ConfigSection> parse_top()
    {
        ConfigSection top;
        TRY(parse_entries(top, 0));
        skip_blank();
        if (m_at < m_text.size())
            return fail(m_text[m_at] == '}' ? "'}' without a section to close" : "unexpected character");
        return top;
    }

private:
    Error fail(std::string_view problem) const { return Error::invalid(cat("metadata line ", m_line, ": ", problem)); }

    void skip_blank()
    {
        while (m_at < m_text.size()) {
            char c = m_text[m_at];
            if (c == '\n') {
                ++m_line;
                ++m_at;
            } else if (c == ' ' || c == '\t' || c == '\r') {
                ++m_at;
            } else if (c == '#') {
                while (m_at < m_text.size() && m_text[m_at] != '\n')
                    ++m_at;
            } else {
                break;
            }
        }
    }

    static bool is_key_char(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '+' || c == '.' || c == '-'; }

    // Entries until '}' (depth > 0) or the end of the text (depth 0).
    Result<void> parse_entries(ConfigSection& section, unsigned depth)
    {
        if (depth > lvm_max_metadata_depth)
            return fail(cat("sections nested deeper than ", lvm_max_metadata_depth));
        while (true) {
            skip_blank();
            if (m_at >= m_text.size() || m_text[m_at] == '}')
                return {};
            size_t key_start = m_at;
            while (m_at < m_text.size() && is_key_char(m_text[m_at]))
                ++m_at;
            if (m_at == key_start)
                return fail(m_text[m_at] == '\0' ? "NUL byte in the text" : cat("expected a name, found '", std::string_view(&m_text[m_at], 1), "'"));
            if (++m_entries > lvm_max_metadata_entries)
                return fail(cat("more than ", lvm_max_metadata_entries, " entries"));
            ConfigEntry entry;
            entry.key = std::string(m_text.substr(key_start, m_at - key_start));
            entry.line = m_line;
            if (section.find(entry.key))
                return fail(cat("\"", entry.key, "\" appears twice"));
            skip_blank();
            if (m_at >= m_text.size())
                return fail(cat("\"", entry.key, "\" has no value (the text is truncated)"));
            if (m_text[m_at] == '{') {
                ++m_at;
                entry.section = std::make_unique<ConfigSection>();
                TRY(parse_entries(*entry.section, depth + 1));
                if (m_at >= m_text.size())
                    return fail(cat("section \"", entry.key, "\" is not closed (the text is truncated)"));
                ++m_at; // '}'
            } else if (m_text[m_at] == '=') {
                ++m_at;
                skip_blank();
                entry.value = TRY(parse_value());
            } else {
                return fail(cat("expected '=' or '{' after \"", entry.key, "\""));
            }
            section.entries.push_back(std::move(entry));
        }
    }

    Result<ConfigValue> parse_value()
    {
        if (m_at >= m_text.size())
            return fail("value missing (the text is truncated)");
        if (m_text[m_at] != '[') {
            auto scalar = TRY(parse_scalar());
            return std::visit([](auto&& value) { return ConfigValue { std::move(value) }; }, std::move(scalar));
        }
        ++m_at;
        std::vector<std::variant<int64_t, std::string>> items;
        skip_blank();
        if (m_at < m_text.size() && m_text[m_at] == ']') {
            ++m_at;
            return ConfigValue { std::move(items) };
        }
        while (true) {
            skip_blank();
            if (items.size() == lvm_max_list_items)
                return fail(cat("list longer than ", lvm_max_list_items, " items"));
            if (++m_entries > lvm_max_metadata_entries)
                return fail(cat("more than ", lvm_max_metadata_entries, " entries"));
            items.push_back(TRY(parse_scalar()));
            skip_blank();
            if (m_at >= m_text.size())
                return fail("list is not closed (the text is truncated)");
            if (m_text[m_at] == ']') {
                ++m_at;
                return ConfigValue { std::move(items) };
            }
            if (m_text[m_at] != ',')
                return fail("expected ',' or ']' in a list");
            ++m_at;
        }
    }

    Result<std::variant<int64_t, std::string>> parse_scalar()
    {
        if (m_at >= m_text.size())
            return fail("value missing (the text is truncated)");
        if (m_text[m_at] == '"') {
            ++m_at;
            std::string text;
            while (true) {
                if (m_at >= m_text.size())
                    return fail("string is not closed (the text is truncated)");
                char c = m_text[m_at++];
                if (c == '"')
                    return std::variant<int64_t, std::string>(std::move(text));
                if (c == '\0')
                    return fail("NUL byte in a string");
                if (c == '\n')
                    ++m_line;
                if (c == '\\') {
                    if (m_at >= m_text.size())
                        return fail("string is not closed (the text is truncated)");
                    c = m_text[m_at++];
                    if (c == '\0')
                        return fail("NUL byte in a string");
                }
                text += c;
            }
        }
        size_t start = m_at;
        if (m_text[m_at] == '-')
            ++m_at;
        while (m_at < m_text.size() && m_text[m_at] >= '0' && m_text[m_at] <= '9')
            ++m_at;
        if (m_at < m_text.size() && (is_key_char(m_text[m_at]) || m_text[m_at] == '"'))
            return fail("a value must be an integer, a \"string\" or a [list]");
        auto number = parse_i64(m_text.substr(start, m_at - start), "integer");
        if (!number.ok())
            return fail(m_at == start ? "a value must be an integer, a \"string\" or a [list]" : cat("integer ", m_text.substr(start, m_at - start), " is out of range"));
        return std::variant<int64_t, std::string>(*number);
    }

    std::string_view m_text;
    size_t m_at { 0 };
    unsigned m_line { 1 };
    size_t m_entries { 0 };
};

// Typed access to a section, errors naming the path.
class Fields {
public:
    Fields(ConfigSection const& section, std::string path) : m_section(section), m_path(std::move(path)) { }

    Error missing(std::string_view key, std::string_view kind) const { return Error::invalid(cat("metadata ", m_path, ": ", key, " (", kind, ") is missing or of another type")); }

    Result<uint64_t> u64(std::string_view key, uint64_t max = UINT64_MAX) const
    {
        auto const* entry = m_section.find(key);
        if (!entry || !entry->value || !std::holds_alternative<int64_t>(entry->value->value))
            return missing(key, "an integer");
        int64_t value = std::get<int64_t>(entry->value->value);
        if (value < 0 || uint64_t(value) > max)
            return Error::invalid(cat("metadata ", m_path, ": ", key, " = ", value, " is out of range"));
        return uint64_t(value);
    }
    Result<std::string> string(std::string_view key) const
    {
        auto const* entry = m_section.find(key);
        if (!entry || !entry->value || !std::holds_alternative<std::string>(entry->value->value))
            return missing(key, "a string");
        return std::get<std::string>(entry->value->value);
    }
    bool has(std::string_view key) const { return m_section.find(key) != nullptr; }
    Result<std::vector<std::variant<int64_t, std::string>>> list(std::string_view key) const
    {
        auto const* entry = m_section.find(key);
        using List = std::vector<std::variant<int64_t, std::string>>;
        if (!entry || !entry->value || !std::holds_alternative<List>(entry->value->value))
            return missing(key, "a list");
        return std::get<List>(entry->value->value);
    }
    Result<std::vector<std::string>> string_list(std::string_view key) const
    {
        std::vector<std::string> out;
        for (auto const& item : TRY(list(key))) {
            if (!std::holds_alternative<std::string>(item))
                return Error::invalid(cat("metadata ", m_path, ": ", key, " holds a non-string"));
            out.push_back(std::get<std::string>(item));
        }
        return out;
    }
    Result<std::string> uuid(std::string_view key) const
    {
        auto text = TRY(string(key));
        auto bare = TRY(lvm_uuid_without_dashes(text).context(cat("metadata ", m_path, ": ", key)));
        return format_lvm_uuid(bare);
    }
    std::string const& path() const { return m_path; }

private:
    ConfigSection const& m_section;
    std::string m_path;
};

Result<LvmSegment> parse_segment(ConfigEntry const& entry, std::string const& lv_path)
{
    Fields fields(*entry.section, cat(lv_path, "/", entry.key));
    LvmSegment segment;
    segment.name = entry.key;
    segment.start_extent = TRY(fields.u64("start_extent", UINT32_MAX));
    segment.extent_count = TRY(fields.u64("extent_count", UINT32_MAX));
    if (segment.extent_count == 0)
        return Error::invalid(cat("metadata ", fields.path(), ": extent_count is 0"));
    segment.type = TRY(fields.string("type"));
    std::string_view base_type = std::string_view(segment.type).substr(0, segment.type.find('+'));
    if (base_type == "striped" || base_type == "linear") {
        segment.stripe_count = TRY(fields.u64("stripe_count", UINT32_MAX));
        if (segment.stripe_count == 0)
            return Error::invalid(cat("metadata ", fields.path(), ": stripe_count is 0"));
        if (segment.stripe_count > 1) {
            segment.stripe_size_sectors = TRY(fields.u64("stripe_size", UINT32_MAX));
            if (segment.stripe_size_sectors == 0)
                return Error::invalid(cat("metadata ", fields.path(), ": stripe_size is 0"));
        }
        auto items = TRY(fields.list("stripes"));
        if (items.size() != 2 * segment.stripe_count)
            return Error::invalid(cat("metadata ", fields.path(), ": stripes lists ", items.size() / 2, " areas for stripe_count ", segment.stripe_count));
        for (size_t at = 0; at < items.size(); at += 2) {
            if (!std::holds_alternative<std::string>(items[at]) || !std::holds_alternative<int64_t>(items[at + 1]) || std::get<int64_t>(items[at + 1]) < 0)
                return Error::invalid(cat("metadata ", fields.path(), ": stripes must be \"volume\", extent pairs"));
            segment.stripes.push_back({ std::get<std::string>(items[at]), uint64_t(std::get<int64_t>(items[at + 1])) });
        }
    } else if (base_type == "snapshot") {
        segment.origin = TRY(fields.string("origin"));
        segment.cow_store = fields.has("cow_store") ? TRY(fields.string("cow_store")) : TRY(fields.string("merging_store"));
    }
    return segment;
}

Result<LvmLogicalVolume> parse_logical_volume(ConfigEntry const& entry, std::string const& vg_path)
{
    LvmLogicalVolume volume;
    volume.name = entry.key;
    std::string path = cat(vg_path, "/logical_volumes/", entry.key);
    if (!entry.section)
        return Error::invalid(cat("metadata ", path, ": is not a section"));
    if (!is_lvm_name(volume.name))
        return Error::invalid(cat("metadata ", path, ": not a valid LV name"));
    Fields fields(*entry.section, path);
    volume.uuid = TRY(fields.uuid("id"));
    volume.status = TRY(fields.string_list("status"));
    uint64_t segment_count = TRY(fields.u64("segment_count", lvm_max_list_items));
    for (auto const& child : entry.section->entries) {
        if (!child.section)
            continue;
        if (!child.key.starts_with("segment"))
            return Error::invalid(cat("metadata ", path, ": unexpected section \"", child.key, "\""));
        volume.segments.push_back(TRY(parse_segment(child, path)));
    }
    if (volume.segments.size() != segment_count)
        return Error::invalid(cat("metadata ", path, ": segment_count is ", segment_count, " but ", volume.segments.size(), " segments are listed"));
    std::sort(volume.segments.begin(), volume.segments.end(), [](auto const& a, auto const& b) { return a.start_extent < b.start_extent; });
    return volume;
}

} // namespace

LvmPhysicalVolume const* LvmMetadata::find_pv(std::string_view section_name) const
{
    for (auto const& pv : physical_volumes) {
        if (pv.name == section_name)
            return &pv;
    }
    return nullptr;
}

LvmLogicalVolume const* LvmMetadata::find_lv_by_uuid(std::string_view uuid) const
{
    for (auto const& lv : logical_volumes) {
        if (lv.uuid == uuid)
            return &lv;
    }
    return nullptr;
}

LvmLogicalVolume const* LvmMetadata::find_lv_by_name(std::string_view name) const
{
    for (auto const& lv : logical_volumes) {
        if (lv.name == name)
            return &lv;
    }
    return nullptr;
}

Result<LvmMetadata> parse_lvm_metadata(std::string_view text)
{
    if (text.size() > lvm_max_metadata_text_bytes)
        return Error::invalid(cat("metadata text of ", text.size(), " bytes is larger than ", lvm_max_metadata_text_bytes));
    ConfigParser parser(text);
    auto top = TRY(parser.parse_top());
    Fields top_fields(top, "top level");
    if (TRY(top_fields.string("contents")) != "Text Format Volume Group")
        return Error::invalid("metadata: contents is not \"Text Format Volume Group\"");
    if (TRY(top_fields.u64("version")) != 1)
        return Error::unsupported("metadata: version is not 1");
    // The volume group is the first section at the top level (lvm2 skips
    // the top-level values before it).
    auto vg_entry = std::find_if(top.entries.begin(), top.entries.end(), [](auto const& entry) { return entry.section != nullptr; });
    if (vg_entry == top.entries.end())
        return Error::invalid("metadata: no volume group section");
    LvmMetadata metadata;
    metadata.vg_name = vg_entry->key;
    if (!is_lvm_name(metadata.vg_name))
        return Error::invalid(cat("metadata: \"", metadata.vg_name, "\" is not a valid VG name"));
    Fields vg(*vg_entry->section, metadata.vg_name);
    metadata.vg_uuid = TRY(vg.uuid("id"));
    metadata.seqno = TRY(vg.u64("seqno", UINT32_MAX));
    metadata.extent_size_sectors = TRY(vg.u64("extent_size", UINT32_MAX));
    if (metadata.extent_size_sectors == 0)
        return Error::invalid(cat("metadata ", metadata.vg_name, ": extent_size is 0"));

    auto const* pvs = vg_entry->section->find("physical_volumes");
    if (!pvs || !pvs->section)
        return Error::invalid(cat("metadata ", metadata.vg_name, ": no physical_volumes section"));
    for (auto const& entry : pvs->section->entries) {
        std::string path = cat(metadata.vg_name, "/physical_volumes/", entry.key);
        if (!entry.section)
            return Error::invalid(cat("metadata ", path, ": is not a section"));
        Fields fields(*entry.section, path);
        LvmPhysicalVolume pv;
        pv.name = entry.key;
        pv.uuid = TRY(fields.uuid("id"));
        pv.pe_start_sectors = TRY(fields.u64("pe_start"));
        pv.pe_count = TRY(fields.u64("pe_count", UINT32_MAX));
        pv.dev_size_sectors = fields.has("dev_size") ? TRY(fields.u64("dev_size")) : 0;
        metadata.physical_volumes.push_back(std::move(pv));
    }
    if (auto const* lvs = vg_entry->section->find("logical_volumes")) {
        if (!lvs->section)
            return Error::invalid(cat("metadata ", metadata.vg_name, ": logical_volumes is not a section"));
        for (auto const& entry : lvs->section->entries)
            metadata.logical_volumes.push_back(TRY(parse_logical_volume(entry, metadata.vg_name)));
    }
    return metadata;
}

Result<LvmMetadata> choose_lvm_metadata(std::vector<LvmMetadataCopy> copies, std::string_view vg_uuid)
{
    LvmMetadata* newest = nullptr;
    std::vector<std::string> problems;
    for (auto& copy : copies) {
        if (!copy.metadata.ok()) {
            problems.push_back(cat(copy.where, ": ", copy.metadata.error().message()));
            continue;
        }
        if (copy.metadata->vg_uuid != vg_uuid) {
            problems.push_back(cat(copy.where, ": holds VG ", copy.metadata->vg_name, " (", copy.metadata->vg_uuid, "), not ", vg_uuid));
            continue;
        }
        if (!newest || copy.metadata->seqno > newest->seqno)
            newest = &copy.metadata.value();
    }
    if (!newest) {
        if (problems.empty())
            return Error::with_code(ENOENT, cat("no metadata area holds VG ", vg_uuid, " (PVs created with --metadatacopies 0 only?)"));
        return Error::invalid(cat("no valid metadata for VG ", vg_uuid, ": ", join(problems, "; ")));
    }
    // lvm2 also uses the newest copy that checks out and ignores the others
    // (and repairs them on its next write).
    for (auto const& problem : problems)
        log::warn(cat("LVM metadata copy skipped: ", problem, "; using seqno ", newest->seqno));
    return std::move(*newest);
}

// --- Refusing layers and building the table ---------------------------------

namespace {

std::string_view refused_layer(std::string_view type)
{
    std::string_view base = type.substr(0, type.find('+'));
    if (base == "thin")
        return "a thin volume";
    if (base == "thin-pool")
        return "a thin pool";
    if (base.starts_with("raid"))
        return "a RAID volume";
    if (base == "mirror")
        return "a mirror";
    if (base == "cache")
        return "a cached volume";
    if (base == "cache-pool")
        return "a cache pool";
    if (base == "writecache")
        return "a writecache volume";
    if (base == "vdo" || base == "vdo-pool")
        return "a VDO volume";
    if (base == "integrity")
        return "an integrity volume";
    if (base == "snapshot")
        return "a snapshot";
    return {};
}

constexpr std::string_view instead = "put the dump target on a plain linear or striped LV or a partition outside it, or dump over ssh or nfs";

} // namespace

Result<void> check_lvm_volume_supported(LvmMetadata const& metadata, LvmLogicalVolume const& volume)
{
    std::string lv = cat(metadata.vg_name, "/", volume.name);
    auto refuse = [&](std::string_view layer) { return Error::unsupported(cat("LVM logical volume ", lv, " is ", layer, ", which the capture kernel cannot activate; ", instead)); };
    for (auto const& segment : volume.segments) {
        std::string_view base = std::string_view(segment.type).substr(0, segment.type.find('+'));
        if (base != "striped" && base != "linear") {
            std::string layer(refused_layer(segment.type));
            return refuse(layer.empty() ? cat("of segment type \"", segment.type, "\"") : layer);
        }
        if (base.size() != segment.type.size())
            return refuse(cat("a ", base, " volume with flags \"", segment.type.substr(base.size() + 1), "\""));
        for (auto const& area : segment.stripes) {
            if (!metadata.find_pv(area.volume)) {
                if (metadata.find_lv_by_name(area.volume))
                    return refuse(cat("stacked on LV ", area.volume, " (a pvmove in progress or a converted volume)"));
                return Error::invalid(cat("LVM logical volume ", lv, ": ", segment.name, " names volume \"", area.volume, "\", which the VG does not have"));
            }
        }
    }
    for (auto const& other : metadata.logical_volumes) {
        for (auto const& segment : other.segments) {
            if (segment.type.substr(0, segment.type.find('+')) != "snapshot")
                continue;
            if (segment.origin == volume.name)
                return refuse(cat("the origin of snapshot ", other.name, " (writes go through the snapshot-origin target)"));
            if (segment.cow_store == volume.name)
                return refuse("a snapshot");
        }
    }
    if (std::find(volume.status.begin(), volume.status.end(), "WRITE") == volume.status.end())
        return Error::with_code(EROFS, cat("LVM logical volume ", lv, " is read-only; make it writable (lvchange -p rw ", lv, ") or choose another dump target"));
    return {};
}

std::vector<std::string> lvm_volume_pv_uuids(LvmMetadata const& metadata, LvmLogicalVolume const& volume)
{
    std::vector<std::string> uuids;
    for (auto const& segment : volume.segments) {
        for (auto const& area : segment.stripes) {
            auto const* pv = metadata.find_pv(area.volume);
            if (pv && std::find(uuids.begin(), uuids.end(), pv->uuid) == uuids.end())
                uuids.push_back(pv->uuid);
        }
    }
    return uuids;
}

Result<std::vector<DmTarget>> build_lvm_table(LvmMetadata const& metadata, LvmLogicalVolume const& volume, std::vector<LvmPvDevice> const& devices)
{
    TRY(check_lvm_volume_supported(metadata, volume));
    std::string lv = cat(metadata.vg_name, "/", volume.name);
    auto bad = [&](LvmSegment const& segment, std::string_view problem) { return Error::invalid(cat("LVM logical volume ", lv, " ", segment.name, ": ", problem)); };
    if (volume.segments.empty())
        return Error::invalid(cat("LVM logical volume ", lv, " has no segments"));
    uint64_t extent_sectors = metadata.extent_size_sectors;
    std::vector<DmTarget> table;
    uint64_t next_extent = 0;
    for (auto const& segment : volume.segments) {
        if (segment.start_extent != next_extent)
            return bad(segment, cat("starts at extent ", segment.start_extent, ", expected ", next_extent, " (a gap or an overlap)"));
        next_extent = segment.start_extent + segment.extent_count; // both < 2^32
        if (segment.extent_count % segment.stripe_count != 0)
            return bad(segment, cat(segment.extent_count, " extents do not divide into ", segment.stripe_count, " stripes"));
        uint64_t area_extents = segment.extent_count / segment.stripe_count;
        DmTarget target;
        auto start = checked_mul(segment.start_extent, extent_sectors);
        auto length = checked_mul(segment.extent_count, extent_sectors);
        if (!start || !length || !checked_add(*start, *length))
            return bad(segment, "sector arithmetic overflows");
        target.start_sectors = *start;
        target.length_sectors = *length;
        if (segment.stripe_count == 1) {
            target.type = "linear";
        } else {
            // dm-stripe refuses a stripe whose length is not a whole number
            // of chunks: refuse it here, not at crash time.
            auto stripe_sectors = checked_mul(area_extents, extent_sectors);
            if (!stripe_sectors || *stripe_sectors % segment.stripe_size_sectors != 0)
                return bad(segment, cat("stripes of ", area_extents, " extents are not a whole number of ", segment.stripe_size_sectors, "-sector chunks"));
            target.type = "striped";
            target.params = cat(segment.stripe_count, ' ', segment.stripe_size_sectors);
        }
        for (auto const& area : segment.stripes) {
            auto const* pv = metadata.find_pv(area.volume);
            auto device = std::find_if(devices.begin(), devices.end(), [&](auto const& candidate) { return candidate.pv_uuid == pv->uuid; });
            if (device == devices.end())
                return Error::with_code(ENODEV, cat("LVM logical volume ", lv, ": PV ", pv->uuid, " (", pv->name, ") is missing"));
            auto area_end = checked_add(area.start_extent, area_extents);
            if (!area_end || *area_end > pv->pe_count)
                return bad(segment, cat("extents ", area.start_extent, "+", area_extents, " on ", pv->name, " run past its ", pv->pe_count, " extents"));
            auto offset = checked_mul(area.start_extent, extent_sectors);
            auto area_sectors = checked_mul(area_extents, extent_sectors);
            std::optional<uint64_t> begin = offset ? checked_add(pv->pe_start_sectors, *offset) : std::nullopt;
            std::optional<uint64_t> end = begin && area_sectors ? checked_add(*begin, *area_sectors) : std::nullopt;
            if (!end)
                return bad(segment, cat("sector arithmetic on ", pv->name, " overflows"));
            if (*end > device->size_sectors)
                return bad(segment, cat("ends at sector ", *end, " of ", pv->name, " (", device->device, "), past its real size of ", device->size_sectors, " sectors"));
            target.params += cat(target.params.empty() ? "" : " ", device->device, ' ', *begin);
        }
        table.push_back(std::move(target));
    }
    return table;
}

} // namespace core
