// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/lvm.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/strings.h"
#include "core/system/device_mapper.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <thread>
#include <unistd.h>

namespace core {

std::string LvmVolume::mapper_name() const
{
    std::string name;
    for (auto part : { &vg_name, &lv_name }) {
        if (!name.empty())
            name += '-';
        for (char c : *part) {
            name += c;
            if (c == '-')
                name += '-';
        }
    }
    return name;
}

Result<std::string> lvm_dm_uuid(LvmVolume const& volume)
{
    return cat("LVM-", TRY(lvm_uuid_without_dashes(volume.vg_uuid)), TRY(lvm_uuid_without_dashes(volume.lv_uuid)));
}

// --- Reading a PV -------------------------------------------------------------

namespace {

Result<std::vector<uint8_t>> read_at(int fd, uint64_t offset, uint64_t length, std::string const& what)
{
    std::vector<uint8_t> bytes(length);
    TRY(pread_exact(fd, bytes, offset, what));
    return bytes;
}

// One metadata area's current text, parsed; nullopt: the area is ignored
// (pvchange --metadataignore) or holds no metadata yet.
Result<std::optional<LvmMetadata>> read_metadata_copy(int fd, LvmDiskArea const& area, uint64_t device_bytes, std::string const& what)
{
    if (!extent_within(area.offset_bytes, lvm_mda_header_bytes, device_bytes))
        return Error::invalid(cat("metadata area at byte ", area.offset_bytes, " is past the device's end"));
    auto header_bytes = TRY(read_at(fd, area.offset_bytes, lvm_mda_header_bytes, what));
    auto header = TRY(parse_mda_header(header_bytes, area, device_bytes));
    if (header.ignored || header.text_size_bytes == 0)
        return std::optional<LvmMetadata>();
    std::vector<uint8_t> text;
    for (auto const& extent : mda_text_extents(header)) {
        auto part = TRY(read_at(fd, extent.offset_bytes, extent.size_bytes, what));
        text.insert(text.end(), part.begin(), part.end());
    }
    return std::optional(TRY(parse_lvm_metadata(TRY(check_metadata_text(text, header.text_checksum)))));
}

} // namespace

Result<std::optional<LvmPvScan>> read_lvm_pv(int fd, std::string const& what)
{
    off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0)
        return Error::from_errno(cat("size of ", what));
    uint64_t device_bytes = static_cast<uint64_t>(end);
    std::vector<uint8_t> first(std::min<uint64_t>(device_bytes, lvm_label_scan_bytes));
    TRY(pread_exact(fd, first, 0, what));
    auto label = TRY(parse_pv_label(first).context(what));
    if (!label)
        return std::optional<LvmPvScan>();
    LvmPvScan scan;
    scan.label = std::move(*label);
    scan.device_bytes = device_bytes;
    for (size_t index = 0; index < scan.label.metadata_areas.size(); ++index) {
        std::string where = cat(what, " metadata area ", index + 1);
        auto metadata = read_metadata_copy(fd, scan.label.metadata_areas[index], device_bytes, what);
        if (!metadata.ok())
            scan.copies.push_back({ where, std::move(metadata).error() });
        else if (*metadata)
            scan.copies.push_back({ where, std::move(**metadata) });
    }
    return std::optional(std::move(scan));
}

// --- Sysfs --------------------------------------------------------------------

namespace {

std::string block_dir(FindOptions const& options, std::string_view name) { return path_join(options.sysfs_root, cat("class/block/", name)); }

std::string device_node(FindOptions const& options, std::string name)
{
    // sysfs spells a '/' in a device name as '!' (cciss!c0d0).
    std::replace(name.begin(), name.end(), '!', '/');
    return path_join(options.dev_root, name);
}

Result<LvmPvDevice> pv_device(FindOptions const& options, std::string const& name, std::string const& pv_uuid)
{
    LvmPvDevice device;
    device.pv_uuid = pv_uuid;
    device.device = std::string(trim(TRY(read_text_file(path_join(block_dir(options, name), "dev"), 64))));
    device.size_sectors = TRY(parse_u64(trim(TRY(read_text_file(path_join(block_dir(options, name), "size"), 64))), cat(name, " size")));
    return device;
}

// What a dm uuid suffix says the device is (lvm2's build_dm_uuid).
std::string_view layer_of_suffix(std::string_view suffix)
{
    if (suffix == "real")
        return "the lower layer of an origin, cache, writecache, mirror or RAID volume";
    if (suffix == "cow")
        return "a snapshot's copy-on-write store";
    if (suffix == "pool" || suffix == "tpool" || suffix == "tdata" || suffix == "tmeta")
        return "part of a thin or VDO pool";
    if (suffix == "cdata" || suffix == "cmeta" || suffix == "cpool" || suffix == "cvol")
        return "part of a cache";
    if (suffix == "vdata" || suffix == "vpool")
        return "part of a VDO pool";
    if (suffix == "imeta")
        return "integrity metadata";
    return "an internal LVM layer";
}

struct ScannedPv {
    std::string name;
    LvmPvScan scan;
};

// The PVs with these uuids among the block devices, by their labels.
Result<std::vector<ScannedPv>> scan_for_pvs(std::vector<std::string> const& pv_uuids, FindOptions const& options, std::vector<std::string>& seen)
{
    std::vector<ScannedPv> found;
    seen.clear();
    auto names = list_directory(path_join(options.sysfs_root, "class/block"));
    if (!names.ok())
        return found;
    for (auto const& name : *names) {
        auto size = read_text_file(path_join(block_dir(options, name), "size"), 64);
        if (size.ok() && trim(*size) == "0")
            continue;
        std::string path = device_node(options, name);
        auto fd = open_file(path, O_RDONLY);
        if (!fd.ok()) {
            seen.push_back(cat(name, " (unreadable)"));
            continue;
        }
        // The label first: only our PVs' metadata is worth reading.
        std::vector<uint8_t> first(lvm_label_scan_bytes);
        auto got = pread_full(fd->get(), first, 0, path);
        auto label = got.ok() ? parse_pv_label(std::span(first).first(*got)) : Result<std::optional<PvLabel>>(std::move(got).error());
        if (!label.ok() || !*label) {
            seen.push_back(label.ok() ? name : cat(name, " (", label.error().message(), ")"));
            continue;
        }
        seen.push_back(cat(name, " (PV ", (*label)->pv_uuid, ")"));
        if (std::find(pv_uuids.begin(), pv_uuids.end(), (*label)->pv_uuid) == pv_uuids.end())
            continue;
        auto scan = read_lvm_pv(fd->get(), path);
        if (!scan.ok() || !*scan) {
            seen.back() = cat(name, " (", scan.ok() ? "label vanished" : scan.error().message(), ")");
            continue;
        }
        for (auto const& other : found) {
            if (other.scan.label.pv_uuid == (*scan)->label.pv_uuid)
                return Error::with_code(EEXIST, cat("PV ", other.scan.label.pv_uuid, " is on both ", other.name, " and ", name, " (multipath legs or a cloned disk); kdumpbox cannot tell which to use: remove the duplicate, or dump to a target outside LVM"));
        }
        found.push_back({ name, std::move(**scan) });
    }
    return found;
}

struct ActivationInput {
    LvmMetadata metadata;
    LvmLogicalVolume const* volume { nullptr };
    std::vector<LvmPvDevice> devices;
};

Result<ActivationInput> read_volume(std::vector<ScannedPv> pvs, std::string const& vg_uuid, std::string const& lv_uuid, FindOptions const& options)
{
    ActivationInput input;
    std::vector<LvmMetadataCopy> copies;
    for (auto& pv : pvs) {
        input.devices.push_back(TRY(pv_device(options, pv.name, pv.scan.label.pv_uuid)));
        for (auto& copy : pv.scan.copies)
            copies.push_back(std::move(copy));
    }
    input.metadata = TRY(choose_lvm_metadata(std::move(copies), vg_uuid));
    input.volume = input.metadata.find_lv_by_uuid(lv_uuid);
    if (!input.volume)
        return Error::with_code(ENOENT, cat("VG ", input.metadata.vg_name, " (seqno ", input.metadata.seqno, ") has no LV with uuid ", lv_uuid, "; was it removed? run `kdump start` again"));
    return input;
}

} // namespace

// --- Planning and activation -----------------------------------------------------

Result<LvmVolume> plan_lvm_volume(std::string const& dm_name, FindOptions const& options)
{
    std::string dm_dir = path_join(block_dir(options, dm_name), "dm");
    auto uuid = std::string(trim(TRY(read_text_file(path_join(dm_dir, "uuid"), 256).context(cat(dm_name, " is not a device-mapper device")))));
    auto name = std::string(trim(TRY(read_text_file(path_join(dm_dir, "name"), 256))));
    std::string what = cat(dm_name, " (", name, ")");
    if (!uuid.starts_with("LVM-"))
        return Error::invalid(cat(what, " is not an LVM logical volume (device-mapper uuid \"", uuid, "\")"));
    std::string_view ids = std::string_view(uuid).substr(4);
    constexpr size_t id_chars = 32;
    if (ids.size() > 2 * id_chars && ids[2 * id_chars] == '-')
        return Error::unsupported(cat(what, " is ", layer_of_suffix(ids.substr(2 * id_chars + 1)), " (device-mapper uuid suffix \"", ids.substr(2 * id_chars), "\"), which the capture kernel cannot activate; put the dump target on a plain linear or striped LV or a partition outside it, or dump over ssh or nfs"));
    if (ids.size() != 2 * id_chars)
        return Error::invalid(cat(what, ": device-mapper uuid \"", uuid, "\" is not LVM- and two 32-character ids"));
    std::string vg_uuid = format_lvm_uuid(TRY(lvm_uuid_without_dashes(ids.substr(0, id_chars)).context(what)));
    std::string lv_uuid = format_lvm_uuid(TRY(lvm_uuid_without_dashes(ids.substr(id_chars)).context(what)));

    auto slaves = TRY(list_directory(path_join(block_dir(options, dm_name), "slaves")));
    if (slaves.empty())
        return Error::invalid(cat(what, " has no underlying devices in sysfs (slaves/)"));
    std::vector<ScannedPv> pvs;
    for (auto const& slave : slaves) {
        std::string path = device_node(options, slave);
        auto fd = TRY(open_file(path, O_RDONLY));
        auto scan = TRY(read_lvm_pv(fd.get(), path));
        if (!scan)
            return Error::unsupported(cat(what, " sits on ", slave, ", which has no LVM label (a layered device?); put the dump target outside it, or dump over ssh or nfs"));
        pvs.push_back({ slave, std::move(*scan) });
    }
    auto input = TRY(read_volume(std::move(pvs), vg_uuid, lv_uuid, options).context(what));
    // Builds the table as the capture kernel will, so that anything it would
    // refuse is refused now.
    TRY(build_lvm_table(input.metadata, *input.volume, input.devices));

    LvmVolume volume;
    volume.vg_name = input.metadata.vg_name;
    volume.vg_uuid = vg_uuid;
    volume.lv_name = input.volume->name;
    volume.lv_uuid = lv_uuid;
    volume.pv_uuids = lvm_volume_pv_uuids(input.metadata, *input.volume);
    // linear and striped are both in dm_mod (drivers/md/Makefile).
    volume.modules = { "dm_mod" };
    if (volume.mapper_name() != name)
        log::warn(cat(what, ": LVM would name it ", volume.mapper_name()));
    return volume;
}

std::string format_lvm_volume(LvmVolume const& volume)
{
    std::string out = cat("vg_name ", volume.vg_name, "\nvg_uuid ", volume.vg_uuid, "\nlv_name ", volume.lv_name, "\nlv_uuid ", volume.lv_uuid, '\n');
    for (auto const& uuid : volume.pv_uuids)
        out += cat("pv_uuid ", uuid, '\n');
    for (auto const& module : volume.modules)
        out += cat("module ", module, '\n');
    return out;
}

Result<LvmVolume> parse_lvm_volume(std::string_view text, std::string_view what)
{
    LvmVolume volume;
    // The keys that must appear exactly once.
    static constexpr std::string_view singles[] = { "vg_name", "vg_uuid", "lv_name", "lv_uuid" };
    bool seen[std::size(singles)] = {};
    auto lines = split(text, '\n');
    if (!lines.empty() && lines.back().empty())
        lines.pop_back();
    constexpr size_t max_lines = 4096;
    if (lines.size() > max_lines)
        return Error::invalid(cat(what, ": more than ", max_lines, " lines"));
    for (size_t index = 0; index < lines.size(); ++index) {
        auto where = [&](std::string_view problem) { return Error::invalid(cat(what, " line ", index + 1, ": ", problem)); };
        auto line = lines[index];
        auto space = line.find(' ');
        if (space == std::string_view::npos)
            return where("expected \"key value\"");
        auto key = line.substr(0, space);
        auto value = line.substr(space + 1);
        auto check_uuid = [&](std::string_view uuid) -> Result<std::string> {
            auto bare = lvm_uuid_without_dashes(uuid);
            if (!bare.ok())
                return where(bare.error().message());
            return format_lvm_uuid(*bare);
        };
        auto single = std::find(std::begin(singles), std::end(singles), key);
        if (single != std::end(singles)) {
            auto& flag = seen[single - std::begin(singles)];
            if (flag)
                return where(cat(key, " appears twice"));
            flag = true;
        }
        if (key == "vg_name" || key == "lv_name") {
            if (!is_lvm_name(value))
                return where(cat("\"", value, "\" is not a valid LVM name"));
            (key == "vg_name" ? volume.vg_name : volume.lv_name) = std::string(value);
        } else if (key == "vg_uuid") {
            volume.vg_uuid = TRY(check_uuid(value));
        } else if (key == "lv_uuid") {
            volume.lv_uuid = TRY(check_uuid(value));
        } else if (key == "pv_uuid") {
            volume.pv_uuids.push_back(TRY(check_uuid(value)));
        } else if (key == "module") {
            if (value.empty() || value.find_first_of(" /") != std::string_view::npos)
                return where(cat("\"", value, "\" is not a module name"));
            volume.modules.emplace_back(value);
        } else {
            return where(cat("unknown key \"", key, "\""));
        }
    }
    for (size_t index = 0; index < std::size(singles); ++index) {
        if (!seen[index])
            return Error::invalid(cat(what, ": ", singles[index], " is missing"));
    }
    if (volume.pv_uuids.empty())
        return Error::invalid(cat(what, ": no pv_uuid"));
    return volume;
}

Result<std::string> activate_lvm_volume(LvmVolume const& volume, FindOptions const& options)
{
    std::string lv = cat(volume.vg_name, "/", volume.lv_name);
    std::string dm_uuid = TRY(lvm_dm_uuid(volume).context(cat("LVM logical volume ", lv)));
    std::string node = path_join(options.dev_root, cat("mapper/", volume.mapper_name()));

    // Already active (a second run of the dumper, or an initramfs that
    // activated it): use it as it is.
    if (auto names = list_directory(path_join(options.sysfs_root, "class/block")); names.ok()) {
        for (auto const& name : *names) {
            auto uuid = read_text_file(path_join(block_dir(options, name), "dm/uuid"), 256);
            if (uuid.ok() && trim(*uuid) == dm_uuid)
                return path_exists(node) ? node : device_node(options, name);
        }
    }

    using Clock = std::chrono::steady_clock;
    auto start = Clock::now();
    std::vector<std::string> seen;
    std::vector<ScannedPv> pvs;
    while (true) {
        pvs = TRY(scan_for_pvs(volume.pv_uuids, options, seen).context(cat("LVM logical volume ", lv)));
        if (pvs.size() == volume.pv_uuids.size())
            break;
        auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        if (elapsed >= options.timeout) {
            std::vector<std::string> missing;
            for (auto const& uuid : volume.pv_uuids) {
                if (std::none_of(pvs.begin(), pvs.end(), [&](auto const& pv) { return pv.scan.label.pv_uuid == uuid; }))
                    missing.push_back(uuid);
            }
            return Error::with_code(ETIMEDOUT, cat("LVM logical volume ", lv, ": PV ", join(missing, ", "), " did not appear within ", elapsed.count(), " ms (disk_timeout); devices seen: ", seen.empty() ? std::string("none") : join(seen, ", "), "; is the disk's driver in the initramfs? raise disk_timeout if the disk is slow to appear"));
        }
        std::this_thread::sleep_for(std::min(options.poll_interval, options.timeout - elapsed));
    }
    auto input = TRY(read_volume(std::move(pvs), volume.vg_uuid, volume.lv_uuid, options).context(cat("LVM logical volume ", lv)));
    if (input.metadata.vg_name != volume.vg_name || input.volume->name != volume.lv_name)
        log::warn(cat("LVM logical volume ", lv, " is now ", input.metadata.vg_name, "/", input.volume->name, " (renamed since kdump start); activating it as ", volume.mapper_name()));
    auto table = TRY(build_lvm_table(input.metadata, *input.volume, input.devices));
    return create_dm_device(volume.mapper_name(), dm_uuid, table, { options.dev_root, options.sysfs_root });
}

} // namespace core
