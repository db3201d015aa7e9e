// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/partition_table.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/strings.h"
#include "core/system/blkid.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <string_view>
#include <unistd.h>
#include <zlib.h>

namespace core {

namespace {

constexpr uint64_t mbr_bytes = 512;
constexpr uint8_t mbr_type_protective_gpt = 0xee;
constexpr uint64_t gpt_header_min_bytes = 92;
constexpr uint64_t gpt_entry_min_bytes = 128;
constexpr uint64_t gpt_name_bytes = 72; // 36 UTF-16LE code units
// MBR tables count in 512-byte sectors here (4Kn disks use GPT in practice).
constexpr uint64_t mbr_sector_bytes = 512;
// The kernel's own limit on partitions per disk; it also ends a looping
// chain of extended boot records.
constexpr unsigned max_logical_partitions = 256;

bool is_extended_type(uint8_t type) { return type == 0x05 || type == 0x0f || type == 0x85; }

std::string mbr_partuuid(uint32_t signature, unsigned number)
{
    char text[sizeof "ssssssss-nnn"];
    std::snprintf(text, sizeof text, "%08x-%02x", signature, number);
    return text;
}

uint32_t crc32_of(std::span<uint8_t const> bytes)
{
    return static_cast<uint32_t>(::crc32(::crc32(0, nullptr, 0), bytes.data(), static_cast<uInt>(bytes.size())));
}

// A GUID as stored on disk (mixed endian) in the text order.
std::string format_guid(std::span<uint8_t const> stored)
{
    std::array<uint8_t, 16> ordered {};
    std::copy(stored.begin(), stored.end(), ordered.begin());
    std::reverse(ordered.begin(), ordered.begin() + 4);
    std::reverse(ordered.begin() + 4, ordered.begin() + 6);
    std::reverse(ordered.begin() + 6, ordered.begin() + 8);
    return format_uuid(ordered);
}

// UTF-16LE up to the first NUL, as UTF-8; an unpaired surrogate becomes
// U+FFFD.
std::string utf8_from_utf16le(std::span<uint8_t const> bytes)
{
    std::string out;
    auto unit_at = [&](size_t index) { return static_cast<uint32_t>(bytes[2 * index] | (bytes[2 * index + 1] << 8)); };
    size_t units = bytes.size() / 2;
    for (size_t index = 0; index < units; ++index) {
        uint32_t code = unit_at(index);
        if (code == 0)
            break;
        if (code >= 0xd800 && code <= 0xdbff && index + 1 < units && unit_at(index + 1) >= 0xdc00 && unit_at(index + 1) <= 0xdfff) {
            code = 0x10000 + ((code - 0xd800) << 10) + (unit_at(index + 1) - 0xdc00);
            ++index;
        } else if (code >= 0xd800 && code <= 0xdfff) {
            code = 0xfffd;
        }
        if (code < 0x80) {
            out.push_back(static_cast<char>(code));
        } else if (code < 0x800) {
            out.push_back(static_cast<char>(0xc0 | (code >> 6)));
            out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
        } else if (code < 0x10000) {
            out.push_back(static_cast<char>(0xe0 | (code >> 12)));
            out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
        } else {
            out.push_back(static_cast<char>(0xf0 | (code >> 18)));
            out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
        }
    }
    return out;
}

// The GPT whose header is at `sector_bytes` (LBA 1), or nullopt if there is
// no "EFI PART" signature there.
Result<std::optional<std::vector<PartitionIdentity>>> read_gpt(DiskReader const& read_at, std::string const& disk_name, uint64_t sector_bytes)
{
    auto header_bytes = TRY(read_at(sector_bytes, sector_bytes));
    ByteReader header(header_bytes, Endian::Little, "GPT header");
    constexpr std::string_view gpt_signature = "EFI PART";
    auto signature = header.bytes(0, gpt_signature.size());
    if (!signature.ok() || !std::equal(signature->begin(), signature->end(), gpt_signature.begin()))
        return std::optional<std::vector<PartitionIdentity>>();
    auto where = [&](std::string_view what) { return cat(disk_name, ": GPT ", what); };

    uint32_t header_size = TRY(header.u32(12));
    if (header_size < gpt_header_min_bytes || header_size > sector_bytes)
        return Error::invalid(where(cat("header size ", header_size, " is not between ", gpt_header_min_bytes, " and the sector size ", sector_bytes)));
    std::vector<uint8_t> checked(header_bytes.begin(), header_bytes.begin() + header_size);
    uint32_t recorded_crc = TRY(header.u32(16));
    std::fill(checked.begin() + 16, checked.begin() + 20, 0);
    if (crc32_of(checked) != recorded_crc)
        return Error::invalid(where("header checksum does not match; the table is damaged: repair it with gdisk or sfdisk before naming its partitions"));

    uint64_t entries_lba = TRY(header.u64(72));
    uint32_t entry_count = TRY(header.u32(80));
    uint32_t entry_bytes = TRY(header.u32(84));
    uint32_t entries_crc = TRY(header.u32(88));
    if (entry_bytes < gpt_entry_min_bytes || entry_bytes % 8 != 0)
        return Error::invalid(where(cat("entry size ", entry_bytes, " is not a multiple of 8 of at least ", gpt_entry_min_bytes)));
    uint64_t array_bytes = uint64_t(entry_count) * entry_bytes;
    if (array_bytes > max_gpt_entries_bytes)
        return Error::invalid(where(cat("entry array of ", entry_count, " x ", entry_bytes, " bytes is larger than ", max_gpt_entries_bytes)));
    if (entries_lba > UINT64_MAX / sector_bytes)
        return Error::invalid(where(cat("entry array LBA ", entries_lba, " is past any disk")));
    auto array = TRY(read_at(entries_lba * sector_bytes, array_bytes));
    if (crc32_of(array) != entries_crc)
        return Error::invalid(where("entry array checksum does not match; the table is damaged: repair it with gdisk or sfdisk before naming its partitions"));

    std::vector<PartitionIdentity> partitions;
    ByteReader entries(array, Endian::Little, "GPT entries");
    for (uint32_t index = 0; index < entry_count; ++index) {
        uint64_t offset = uint64_t(index) * entry_bytes;
        auto type = TRY(entries.bytes(offset, 16));
        if (std::all_of(type.begin(), type.end(), [](uint8_t byte) { return byte == 0; }))
            continue; // unused entry
        PartitionIdentity partition;
        partition.number = index + 1;
        partition.partuuid = format_guid(TRY(entries.bytes(offset + 16, 16)));
        partition.partlabel = utf8_from_utf16le(TRY(entries.bytes(offset + 56, gpt_name_bytes)));
        partitions.push_back(std::move(partition));
    }
    return std::optional(std::move(partitions));
}

// The logical partitions in an MBR's extended partition: a chain of
// extended boot records, each holding one logical partition (start relative
// to that record) and a link to the next record (relative to the extended
// partition). The kernel numbers them from 5 in chain order.
Result<void> read_logical_partitions(DiskReader const& read_at, std::string const& disk_name, uint32_t signature, uint64_t extended_start_sector,
    std::vector<PartitionIdentity>& partitions)
{
    uint64_t record_sector = extended_start_sector;
    unsigned number = 5;
    for (unsigned records = 0;; ++records) {
        if (records == max_logical_partitions)
            return Error::invalid(cat(disk_name, ": the extended partition's chain of boot records is longer than ", max_logical_partitions, " (a loop?); repair the table with fdisk"));
        auto record_bytes = TRY(read_at(record_sector * mbr_sector_bytes, mbr_sector_bytes).context(cat(disk_name, ": extended boot record at sector ", record_sector)));
        ByteReader record(record_bytes, Endian::Little, "extended boot record");
        if (TRY(record.u16(510)) != 0xaa55)
            return Error::invalid(cat(disk_name, ": the extended boot record at sector ", record_sector, " has no 55AA signature; repair the table with fdisk"));
        std::optional<uint64_t> next_sector;
        for (unsigned slot = 0; slot < 4; ++slot) {
            uint64_t entry = 446 + 16 * slot;
            uint8_t type = TRY(record.u8(entry + 4));
            uint32_t size_sectors = TRY(record.u32(entry + 12));
            if (type == 0 || size_sectors == 0)
                continue;
            if (is_extended_type(type)) {
                if (!next_sector)
                    next_sector = extended_start_sector + TRY(record.u32(entry + 8));
                continue;
            }
            partitions.push_back({ number, mbr_partuuid(signature, number), {} });
            ++number;
        }
        if (!next_sector)
            return {};
        record_sector = *next_sector;
    }
}

} // namespace

Result<std::vector<PartitionIdentity>> read_partition_table(DiskReader const& read_at, std::string const& disk_name)
{
    auto mbr_bytes_read = TRY(read_at(0, mbr_bytes));
    ByteReader mbr(mbr_bytes_read, Endian::Little, "MBR");
    if (TRY(mbr.u16(510)) != 0xaa55)
        return std::vector<PartitionIdentity>();
    bool protective = false;
    for (unsigned slot = 0; slot < 4; ++slot)
        protective = protective || TRY(mbr.u8(446 + 16 * slot + 4)) == mbr_type_protective_gpt;
    if (protective) {
        for (uint64_t sector_bytes : { uint64_t(512), uint64_t(4096) }) {
            auto gpt = TRY(read_gpt(read_at, disk_name, sector_bytes));
            if (gpt)
                return std::move(*gpt);
        }
        return Error::invalid(cat(disk_name, ": a protective MBR announces a GPT, but no GPT header was found at 512 or 4096 bytes; repair the table with gdisk"));
    }
    uint32_t signature = TRY(mbr.u32(440));
    std::vector<PartitionIdentity> partitions;
    std::optional<uint64_t> extended_start_sector;
    for (unsigned slot = 0; slot < 4; ++slot) {
        uint8_t type = TRY(mbr.u8(446 + 16 * slot + 4));
        if (type == 0)
            continue;
        partitions.push_back({ slot + 1, mbr_partuuid(signature, slot + 1), {} });
        if (is_extended_type(type) && !extended_start_sector)
            extended_start_sector = TRY(mbr.u32(446 + 16 * slot + 8));
    }
    if (extended_start_sector)
        TRY(read_logical_partitions(read_at, disk_name, signature, *extended_start_sector, partitions));
    return partitions;
}

Result<std::vector<PartitionIdentity>> read_partition_table(int fd, std::string const& disk_name)
{
    return read_partition_table(
        [&](uint64_t offset, uint64_t length) -> Result<std::vector<uint8_t>> {
            std::vector<uint8_t> bytes(length);
            TRY(pread_exact(fd, bytes, offset, disk_name));
            return bytes;
        },
        disk_name);
}

} // namespace core
