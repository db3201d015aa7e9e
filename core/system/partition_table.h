// SPDX-License-Identifier: GPL-2.0-or-later
// The identities the kernel gives partitions, read from a whole disk's
// partition table: PARTUUID= and PARTLABEL=, as root= and kdump.conf name
// them. The capture kernel has no udev and no /dev/disk/by-partuuid, and
// sysfs does not show a partition's UUID, so the table is read here:
// - GPT: each used entry's unique partition GUID (printed with its first
//   three fields byte-swapped, as the kernel and blkid print it) and its
//   UTF-16LE name;
// - MBR: the disk signature and the partition number, "SSSSSSSS-NN", for
//   the four primary entries and the logical partitions of the extended
//   one (numbered from 5 along its chain of boot records, as the kernel
//   does; 512-byte sectors).
// A protective MBR means GPT. Header and entry-array CRC32s are checked:
// a corrupt table is an error, never a guess.
#pragma once

#include "core/base/error.h"

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace core {

struct PartitionIdentity {
    unsigned number { 0 }; // the kernel's partition number: vda<number>
    std::string partuuid;  // lowercase
    std::string partlabel; // GPT only; "" when unnamed
    bool operator==(PartitionIdentity const&) const = default;
};

// The most a GPT entry array may take here (the spec's minimum is 16 KiB;
// real tables use 128 entries of 128 bytes).
constexpr uint64_t max_gpt_entries_bytes = 1 << 20;

// Reads the table of a whole disk, with `read_at(offset, length)` giving
// the disk's bytes. An empty list: no partition table. Logical sector
// sizes of 512 and 4096 bytes are both looked for.
using DiskReader = std::function<Result<std::vector<uint8_t>>(uint64_t offset, uint64_t length)>;
Result<std::vector<PartitionIdentity>> read_partition_table(DiskReader const& read_at, std::string const& disk_name);

// The same from an open disk or image.
Result<std::vector<PartitionIdentity>> read_partition_table(int fd, std::string const& disk_name);

} // namespace core
