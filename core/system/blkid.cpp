// SPDX-License-Identifier: GPL-2.0-or-later
// Superblock layouts, from the file systems' public documentation:
// - ext2/3/4: the superblock is 1024 bytes at offset 1024, little-endian
//   (Documentation/filesystems/ext4/super.rst).
// - xfs: sector 0 of allocation group 0, big-endian (xfs_format.h / the XFS
//   on-disk format document).
// - btrfs: the primary superblock at 64 KiB, little-endian (btrfs docs,
//   "On-disk format").
// - vfat: the boot sector's BPB and extended BPB (Microsoft's FAT
//   specification), and the volume-label entry in the root directory.
// - swap: the page-sized header ending in "SWAPSPACE2" (linux/swap.h).
// - LUKS: the "LUKS\xba\xbe" header (the LUKS1 and LUKS2 specifications).
#include "core/system/blkid.h"
#include "core/system/device_modules.h"
#include "core/system/partition_table.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/strings.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <thread>
#include <vector>

namespace core {

namespace {

// Enough to see btrfs's primary superblock (64 KiB + 4 KiB).
constexpr size_t probe_window_bytes = 65536 + 4096;

std::string_view as_text(std::span<uint8_t const> bytes)
{
    return { reinterpret_cast<char const*>(bytes.data()), bytes.size() };
}

bool has_bytes_at(ByteReader const& reader, uint64_t offset, std::string_view expected)
{
    auto bytes = reader.bytes(offset, expected.size());
    return bytes.ok() && as_text(*bytes) == expected;
}


// A fixed-size label field: up to the first NUL, trailing blanks removed.
std::string label_field(ByteReader const& reader, uint64_t offset, uint64_t length)
{
    auto text = reader.c_string(offset, length);
    if (!text.ok())
        return {};
    std::string_view label = *text;
    while (!label.empty() && (label.back() == ' ' || label.back() == '\t' || label.back() == '\n'))
        label.remove_suffix(1);
    return std::string(label);
}

Result<std::string> uuid_field(ByteReader const& reader, uint64_t offset)
{
    return format_uuid(TRY(reader.bytes(offset, 16)));
}

// --- ext2/3/4 ---------------------------------------------------------------

namespace ext {
constexpr uint64_t superblock = 1024;
constexpr uint64_t magic_offset = 0x38;
constexpr uint16_t magic = 0xEF53;
constexpr uint64_t log_block_size_offset = 0x18;
constexpr uint64_t compat_offset = 0x5C;
constexpr uint64_t incompat_offset = 0x60;
constexpr uint64_t ro_compat_offset = 0x64;
constexpr uint64_t uuid_offset = 0x68;
constexpr uint64_t label_offset = 0x78;

constexpr uint32_t compat_has_journal = 0x0004;
constexpr uint32_t incompat_filetype = 0x0002;
constexpr uint32_t incompat_recover = 0x0004;
constexpr uint32_t incompat_journal_dev = 0x0008;
constexpr uint32_t incompat_meta_bg = 0x0010;
constexpr uint32_t ro_compat_sparse_super = 0x0001;
constexpr uint32_t ro_compat_large_file = 0x0002;
constexpr uint32_t ro_compat_btree_dir = 0x0004;

// What the ext2 and ext3 drivers understood: anything beyond these
// (extents, 64bit, flex_bg, huge_file, dir_nlink, metadata_csum, ...)
// needs ext4, which is how blkid tells the three apart.
constexpr uint32_t ext2_incompat = incompat_filetype | incompat_meta_bg;
constexpr uint32_t ext3_incompat = incompat_filetype | incompat_recover | incompat_meta_bg;
constexpr uint32_t ext23_ro_compat = ro_compat_sparse_super | ro_compat_large_file | ro_compat_btree_dir;
} // namespace ext

Result<std::optional<FsProbe>> probe_ext(ByteReader const& image)
{
    auto sb = TRY(image.sub(ext::superblock, 1024));
    if (TRY(sb.u16(ext::magic_offset)) != ext::magic)
        return std::optional<FsProbe>();
    // Block size is 1024 << log; the kernel allows up to 64 KiB.
    if (TRY(sb.u32(ext::log_block_size_offset)) > 6)
        return std::optional<FsProbe>();
    uint32_t compat = TRY(sb.u32(ext::compat_offset));
    uint32_t incompat = TRY(sb.u32(ext::incompat_offset));
    uint32_t ro_compat = TRY(sb.u32(ext::ro_compat_offset));

    FsProbe probe;
    bool ext23_ro = (ro_compat & ~ext::ext23_ro_compat) == 0;
    if (incompat & ext::incompat_journal_dev)
        probe.type = "jbd";
    else if ((compat & ext::compat_has_journal) && ext23_ro && (incompat & ~ext::ext3_incompat) == 0)
        probe.type = "ext3";
    else if (!(compat & ext::compat_has_journal) && ext23_ro && (incompat & ~ext::ext2_incompat) == 0)
        probe.type = "ext2";
    else
        probe.type = "ext4";
    probe.uuid = TRY(uuid_field(sb, ext::uuid_offset));
    probe.label = label_field(sb, ext::label_offset, 16);
    return std::optional<FsProbe>(std::move(probe));
}

// --- xfs --------------------------------------------------------------------

bool is_power_of_two_in(uint64_t value, uint64_t low, uint64_t high)
{
    return value >= low && value <= high && (value & (value - 1)) == 0;
}

Result<std::optional<FsProbe>> probe_xfs(ByteReader const& image)
{
    if (!has_bytes_at(image, 0, "XFSB"))
        return std::optional<FsProbe>();
    auto sb = TRY(image.sub(0, 512));
    sb.set_endian(Endian::Big);
    uint32_t block_size = TRY(sb.u32(4));
    uint64_t data_blocks = TRY(sb.u64(8));
    uint32_t ag_count = TRY(sb.u32(88));
    uint16_t sector_size = TRY(sb.u16(102));
    uint16_t inode_size = TRY(sb.u16(104));
    // A "XFSB" that is not an xfs superblock (blkid checks the same kind of
    // geometry before believing the magic).
    if (!is_power_of_two_in(block_size, 512, 65536) || !is_power_of_two_in(sector_size, 512, 32768)
        || !is_power_of_two_in(inode_size, 256, 2048) || ag_count == 0 || data_blocks == 0)
        return std::optional<FsProbe>();
    FsProbe probe;
    probe.type = "xfs";
    probe.uuid = TRY(uuid_field(sb, 32));
    probe.label = label_field(sb, 108, 12);
    return std::optional<FsProbe>(std::move(probe));
}

// --- btrfs ------------------------------------------------------------------

Result<std::optional<FsProbe>> probe_btrfs(ByteReader const& image)
{
    constexpr uint64_t superblock = 65536;
    if (!has_bytes_at(image, superblock + 0x40, "_BHRfS_M"))
        return std::optional<FsProbe>();
    auto sb = TRY(image.sub(superblock, 4096));
    // The superblock records where it is; a stray magic elsewhere does not.
    if (TRY(sb.u64(0x30)) != superblock)
        return std::optional<FsProbe>();
    FsProbe probe;
    probe.type = "btrfs";
    probe.uuid = TRY(uuid_field(sb, 0x20));
    probe.label = label_field(sb, 0x12b, 256);
    return std::optional<FsProbe>(std::move(probe));
}

// --- swap -------------------------------------------------------------------

Result<std::optional<FsProbe>> probe_swap(ByteReader const& image)
{
    for (uint64_t page_size : { 4096u, 8192u, 16384u, 65536u }) {
        if (has_bytes_at(image, page_size - 10, "SWAPSPACE2")) {
            FsProbe probe;
            probe.type = "swap";
            probe.uuid = TRY(uuid_field(image, 1024 + 12));
            probe.label = label_field(image, 1024 + 28, 16);
            return std::optional<FsProbe>(std::move(probe));
        }
        if (has_bytes_at(image, page_size - 10, "SWAP-SPACE"))
            return std::optional<FsProbe>(FsProbe { "swap", {}, {} });
    }
    return std::optional<FsProbe>();
}

// --- LUKS -------------------------------------------------------------------

Result<std::optional<FsProbe>> probe_luks(ByteReader const& image)
{
    if (!has_bytes_at(image, 0, std::string_view("LUKS\xba\xbe", 6)))
        return std::optional<FsProbe>();
    ByteReader header = TRY(image.sub(0, 512));
    header.set_endian(Endian::Big);
    uint16_t version = TRY(header.u16(6));
    FsProbe probe;
    probe.type = "crypto_LUKS";
    probe.uuid = label_field(header, 168, 40);
    if (version == 2)
        probe.label = label_field(header, 24, 48);
    return std::optional<FsProbe>(std::move(probe));
}

// --- vfat -------------------------------------------------------------------

struct FatVolume {
    FsProbe probe;
    uint32_t bytes_per_sector;
    uint32_t sectors_per_cluster;
    uint32_t reserved_sectors;
    uint32_t fat_count;
    uint32_t fat_sectors;
    uint32_t root_entries; // FAT12/16: the fixed root directory
    uint32_t root_cluster; // FAT32: the first cluster of the root directory
    bool fat32;
};

std::string fat_serial(uint32_t serial)
{
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (int shift = 28; shift >= 0; shift -= 4) {
        out.push_back(digits[(serial >> shift) & 0xf]);
        if (shift == 16)
            out.push_back('-');
    }
    return out;
}

// An 11-byte FAT label: blank-padded, and "NO NAME" when there is none.
std::string fat_label(ByteReader const& reader, uint64_t offset)
{
    std::string label = label_field(reader, offset, 11);
    return label == "NO NAME" ? std::string() : label;
}

Result<std::optional<FatVolume>> parse_fat_boot_sector(ByteReader const& image)
{
    auto bs = TRY(image.sub(0, 512));
    ByteCursor cursor(bs, 0x0B);
    uint32_t bytes_per_sector = cursor.u16();
    uint32_t sectors_per_cluster = cursor.u8();
    uint32_t reserved_sectors = cursor.u16();
    uint32_t fat_count = cursor.u8();
    uint32_t root_entries = cursor.u16();
    uint32_t total_sectors16 = cursor.u16();
    uint32_t media = cursor.u8();
    uint32_t fat_sectors16 = cursor.u16();
    cursor.skip(8); // geometry and hidden sectors
    uint32_t total_sectors32 = cursor.u32();
    uint32_t fat_sectors32 = cursor.u32();
    TRY(cursor.status());
    uint8_t jump = TRY(bs.u8(0));
    bool boot_signature = TRY(bs.u8(510)) == 0x55 && TRY(bs.u8(511)) == 0xAA;

    // A partition table or random bytes rarely pass all of these.
    if (!is_power_of_two_in(bytes_per_sector, 512, 4096) || !is_power_of_two_in(sectors_per_cluster, 1, 128)
        || reserved_sectors == 0 || fat_count == 0 || fat_count > 4 || (media != 0xF0 && media < 0xF8)
        || (total_sectors16 == 0 && total_sectors32 == 0))
        return std::optional<FatVolume>();

    FatVolume volume {};
    volume.fat32 = fat_sectors16 == 0;
    if (volume.fat32 && (fat_sectors32 == 0 || root_entries != 0))
        return std::optional<FatVolume>();
    uint64_t ebpb = volume.fat32 ? 0x40 : 0x24;
    uint8_t extended_signature = TRY(bs.u8(ebpb + 2));
    bool has_serial = extended_signature == 0x29 || extended_signature == 0x28;
    std::string_view fs_type = has_serial ? as_text(TRY(bs.bytes(ebpb + 0x12, 8))) : std::string_view();
    if (!boot_signature && !(has_serial && fs_type.starts_with("FAT")))
        return std::optional<FatVolume>();
    if (jump != 0xEB && jump != 0xE9 && !(has_serial && fs_type.starts_with("FAT")))
        return std::optional<FatVolume>();

    volume.probe.type = "vfat";
    if (has_serial)
        volume.probe.uuid = fat_serial(TRY(bs.u32(ebpb + 3)));
    if (extended_signature == 0x29)
        volume.probe.label = fat_label(bs, ebpb + 7);
    volume.bytes_per_sector = bytes_per_sector;
    volume.sectors_per_cluster = sectors_per_cluster;
    volume.reserved_sectors = reserved_sectors;
    volume.fat_count = fat_count;
    volume.fat_sectors = volume.fat32 ? fat_sectors32 : fat_sectors16;
    volume.root_entries = root_entries;
    volume.root_cluster = volume.fat32 ? TRY(bs.u32(0x2C)) : 0;
    return std::optional<FatVolume>(std::move(volume));
}

// The volume-label entry of a directory block: nullopt if the block has
// none; a stop flag once the end-of-directory entry is seen.
struct LabelSearch {
    std::optional<std::string> label;
    bool reached_end { false };
};

LabelSearch find_volume_label(std::span<uint8_t const> directory)
{
    constexpr uint8_t attribute_volume_id = 0x08;
    constexpr uint8_t attribute_long_name = 0x0F;
    ByteReader reader(directory, Endian::Little, "FAT directory");
    for (uint64_t offset = 0; extent_within(offset, 32, directory.size()); offset += 32) {
        uint8_t first = directory[offset];
        if (first == 0x00)
            return { std::nullopt, true };
        uint8_t attributes = directory[offset + 11];
        if (first == 0xE5 || (attributes & attribute_long_name) == attribute_long_name || !(attributes & attribute_volume_id))
            continue;
        std::string label = fat_label(reader, offset);
        if (!label.empty() && static_cast<uint8_t>(label[0]) == 0x05)
            label[0] = static_cast<char>(0xE5); // the escape for a leading 0xE5
        return { label, true };
    }
    return {};
}

// Windows, and older mlabel, write the label only into the root directory,
// which is why blkid prefers it over the boot sector's copy. Reads at most
// 64 KiB per cluster and 64 clusters: enough for where labels live (the
// first entries), and bounded on a corrupt FAT.
Result<std::optional<std::string>> fat_root_label(int fd, FatVolume const& volume, std::string_view what)
{
    constexpr uint64_t max_read = 65536;
    uint64_t sector = volume.bytes_per_sector;
    uint64_t fat_start = uint64_t(volume.reserved_sectors) * sector;
    uint64_t data_start = (uint64_t(volume.reserved_sectors) + uint64_t(volume.fat_count) * volume.fat_sectors) * sector;
    std::vector<uint8_t> buffer;
    if (!volume.fat32) {
        buffer.resize(std::min<uint64_t>(uint64_t(volume.root_entries) * 32, max_read));
        size_t got = TRY(pread_full(fd, buffer, data_start, what));
        buffer.resize(got);
        return find_volume_label(buffer).label;
    }
    uint64_t cluster_bytes = uint64_t(volume.sectors_per_cluster) * sector;
    buffer.resize(std::min(cluster_bytes, max_read));
    uint32_t cluster = volume.root_cluster;
    for (int hops = 0; hops < 64 && cluster >= 2 && cluster < 0x0FFFFFF7; ++hops) {
        uint64_t offset = data_start + uint64_t(cluster - 2) * cluster_bytes;
        size_t got = TRY(pread_full(fd, buffer, offset, what));
        auto search = find_volume_label(std::span<uint8_t const>(buffer.data(), got));
        if (search.label || search.reached_end || got < buffer.size())
            return search.label;
        std::array<uint8_t, 4> entry {};
        if (TRY(pread_full(fd, entry, fat_start + uint64_t(cluster) * 4, what)) != entry.size())
            return std::optional<std::string>();
        cluster = static_cast<uint32_t>(load_uint(entry.data(), 4, Endian::Little) & 0x0FFFFFFF);
    }
    return std::optional<std::string>();
}

// Each prober: nullopt if the image is not its file system. A bounds error
// from a reader means the image is too short to hold that superblock, which
// is also "not this file system".
using Prober = Result<std::optional<FsProbe>> (*)(ByteReader const&);

std::optional<FsProbe> run(Prober prober, ByteReader const& image)
{
    auto result = prober(image);
    return result.ok() ? std::move(result).release_value() : std::nullopt;
}

// Both entry points share this; `fat` receives the FAT geometry when the
// image is vfat, so probe_filesystem can look in the root directory.
std::optional<FsProbe> probe_image(std::span<uint8_t const> bytes, std::optional<FatVolume>* fat)
{
    ByteReader image(bytes, Endian::Little, "superblock");
    // Signatures at fixed places first; FAT, whose checks are heuristics on
    // sector 0, last.
    for (Prober prober : { probe_luks, probe_xfs, probe_ext, probe_btrfs, probe_swap }) {
        if (auto probe = run(prober, image))
            return probe;
    }
    auto volume = parse_fat_boot_sector(image);
    if (volume.ok() && volume->has_value()) {
        FsProbe probe = (*volume)->probe;
        if (fat)
            *fat = std::move(volume).release_value();
        return probe;
    }
    return std::nullopt;
}

} // namespace

std::string format_uuid(std::span<uint8_t const> bytes)
{
    if (std::all_of(bytes.begin(), bytes.end(), [](uint8_t byte) { return byte == 0; }))
        return {};
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < bytes.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out.push_back('-');
        out.push_back(digits[bytes[i] >> 4]);
        out.push_back(digits[bytes[i] & 0xf]);
    }
    return out;
}

std::optional<FsProbe> probe_filesystem_bytes(std::span<uint8_t const> bytes)
{
    return probe_image(bytes, nullptr);
}

Result<std::optional<FsProbe>> probe_filesystem(int fd, std::string_view what)
{
    std::vector<uint8_t> window(probe_window_bytes);
    size_t got = TRY(pread_full(fd, window, 0, what));
    std::optional<FatVolume> fat;
    auto probe = probe_image(std::span<uint8_t const>(window.data(), got), &fat);
    if (probe && fat) {
        auto root_label = fat_root_label(fd, *fat, what);
        if (root_label.ok() && root_label->has_value())
            probe->label = **root_label;
    }
    return probe;
}

Result<std::optional<FsProbe>> probe_filesystem(std::string const& path)
{
    // O_NONBLOCK: a CD drive without a disc opens instead of failing.
    auto fd = TRY(open_file(path, O_RDONLY | O_NONBLOCK));
    return probe_filesystem(fd.get(), path);
}

std::string describe(FsProbe const& probe)
{
    std::string out = probe.type;
    if (!probe.uuid.empty())
        out += cat(" UUID=", probe.uuid);
    if (!probe.label.empty())
        out += cat(" LABEL=", probe.label);
    return out;
}

// --- Finding the device ---------------------------------------------------------

namespace {

struct SeenDevice {
    std::string name;
    std::string path;
    std::optional<FsProbe> probe;
    std::string problem; // why it could not be probed, if it could not
    // From the whole disk's partition table; read only when a PARTUUID= or
    // PARTLABEL= is looked for.
    std::optional<PartitionIdentity> partition;
};

bool equal_ignoring_case(std::string_view a, std::string_view b)
{
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

std::vector<SeenDevice> scan_block_devices(FindOptions const& options)
{
    std::vector<SeenDevice> seen;
    std::string class_dir = path_join(options.sysfs_root, "class/block");
    DIR* directory = ::opendir(class_dir.c_str());
    if (!directory)
        return seen;
    while (dirent* entry = ::readdir(directory)) {
        std::string_view name = entry->d_name;
        if (name.empty() || name.front() == '.')
            continue;
        SeenDevice device;
        device.name = std::string(name);
        // sysfs spells a '/' in a device name as '!' (cciss!c0d0).
        std::string node = device.name;
        std::replace(node.begin(), node.end(), '!', '/');
        device.path = path_join(options.dev_root, node);
        seen.push_back(std::move(device));
    }
    ::closedir(directory);
    std::sort(seen.begin(), seen.end(), [](auto const& a, auto const& b) { return a.name < b.name; });

    for (auto& device : seen) {
        // An unbound loop device or an empty card reader: size 0, nothing
        // to read.
        auto size = read_text_file(path_join(class_dir, cat(device.name, "/size")), 64);
        if (size.ok() && trim(*size) == "0") {
            device.problem = "empty";
            continue;
        }
        auto probe = probe_filesystem(device.path);
        if (!probe.ok()) {
            device.problem = cat("unreadable: ", probe.error().message());
            continue;
        }
        device.probe = std::move(probe).release_value();
    }
    return seen;
}

// Gives every partition in `seen` its PARTUUID and PARTLABEL, reading each
// whole disk's table once. The capture kernel has no udev to make
// /dev/disk/by-partuuid, and sysfs does not show them. A damaged table is
// the disk's `problem`, so the timeout error names it.
void identify_partitions(std::vector<SeenDevice>& seen, FindOptions const& options)
{
    std::string class_dir = path_join(options.sysfs_root, "class/block");
    for (auto& disk : seen) {
        std::string disk_dir = path_join(class_dir, disk.name);
        if (path_exists(path_join(disk_dir, "partition")))
            continue;
        auto entries = list_directory(disk_dir);
        if (!entries.ok())
            continue;
        std::vector<std::pair<std::string, unsigned>> partitions;
        for (auto const& entry : *entries) {
            if (auto number = sysfs_partition_number(path_join(disk_dir, entry)))
                partitions.emplace_back(entry, *number);
        }
        if (partitions.empty())
            continue;
        auto fd = open_file(disk.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        auto table = fd.ok() ? read_partition_table(fd->get(), disk.name) : Result<std::vector<PartitionIdentity>>(fd.error());
        if (!table.ok()) {
            disk.problem = cat("partition table unreadable: ", table.error().message());
            continue;
        }
        for (auto const& [entry, number] : partitions) {
            auto identity = std::find_if(table->begin(), table->end(), [&](auto const& each) { return each.number == number; });
            auto device = std::find_if(seen.begin(), seen.end(), [&](auto const& each) { return each.name == entry; });
            if (identity != table->end() && device != seen.end())
                device->partition = *identity;
        }
    }
}

bool matches(DeviceSpec const& spec, SeenDevice const& device)
{
    // A raw target's partition holds no file system: match it by the table.
    if (spec.kind == DeviceSpec::Kind::PartUuid)
        return device.partition && equal_ignoring_case(device.partition->partuuid, spec.value);
    if (spec.kind == DeviceSpec::Kind::PartLabel)
        return device.partition && !device.partition->partlabel.empty() && device.partition->partlabel == spec.value;
    if (!device.probe)
        return false;
    if (spec.kind == DeviceSpec::Kind::Uuid)
        return !device.probe->uuid.empty() && equal_ignoring_case(device.probe->uuid, spec.value);
    if (spec.kind == DeviceSpec::Kind::Label)
        return !device.probe->label.empty() && device.probe->label == spec.value;
    return false;
}

std::string format_seconds(std::chrono::milliseconds elapsed)
{
    auto ms = elapsed.count();
    return cat(ms / 1000, '.', (ms % 1000) / 100, " s");
}

std::string describe_seen(std::vector<SeenDevice> const& seen)
{
    if (seen.empty())
        return "no block devices at all (is the disk's driver in the initramfs? add it with extra_modules)";
    std::string out = "devices seen: ";
    for (size_t i = 0; i < seen.size(); ++i) {
        auto const& device = seen[i];
        if (i)
            out += ", ";
        out += device.name;
        if (device.partition)
            out += cat(" [PARTUUID=", device.partition->partuuid, device.partition->partlabel.empty() ? "" : cat(" PARTLABEL=", device.partition->partlabel), ']');
        if (device.probe)
            out += cat(" (", describe(*device.probe), ')');
        else if (!device.problem.empty())
            out += cat(" (", device.problem, ')');
        else
            out += " (no file system)";
    }
    return out;
}

std::string resolve_path_spec(std::string const& path, FindOptions const& options)
{
    if (options.dev_root != "/dev" && path.starts_with("/dev/"))
        return path_join(options.dev_root, path.substr(5));
    return path;
}

} // namespace

Result<std::string> find_device(DeviceSpec const& spec, FindOptions const& options)
{
    TRY(spec.check_findable());
    using Clock = std::chrono::steady_clock;
    auto start = Clock::now();
    std::string path = spec.kind == DeviceSpec::Kind::Path ? resolve_path_spec(spec.value, options) : std::string();
    std::vector<SeenDevice> seen;
    while (true) {
        if (spec.kind == DeviceSpec::Kind::Path) {
            if (path_exists(path))
                return path;
        } else {
            seen = scan_block_devices(options);
            if (spec.kind == DeviceSpec::Kind::PartUuid || spec.kind == DeviceSpec::Kind::PartLabel)
                identify_partitions(seen, options);
            std::vector<SeenDevice const*> found;
            for (auto const& device : seen) {
                if (matches(spec, device))
                    found.push_back(&device);
            }
            if (!found.empty()) {
                // dm devices (multipath, LVM over a whole disk) sit on top of
                // the legs that show the same superblock: write to the top.
                auto best = std::find_if(found.begin(), found.end(), [](auto* device) { return device->name.starts_with("dm-"); });
                SeenDevice const* chosen = best != found.end() ? *best : found.front();
                if (found.size() > 1) {
                    std::string names;
                    for (auto* device : found)
                        names += cat(names.empty() ? "" : ", ", device->name);
                    log::warn(cat(spec.text(), " is on ", found.size(), " devices (", names, "); using ", chosen->name));
                }
                return chosen->path;
            }
        }
        auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        if (elapsed >= options.timeout)
            break;
        std::this_thread::sleep_for(std::min(options.poll_interval, options.timeout - elapsed));
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    if (spec.kind == DeviceSpec::Kind::Path) {
        seen = scan_block_devices(options);
        return Error::with_code(ETIMEDOUT, cat("dump target ", spec.value, " did not appear within ", format_seconds(elapsed), " (disk_timeout); ", describe_seen(seen), "; check the device name, or raise disk_timeout if the disk is slow to appear"));
    }
    return Error::with_code(ETIMEDOUT, cat("no block device has ", spec.text(), " after waiting ", format_seconds(elapsed), " (disk_timeout); ", describe_seen(seen), "; check the ", spec.tag_name(), " with blkid on the host, or raise disk_timeout if the disk is slow to appear"));
}

} // namespace core
