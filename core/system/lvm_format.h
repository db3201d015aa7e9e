// SPDX-License-Identifier: GPL-2.0-or-later
// LVM2's on-disk format, read without lvm2: the physical-volume label
// (LABELONE, pv_header), the metadata-area header and its circular text
// buffer, the volume group's text metadata, and the device-mapper table a
// linear or striped logical volume maps to. Pure functions over bytes and
// text, so that they can be fuzzed; reading devices is lvm.cpp's job.
// Every fact here was checked against lvm2's lib/label/label.c,
// lib/format_text/{layout.h,format-text.c,import_vsn1.c}, lib/misc/crc.c.
#pragma once

#include "core/base/error.h"
#include "core/system/device_mapper.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace core {

constexpr uint64_t lvm_sector_bytes = 512;
// The label is looked for in the first four sectors.
constexpr uint64_t lvm_label_scan_bytes = 4 * lvm_sector_bytes;
constexpr uint64_t lvm_mda_header_bytes = 512;
// The most metadata text we read from one area (lvm2 keeps two copies in
// an area, which is 1 MiB by default).
constexpr uint64_t lvm_max_metadata_text_bytes = 64 << 20;

// lvm2's CRC-32: the reflected 0xedb88320 polynomial started from
// 0xf597a6cf, with no final inversion.
constexpr uint32_t lvm_initial_crc = 0xf597a6cf;
uint32_t lvm_crc32(std::span<uint8_t const> bytes, uint32_t initial = lvm_initial_crc);

// 32 id characters as LVM prints them: 6-4-4-4-4-4-6 with dashes.
std::string format_lvm_uuid(std::string_view id32);
// The 32 characters without dashes (what dm uuids hold); an error unless
// uuid is 32 id characters, dashed as LVM prints them or not at all.
Result<std::string> lvm_uuid_without_dashes(std::string_view uuid);

// lvm2's rule for VG and LV names: [a-zA-Z0-9+_.-], 1 to 127 bytes, not
// starting with '-', not "." or "..".
bool is_lvm_name(std::string_view name);

struct LvmDiskArea {
    uint64_t offset_bytes { 0 };
    uint64_t size_bytes { 0 }; // 0 in a data area: to the end of the device
    bool operator==(LvmDiskArea const&) const = default;
};

struct PvLabel {
    uint64_t label_sector { 0 };
    std::string pv_uuid; // dashed
    uint64_t device_size_bytes { 0 };
    std::vector<LvmDiskArea> data_areas;
    std::vector<LvmDiskArea> metadata_areas;
};

// first_sectors: the device's first lvm_label_scan_bytes (fewer if it is
// smaller). nullopt: no LVM label. A LABELONE whose sector field or CRC
// is wrong is skipped, as lvm2 does; a label that checks out but is not
// "LVM2 001" or whose pv_header does not fit is an error.
Result<std::optional<PvLabel>> parse_pv_label(std::span<uint8_t const> first_sectors);

// A metadata area's header and where its current (committed) text is.
struct MdaHeader {
    uint64_t start_bytes { 0 };
    uint64_t size_bytes { 0 };
    // The text's offset from start_bytes, its size (with the final NUL)
    // and checksum; no text yet: text_size_bytes 0.
    uint64_t text_offset_bytes { 0 };
    uint64_t text_size_bytes { 0 };
    uint32_t text_checksum { 0 };
    bool ignored { false }; // pvchange --metadataignore y
};

// header: the area's first 512 bytes; area: where the label says it is;
// device_bytes: the device's real size. Checks the CRC, magic, version,
// that the header's start is the label's and that the area and the text
// lie inside the device.
Result<MdaHeader> parse_mda_header(std::span<uint8_t const> header, LvmDiskArea const& area, uint64_t device_bytes);

// The text's extents on the device: one, or two when the circular buffer
// wraps past the area's end back to just after the header.
std::vector<LvmDiskArea> mda_text_extents(MdaHeader const& header);

// The text read from those extents, checked against the header's checksum;
// returns it without its final NUL.
Result<std::string> check_metadata_text(std::span<uint8_t const> text, uint32_t checksum);

// --- The text metadata ----------------------------------------------------

struct LvmPhysicalVolume {
    std::string name; // the section name: "pv0"
    std::string uuid; // dashed
    uint64_t pe_start_sectors { 0 };
    uint64_t pe_count { 0 };
    uint64_t dev_size_sectors { 0 };
};

struct LvmArea {
    std::string volume; // a PV section name ("pv0") or an LV name
    uint64_t start_extent { 0 };
};

struct LvmSegment {
    std::string name; // "segment1"
    uint64_t start_extent { 0 };
    uint64_t extent_count { 0 };
    std::string type; // "striped", "thin", "raid1", "snapshot", ...
    uint64_t stripe_count { 0 };
    uint64_t stripe_size_sectors { 0 };
    std::vector<LvmArea> stripes; // striped segments only
    std::string origin;           // snapshot segments only
    std::string cow_store;        // snapshot segments only (or merging_store)
};

struct LvmLogicalVolume {
    std::string name;
    std::string uuid; // dashed
    std::vector<std::string> status;
    std::vector<LvmSegment> segments; // sorted by start_extent
};

struct LvmMetadata {
    std::string vg_name;
    std::string vg_uuid; // dashed
    uint64_t seqno { 0 };
    uint64_t extent_size_sectors { 0 };
    std::vector<LvmPhysicalVolume> physical_volumes;
    std::vector<LvmLogicalVolume> logical_volumes;

    LvmPhysicalVolume const* find_pv(std::string_view section_name) const;
    LvmLogicalVolume const* find_lv_by_uuid(std::string_view uuid) const;
    LvmLogicalVolume const* find_lv_by_name(std::string_view name) const;
};

// Caps on what the parser accepts: nesting, entries, list items.
constexpr unsigned lvm_max_metadata_depth = 16;
constexpr size_t lvm_max_metadata_entries = 1 << 20;
constexpr size_t lvm_max_list_items = 1 << 16;

// Strict: the syntax lvm2 writes (sections, key = integer/"string"/[list],
// # comments), duplicate keys refused, version 1 and "Text Format Volume
// Group" required, and the fields the table needs present and in range.
// Errors are one line naming the line and the problem.
Result<LvmMetadata> parse_lvm_metadata(std::string_view text);

// The newest copy: the highest seqno among those that parsed and checked.
// Copies that failed are named in a warning; if none is left the error
// names each one's problem. `copies` pairs where each came from with it.
struct LvmMetadataCopy {
    std::string where; // "/dev/sda2 metadata area 1"
    Result<LvmMetadata> metadata;
};
Result<LvmMetadata> choose_lvm_metadata(std::vector<LvmMetadataCopy> copies, std::string_view vg_uuid);

// Refuses (ENOTSUP) anything but linear and striped segments on PVs, with
// the layer named and what to do instead; a snapshot, a snapshot's origin
// and a read-only LV too.
Result<void> check_lvm_volume_supported(LvmMetadata const& metadata, LvmLogicalVolume const& volume);

// A PV as the kernel sees it: "MAJOR:MINOR" and its real size.
struct LvmPvDevice {
    std::string pv_uuid; // dashed
    std::string device;  // "8:2"
    uint64_t size_sectors { 0 };
};

// The LV's device-mapper table: linear for one stripe, striped otherwise,
// sectors from extent_size and each PV's pe_start. Every extent is checked
// against the PV's pe_count and real size, with overflow-checked arithmetic;
// segments must cover the LV from extent 0 without gaps.
Result<std::vector<DmTarget>> build_lvm_table(LvmMetadata const& metadata, LvmLogicalVolume const& volume, std::vector<LvmPvDevice> const& devices);

// The PVs an LV's segments use (uuids, dashed, in first-use order).
std::vector<std::string> lvm_volume_pv_uuids(LvmMetadata const& metadata, LvmLogicalVolume const& volume);

} // namespace core
