// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/partition_table.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/safe_file.h"
#include "tests/unit/test_support.h"

#include <doctest.h>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>
#include <zlib.h>

namespace {

using test_support::ScratchDir;

bool have_sfdisk() { return ::access("/usr/sbin/sfdisk", X_OK) == 0 || ::access("/sbin/sfdisk", X_OK) == 0; }

// A 16 MiB image whose table sfdisk (util-linux, the oracle) writes from
// `script`.
std::string image_from_script(ScratchDir const& dir, std::string const& script)
{
    std::string image = dir / "disk.img";
    std::string script_path = dir / "script";
    REQUIRE(core::write_text_atomically(script_path, script).ok());
    std::string output = test_support::run_output("truncate -s 16M '" + image + "' && sfdisk -q '" + image + "' <'" + script_path + "' 2>&1 && echo done");
    REQUIRE(output.ends_with("done"));
    return image;
}

std::vector<core::PartitionIdentity> table_of(std::string const& image)
{
    auto fd = core::open_file(image, O_RDONLY);
    REQUIRE(fd.ok());
    auto table = core::read_partition_table(fd->get(), image);
    REQUIRE_MESSAGE(table.ok(), table.error().message());
    return *table;
}

void flip_byte(std::string const& image, uint64_t offset)
{
    auto fd = core::open_file(image, O_RDWR);
    REQUIRE(fd.ok());
    uint8_t byte = 0;
    REQUIRE(::pread(fd->get(), &byte, 1, static_cast<off_t>(offset)) == 1);
    byte ^= 0x01;
    REQUIRE(::pwrite(fd->get(), &byte, 1, static_cast<off_t>(offset)) == 1);
}

} // namespace

TEST_CASE("partition table: GPT PARTUUIDs and PARTLABELs as sfdisk wrote them")
{
    if (!have_sfdisk())
        SKIP_TEST("sfdisk is not installed (apt-get install fdisk)");
    ScratchDir dir("kdumpbox-partitions");
    auto image = image_from_script(dir,
        "label: gpt\n"
        "label-id: 0F3E8A5C-1D2B-4C6D-9E7F-A1B2C3D4E5F6\n"
        "start=2048, size=4096, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=6A1B2C3D-4E5F-4071-8293-A4B5C6D7E8F9, name=\"EFI system\"\n"
        "start=8192, size=8192, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=C0FFEE00-1234-5678-9ABC-DEF012345678, name=\"crash d\xc3\xbcmps\"\n"
        "start=20480, size=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=11111111-2222-3333-4444-555555555555\n");
    auto table = table_of(image);
    REQUIRE(table.size() == 3);
    CHECK(table[0] == core::PartitionIdentity { 1, "6a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9", "EFI system" });
    CHECK(table[1] == core::PartitionIdentity { 2, "c0ffee00-1234-5678-9abc-def012345678", "crash d\xc3\xbcmps" });
    CHECK(table[2] == core::PartitionIdentity { 3, "11111111-2222-3333-4444-555555555555", "" });

    // A damaged header or entry array is an error that says so, never a guess.
    flip_byte(image, 512 + 24); // current LBA, inside the header's checksum
    auto fd = core::open_file(image, O_RDONLY);
    REQUIRE(fd.ok());
    auto damaged = core::read_partition_table(fd->get(), "vda");
    REQUIRE_FALSE(damaged.ok());
    CHECK(damaged.error().message() == "vda: GPT header checksum does not match; the table is damaged: repair it with gdisk or sfdisk before naming its partitions");
    flip_byte(image, 512 + 24);
    flip_byte(image, 1024 + 128 + 20); // inside entry 2's GUID
    auto entries_damaged = core::read_partition_table(fd->get(), "vda");
    REQUIRE_FALSE(entries_damaged.ok());
    CHECK(entries_damaged.error().message().starts_with("vda: GPT entry array checksum does not match"));
}

TEST_CASE("partition table: MBR PARTUUIDs are the disk signature and the number")
{
    if (!have_sfdisk())
        SKIP_TEST("sfdisk is not installed (apt-get install fdisk)");
    ScratchDir dir("kdumpbox-partitions");
    auto image = image_from_script(dir,
        "label: dos\n"
        "label-id: 0x5eed1e55\n"
        "start=2048, size=4096, type=83\n"
        "start=8192, size=4096, type=83\n");
    auto table = table_of(image);
    REQUIRE(table.size() == 2);
    CHECK(table[0] == core::PartitionIdentity { 1, "5eed1e55-01", "" });
    CHECK(table[1] == core::PartitionIdentity { 2, "5eed1e55-02", "" });
}

TEST_CASE("partition table: none, truncated, and hostile headers")
{
    std::vector<uint8_t> disk(64 * 1024, 0);
    auto reader = [&](uint64_t offset, uint64_t length) -> core::Result<std::vector<uint8_t>> {
        if (offset > disk.size() || length > disk.size() - offset)
            return core::Error::invalid("read past the end of the test disk");
        return std::vector<uint8_t>(disk.begin() + static_cast<ptrdiff_t>(offset), disk.begin() + static_cast<ptrdiff_t>(offset + length));
    };
    // No 0x55aa: no table, not an error.
    auto none = core::read_partition_table(reader, "blank");
    REQUIRE(none.ok());
    CHECK(none->empty());

    // A protective MBR with no GPT header behind it.
    disk[510] = 0x55;
    disk[511] = 0xaa;
    disk[446 + 4] = 0xee;
    auto missing = core::read_partition_table(reader, "vdb");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message() == "vdb: a protective MBR announces a GPT, but no GPT header was found at 512 or 4096 bytes; repair the table with gdisk");

    // A header that claims a huge entry array is refused before any read.
    std::string signature = "EFI PART";
    std::copy(signature.begin(), signature.end(), disk.begin() + 512);
    core::store_uint(disk.data() + 512 + 12, 4, 92, core::Endian::Little);
    core::store_uint(disk.data() + 512 + 72, 8, 2, core::Endian::Little);
    core::store_uint(disk.data() + 512 + 80, 4, 0xffffffffu, core::Endian::Little);
    core::store_uint(disk.data() + 512 + 84, 4, 128, core::Endian::Little);
    std::vector<uint8_t> header(disk.begin() + 512, disk.begin() + 512 + 92);
    std::fill(header.begin() + 16, header.begin() + 20, 0);
    uint32_t crc = static_cast<uint32_t>(::crc32(::crc32(0, nullptr, 0), header.data(), static_cast<unsigned>(header.size())));
    core::store_uint(disk.data() + 512 + 16, 4, crc, core::Endian::Little);
    auto huge = core::read_partition_table(reader, "vdb");
    REQUIRE_FALSE(huge.ok());
    CHECK(huge.error().message() == "vdb: GPT entry array of 4294967295 x 128 bytes is larger than 1048576");
}

TEST_CASE("partition table: MBR logical partitions are numbered from 5 along the chain")
{
    if (!have_sfdisk())
        SKIP_TEST("sfdisk is not installed (apt-get install fdisk)");
    ScratchDir dir("kdumpbox-partitions");
    auto image = image_from_script(dir,
        "label: dos\n"
        "label-id: 0x0badf00d\n"
        "start=2048, size=4096, type=83\n"
        "start=8192, size=20480, type=5\n"
        "start=10240, size=4096, type=83\n"
        "start=16384, size=4096, type=82\n");
    auto table = table_of(image);
    REQUIRE(table.size() == 4);
    CHECK(table[0] == core::PartitionIdentity { 1, "0badf00d-01", "" });
    CHECK(table[1] == core::PartitionIdentity { 2, "0badf00d-02", "" }); // the extended one
    CHECK(table[2] == core::PartitionIdentity { 5, "0badf00d-05", "" });
    CHECK(table[3] == core::PartitionIdentity { 6, "0badf00d-06", "" });
    // sfdisk, the oracle, numbers them the same way.
    std::string dump = test_support::run_output("sfdisk -d '" + image + "'");
    CHECK(dump.find(image + "5 : start=       10240") != std::string::npos);
    CHECK(dump.find(image + "6 : start=       16384") != std::string::npos);
    CHECK(dump.find(image + "7 :") == std::string::npos);

    // A chain that points back at itself ends at the cap, with an error:
    // the first record's link (its second entry) now starts at offset 0.
    auto fd = core::open_file(image, O_RDWR);
    REQUIRE(fd.ok());
    uint8_t const zero_start[4] = { 0, 0, 0, 0 };
    REQUIRE(::pwrite(fd->get(), zero_start, 4, 8192 * 512 + 462 + 8) == 4);
    auto looping = core::read_partition_table(fd->get(), "vda");
    REQUIRE_FALSE(looping.ok());
    CHECK(looping.error().message() == "vda: the extended partition's chain of boot records is longer than 256 (a loop?); repair the table with fdisk");
}
