// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/blkid.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <doctest.h>
#include "tests/unit/test_support.h"
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using TempDir = test_support::ScratchDir;

void write_file(std::string const& path, std::span<uint8_t const> bytes)
{
    auto fd = core::open_file(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd.ok());
    REQUIRE(core::write_all(fd->get(), bytes, path).ok());
}

void write_text(std::string const& path, std::string_view text)
{
    write_file(path, std::span<uint8_t const>(reinterpret_cast<uint8_t const*>(text.data()), text.size()));
}

bool have_program(std::string const& name)
{
    return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

constexpr uint8_t sample_uuid[16] = { 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0 };
constexpr std::string_view sample_uuid_text = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

// An ext superblock with the given feature words.
core::ByteWriter ext_image(uint32_t compat, uint32_t incompat, uint32_t ro_compat, std::string_view label = "dumps")
{
    core::ByteWriter image(core::Endian::Little);
    image.resize(4096);
    image.put_u32(1024 + 0x18, 2); // 4 KiB blocks
    image.put_u16(1024 + 0x38, 0xEF53);
    image.put_u32(1024 + 0x5C, compat);
    image.put_u32(1024 + 0x60, incompat);
    image.put_u32(1024 + 0x64, ro_compat);
    image.put_bytes(1024 + 0x68, sample_uuid);
    image.put_string(1024 + 0x78, label);
    return image;
}

core::ByteWriter xfs_image(std::string_view label = "crash")
{
    core::ByteWriter image(core::Endian::Big);
    image.resize(4096);
    image.put_string(0, "XFSB");
    image.put_u32(4, 4096);      // block size
    image.put_u64(8, 262144);    // data blocks
    image.put_bytes(32, sample_uuid);
    image.put_u32(88, 4);        // allocation groups
    image.put_u16(102, 512);     // sector size
    image.put_u16(104, 512);     // inode size
    image.put_string(108, label);
    return image;
}

core::ByteWriter btrfs_image(std::string_view label = "pool")
{
    core::ByteWriter image(core::Endian::Little);
    image.resize(65536 + 4096);
    image.put_bytes(65536 + 0x20, sample_uuid);
    image.put_u64(65536 + 0x30, 65536);
    image.put_string(65536 + 0x40, "_BHRfS_M");
    image.put_string(65536 + 0x12b, label);
    return image;
}

// A FAT boot sector: FAT32 when fat32, else FAT16. label is the 11-byte
// blank-padded field.
core::ByteWriter fat_image(bool fat32, std::string_view label, uint32_t serial = 0x1234ABCD, size_t size = 4096)
{
    core::ByteWriter image(core::Endian::Little);
    image.resize(size);
    image.put_u8(0, 0xEB);
    image.put_u8(1, 0x3C);
    image.put_u8(2, 0x90);
    image.put_string(3, "mkfs.fat");
    image.put_u16(0x0B, 512);
    image.put_u8(0x0D, 4);
    image.put_u16(0x0E, fat32 ? 32 : 4);
    image.put_u8(0x10, 2);
    image.put_u16(0x11, fat32 ? 0 : 512);
    image.put_u16(0x13, fat32 ? 0 : 32768);
    image.put_u8(0x15, 0xF8);
    image.put_u16(0x16, fat32 ? 0 : 32);
    image.put_u32(0x20, fat32 ? 131072 : 0);
    uint64_t ebpb = fat32 ? 0x40 : 0x24;
    if (fat32) {
        image.put_u32(0x24, 1024);
        image.put_u32(0x2C, 2);
    }
    image.put_u8(ebpb + 2, 0x29);
    image.put_u32(ebpb + 3, serial);
    image.put_string(ebpb + 7, label);
    image.put_string(ebpb + 0x12, fat32 ? "FAT32   " : "FAT16   ");
    image.put_u8(510, 0x55);
    image.put_u8(511, 0xAA);
    return image;
}

std::optional<core::FsProbe> probe(core::ByteWriter const& image) { return core::probe_filesystem_bytes(image.bytes()); }

} // namespace

TEST_CASE("probe ext: ext2, ext3 and ext4 by feature flags, as blkid tells them apart")
{
    constexpr uint32_t has_journal = 0x4, filetype = 0x2, recover = 0x4, extents = 0x40, flex_bg = 0x200, bit64 = 0x80;
    constexpr uint32_t sparse_super = 0x1, large_file = 0x2, huge_file = 0x8, metadata_csum = 0x400;

    auto ext2 = probe(ext_image(0x38, filetype, sparse_super | large_file));
    REQUIRE(ext2);
    CHECK(ext2->type == "ext2");
    CHECK(ext2->uuid == sample_uuid_text);
    CHECK(ext2->label == "dumps");

    CHECK(probe(ext_image(has_journal, filetype | recover, sparse_super | large_file))->type == "ext3");
    CHECK(probe(ext_image(has_journal, filetype | extents, sparse_super))->type == "ext4");
    CHECK(probe(ext_image(has_journal, filetype | flex_bg, sparse_super))->type == "ext4");
    CHECK(probe(ext_image(has_journal, filetype | bit64, sparse_super))->type == "ext4");
    CHECK(probe(ext_image(has_journal, filetype, sparse_super | huge_file))->type == "ext4");
    CHECK(probe(ext_image(has_journal, filetype, metadata_csum))->type == "ext4");
    // ext4 features without a journal are still ext4.
    CHECK(probe(ext_image(0, filetype | extents, sparse_super))->type == "ext4");
    CHECK(probe(ext_image(0, 0x8, 0))->type == "jbd");
}

TEST_CASE("probe ext: label is NUL-terminated, a zero UUID is none, a wrong magic is nothing")
{
    auto image = ext_image(0, 0x2, 0, "sixteen-chars-xx");
    auto full = probe(image);
    REQUIRE(full);
    CHECK(full->label == "sixteen-chars-xx"); // all 16 bytes, no NUL

    image.put_bytes(1024 + 0x68, std::vector<uint8_t>(16, 0));
    image.put_bytes(1024 + 0x78, std::vector<uint8_t>(16, 0));
    auto bare = probe(image);
    REQUIRE(bare);
    CHECK(bare->uuid.empty());
    CHECK(bare->label.empty());

    image.put_u16(1024 + 0x38, 0xEF54);
    CHECK_FALSE(probe(image));
    image.put_u16(1024 + 0x38, 0xEF53);
    image.put_u32(1024 + 0x18, 40); // absurd block size
    CHECK_FALSE(probe(image));
}

TEST_CASE("probe xfs: big-endian superblock, uuid at 32, 12-byte label")
{
    auto found = probe(xfs_image("twelve-chars"));
    REQUIRE(found);
    CHECK(*found == core::FsProbe { "xfs", std::string(sample_uuid_text), "twelve-chars" });

    auto bad_geometry = xfs_image();
    bad_geometry.put_u32(4, 4097);
    CHECK_FALSE(probe(bad_geometry));
    auto no_ags = xfs_image();
    no_ags.put_u32(88, 0);
    CHECK_FALSE(probe(no_ags));
}

TEST_CASE("probe btrfs: the superblock at 64 KiB, fsid and a 256-byte label")
{
    auto found = probe(btrfs_image(std::string(255, 'b')));
    REQUIRE(found);
    CHECK(found->type == "btrfs");
    CHECK(found->uuid == sample_uuid_text);
    CHECK(found->label == std::string(255, 'b'));

    auto misplaced = btrfs_image();
    misplaced.put_u64(65536 + 0x30, 0x4000000); // a backup copy's bytenr
    CHECK_FALSE(probe(misplaced));
}

TEST_CASE("probe vfat: FAT32 and FAT16, serial as XXXX-XXXX, label trimmed, NO NAME is none")
{
    auto fat32 = probe(fat_image(true, "DUMPS      "));
    REQUIRE(fat32);
    CHECK(*fat32 == core::FsProbe { "vfat", "1234-ABCD", "DUMPS" });

    auto fat16 = probe(fat_image(false, "MY DISK    ", 0x00BE0f0a));
    REQUIRE(fat16);
    CHECK(*fat16 == core::FsProbe { "vfat", "00BE-0F0A", "MY DISK" });

    auto unnamed = probe(fat_image(true, "NO NAME    "));
    REQUIRE(unnamed);
    CHECK(unnamed->label.empty());
}

TEST_CASE("probe vfat: a partition table or a bare 0x55AA is not a file system")
{
    core::ByteWriter mbr(core::Endian::Little);
    mbr.resize(4096);
    mbr.put_u8(446 + 4, 0x83); // one Linux partition
    mbr.put_u32(446 + 8, 2048);
    mbr.put_u32(446 + 12, 100000);
    mbr.put_u8(510, 0x55);
    mbr.put_u8(511, 0xAA);
    CHECK_FALSE(probe(mbr));

    auto odd_sector = fat_image(true, "X          ");
    odd_sector.put_u16(0x0B, 513);
    CHECK_FALSE(probe(odd_sector));
    auto no_fats = fat_image(false, "X          ");
    no_fats.put_u8(0x10, 0);
    CHECK_FALSE(probe(no_fats));
}

TEST_CASE("probe vfat: the root directory's volume label wins over the boot sector's")
{
    TempDir dir;
    // FAT16: 4 reserved sectors + 2 FATs of 32 sectors: root directory at
    // sector 68. Windows writes the label only there.
    auto image = fat_image(false, "NO NAME    ", 0x1234ABCD, 80 * 512);
    uint64_t root = 68 * 512;
    image.put_string(root, "LONGNAME   ");
    image.put_u8(root + 11, 0x0F); // a long-name entry is skipped
    image.put_string(root + 32, "\xE5" "DELETED   ");
    image.put_u8(root + 32 + 11, 0x08); // a deleted label is skipped
    image.put_string(root + 64, "WINLABEL   ");
    image.put_u8(root + 64 + 11, 0x08);
    write_file(dir.path + "/fat16.img", image.bytes());
    auto found = core::probe_filesystem(dir.path + "/fat16.img");
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    CHECK((*found)->label == "WINLABEL");
    // The byte-only probe has no directory to read.
    CHECK(probe(image)->label.empty());
}

TEST_CASE("probe swap and LUKS, so a timeout can say what the other disks are")
{
    core::ByteWriter swap(core::Endian::Little);
    swap.resize(4096);
    swap.put_u32(1024, 1);
    swap.put_bytes(1024 + 12, sample_uuid);
    swap.put_string(1024 + 28, "swap0");
    swap.put_string(4096 - 10, "SWAPSPACE2");
    CHECK(*probe(swap) == core::FsProbe { "swap", std::string(sample_uuid_text), "swap0" });

    core::ByteWriter luks(core::Endian::Big);
    luks.resize(4096);
    luks.put_string(0, std::string_view("LUKS\xba\xbe", 6));
    luks.put_u16(6, 2);
    luks.put_string(24, "secret");
    luks.put_string(168, "6d1a1b6e-7a2c-4d0e-9c43-8f3d52a3a9e1");
    CHECK(*probe(luks) == core::FsProbe { "crypto_LUKS", "6d1a1b6e-7a2c-4d0e-9c43-8f3d52a3a9e1", "secret" });
}

TEST_CASE("probe truncated and corrupt superblocks: no file system, never a crash")
{
    struct Case {
        core::ByteWriter image;
        std::string type;
        size_t superblock_end; // a cut this long still holds the superblock
    };
    std::vector<Case> cases;
    cases.push_back({ ext_image(0x4, 0x42, 0x1), "ext4", 2048 });
    cases.push_back({ xfs_image(), "xfs", 512 });
    cases.push_back({ btrfs_image(), "btrfs", 65536 + 4096 });
    cases.push_back({ fat_image(true, "A          "), "vfat", 512 });
    cases.push_back({ fat_image(false, "B          "), "vfat", 512 });
    for (auto const& test : cases) {
        auto bytes = test.image.bytes();
        CHECK(core::probe_filesystem_bytes(bytes)->type == test.type);
        for (size_t cut = 0; cut < bytes.size(); cut += 61) {
            CAPTURE(test.type);
            CAPTURE(cut);
            auto found = core::probe_filesystem_bytes(bytes.first(cut));
            CHECK(found.has_value() == (cut >= test.superblock_end));
            if (found)
                CHECK(found->type == test.type);
        }
    }
    CHECK_FALSE(core::probe_filesystem_bytes({}));

    // Pseudo-random bytes, with each magic planted, must not crash.
    uint32_t state = 12345;
    std::vector<uint8_t> noise(65536 + 4096);
    for (int round = 0; round < 40; ++round) {
        for (auto& byte : noise) {
            state = state * 1103515245 + 12345;
            byte = static_cast<uint8_t>(state >> 16);
        }
        switch (round % 5) {
        case 0: noise[1024 + 0x38] = 0x53, noise[1024 + 0x39] = 0xEF; break;
        case 1: std::copy_n("XFSB", 4, noise.begin()); break;
        case 2: std::copy_n("_BHRfS_M", 8, noise.begin() + 65536 + 0x40); break;
        case 3: noise[510] = 0x55, noise[511] = 0xAA, noise[0] = 0xEB; break;
        case 4: std::copy_n("LUKS\xba\xbe", 6, noise.begin()); break;
        }
        (void)core::probe_filesystem_bytes(noise);
    }
}

TEST_CASE("probe a short file through probe_filesystem: no file system, not an error")
{
    TempDir dir;
    write_text(dir.path + "/tiny", "tiny");
    auto found = core::probe_filesystem(dir.path + "/tiny");
    REQUIRE(found.ok());
    CHECK_FALSE(found->has_value());
    auto missing = core::probe_filesystem(dir.path + "/missing");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message().find(dir.path + "/missing") != std::string::npos);
}

namespace {

struct RealFs {
    std::string type;
    std::string mkfs;    // the program
    std::string command; // %s: the image
    std::string size;
    std::string uuid;    // what we asked for
    std::string label;
};

void check_against_mkfs(RealFs const& fs)
{
    if (!have_program(fs.mkfs)) {
        SKIP_TEST(fs.mkfs + " is not installed: no real " + fs.type + " image (apt-get install the package that has it)");
    }
    TempDir dir;
    std::string image = dir.path + "/" + fs.type + ".img";
    REQUIRE(std::system(("truncate -s " + fs.size + " '" + image + "'").c_str()) == 0);
    std::string command = fs.command;
    command.replace(command.find("%s"), 2, "'" + image + "'");
    INFO("mkfs: " << command);
    REQUIRE(std::system((command + " >/dev/null 2>&1").c_str()) == 0);

    auto found = core::probe_filesystem(image);
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    CHECK((*found)->type == fs.type);
    CHECK((*found)->uuid == fs.uuid);
    CHECK((*found)->label == fs.label);
    if (have_program("blkid")) {
        auto blkid = [&](std::string const& tag) { return test_support::run_output("blkid -p -o value -s " + tag + " '" + image + "'"); };
        CHECK((*found)->type == blkid("TYPE"));
        CHECK((*found)->uuid == blkid("UUID"));
        CHECK((*found)->label == blkid("LABEL"));
    } else {
        MESSAGE("blkid is not installed; compared with the values given to mkfs only");
    }
}

} // namespace

TEST_CASE("probe real mkfs images and compare with blkid")
{
    std::string uuid = "3f2a9c1e-55d4-4b7a-9e21-0c8d7f6b5a43";
    RealFs const filesystems[] = {
        { "ext4", "mkfs.ext4", "mkfs.ext4 -q -F -U " + uuid + " -L dumps-ext4 %s", "32M", uuid, "dumps-ext4" },
        { "ext3", "mkfs.ext3", "mkfs.ext3 -q -F -U " + uuid + " -L 'with space' %s", "32M", uuid, "with space" },
        { "ext2", "mkfs.ext2", "mkfs.ext2 -q -F -U " + uuid + " %s", "8M", uuid, "" },
        { "xfs", "mkfs.xfs", "mkfs.xfs -q -f -m uuid=" + uuid + " -L xfsdumps %s", "300M", uuid, "xfsdumps" },
        { "btrfs", "mkfs.btrfs", "mkfs.btrfs -q -f -U " + uuid + " -L 'btrfs dumps' %s", "300M", uuid, "btrfs dumps" },
        { "vfat", "mkfs.vfat", "mkfs.vfat -F 32 -i 5A1B2C3D -n DUMPS32 %s", "64M", "5A1B-2C3D", "DUMPS32" },
        { "vfat", "mkfs.vfat", "mkfs.vfat -F 16 -i 00C0FFEE -n 'FAT 16' %s", "16M", "00C0-FFEE", "FAT 16" },
        { "vfat", "mkfs.vfat", "mkfs.vfat -F 12 -i DEADBEEF %s", "2M", "DEAD-BEEF", "" },
    };
    for (auto const& fs : filesystems) {
        CAPTURE(fs.command);
        check_against_mkfs(fs);
    }
}

// --- Target specs and find_device -------------------------------------------------

TEST_CASE("find_device: DeviceSpec parsing")
{
    auto uuid = core::DeviceSpec::parse("UUID=\"abc-def\"");
    REQUIRE(uuid.ok());
    CHECK(uuid->kind == core::DeviceSpec::Kind::Uuid);
    CHECK(uuid->value == "abc-def");
    CHECK(uuid->text() == "UUID=abc-def");
    auto label = core::DeviceSpec::parse("LABEL=my dumps");
    REQUIRE(label.ok());
    CHECK(label->kind == core::DeviceSpec::Kind::Label);
    CHECK(label->value == "my dumps");
    auto path = core::DeviceSpec::parse("/dev/vda1");
    REQUIRE(path.ok());
    CHECK(path->kind == core::DeviceSpec::Kind::Path);

    auto relative = core::DeviceSpec::parse("vda1");
    REQUIRE_FALSE(relative.ok());
    CHECK(relative.error().message().find("neither a device path") != std::string::npos);
    CHECK_FALSE(core::DeviceSpec::parse("UUID=").ok());
}

namespace {

// A fake /sys/class/block and /dev made of regular files.
struct FakeMachine {
    TempDir dir;
    core::FindOptions options;
    FakeMachine()
    {
        options.sysfs_root = dir.path + "/sys";
        options.dev_root = dir.path + "/dev";
        options.timeout = std::chrono::milliseconds(300);
        options.poll_interval = std::chrono::milliseconds(50);
        REQUIRE(std::system(("mkdir -p '" + options.sysfs_root + "/class/block' '" + options.dev_root + "'").c_str()) == 0);
    }
    void add(std::string const& name, std::span<uint8_t const> image, std::optional<std::string> size = std::nullopt)
    {
        std::string sys = options.sysfs_root + "/class/block/" + name;
        REQUIRE(::mkdir(sys.c_str(), 0755) == 0);
        if (size)
            write_text(sys + "/size", *size + "\n");
        write_file(options.dev_root + "/" + name, image);
    }
    void add_sysfs_only(std::string const& name)
    {
        std::string sys = options.sysfs_root + "/class/block/" + name;
        REQUIRE(::mkdir(sys.c_str(), 0755) == 0);
    }
};

} // namespace

TEST_CASE("find_device by UUID=, LABEL= and path in a fake /sys and /dev")
{
    FakeMachine machine;
    std::vector<uint8_t> zeros(8192);
    machine.add("vda", zeros, "16");
    machine.add("vda1", ext_image(0x4, 0x42, 0x1, "dumps").bytes(), "8");
    machine.add("vdb", xfs_image("crash").bytes());
    machine.add("loop0", {}, "0");

    auto by_uuid = core::find_device(core::DeviceSpec::parse(std::string("UUID=") + std::string(sample_uuid_text)).value(), machine.options);
    REQUIRE(by_uuid.ok());
    // Both carry sample_uuid; the first in name order wins, with a warning.
    CHECK(*by_uuid == machine.options.dev_root + "/vda1");
    auto by_label = core::find_device(core::DeviceSpec::parse("LABEL=crash").value(), machine.options);
    REQUIRE(by_label.ok());
    CHECK(*by_label == machine.options.dev_root + "/vdb");
    auto upper = core::find_device(core::DeviceSpec::parse("LABEL=CRASH").value(), machine.options);
    CHECK_FALSE(upper.ok()); // labels are case-sensitive
    auto by_path = core::find_device(core::DeviceSpec::parse("/dev/vdb").value(), machine.options);
    REQUIRE(by_path.ok());
    CHECK(*by_path == machine.options.dev_root + "/vdb");
}

TEST_CASE("find_device: UUIDs compare without case, and dm devices win over their legs")
{
    FakeMachine machine;
    auto image = ext_image(0x4, 0x42, 0x1);
    machine.add("sda", image.bytes());
    machine.add("sdb", image.bytes());
    machine.add("dm-0", image.bytes());
    std::string upper_uuid = "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0";
    auto found = core::find_device(core::DeviceSpec::parse("UUID=" + upper_uuid).value(), machine.options);
    REQUIRE(found.ok());
    CHECK(*found == machine.options.dev_root + "/dm-0");
}

TEST_CASE("find_device: the timeout error names the spec, the wait and what was seen")
{
    FakeMachine machine;
    std::vector<uint8_t> zeros(8192);
    machine.add("vda", zeros);
    machine.add("vda1", ext_image(0x4, 0x42, 0x1, "boot").bytes());
    machine.add("loop0", {}, "0");
    machine.add_sysfs_only("sr0"); // no node in /dev

    auto start = std::chrono::steady_clock::now();
    auto missing = core::find_device(core::DeviceSpec::parse("UUID=11111111-2222-3333-4444-555555555555").value(), machine.options);
    auto waited = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(missing.ok());
    CHECK(waited >= std::chrono::milliseconds(300));
    CHECK(waited < std::chrono::seconds(3));
    auto const& message = missing.error().message();
    INFO(message);
    CHECK(missing.error().errno_code() == ETIMEDOUT);
    CHECK(message.find("no block device has UUID=11111111-2222-3333-4444-555555555555 after waiting 0.") != std::string::npos);
    CHECK(message.find("disk_timeout") != std::string::npos);
    CHECK(message.find("loop0 (empty)") != std::string::npos);
    CHECK(message.find("vda (no file system)") != std::string::npos);
    CHECK(message.find(std::string("vda1 (ext4 UUID=") + std::string(sample_uuid_text) + " LABEL=boot)") != std::string::npos);
    CHECK(message.find("sr0 (unreadable: ") != std::string::npos);

    auto no_path = core::find_device(core::DeviceSpec::parse("/dev/vdz").value(), machine.options);
    REQUIRE_FALSE(no_path.ok());
    CHECK(no_path.error().message().find("dump target /dev/vdz did not appear within 0.") != std::string::npos);
    CHECK(no_path.error().message().find("vda1 (ext4") != std::string::npos);
}

TEST_CASE("find_device: an empty machine says to add the driver")
{
    FakeMachine machine;
    machine.options.timeout = std::chrono::milliseconds(0);
    auto missing = core::find_device(core::DeviceSpec::parse("LABEL=x").value(), machine.options);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message().find("no block devices at all") != std::string::npos);
    CHECK(missing.error().message().find("extra_modules") != std::string::npos);
}

TEST_CASE("find_device: rescans until a slow disk appears")
{
    FakeMachine machine;
    machine.options.timeout = std::chrono::seconds(5);
    auto image = xfs_image("late");
    std::thread late([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        write_file(machine.options.dev_root + "/vdc", image.bytes());
        std::string sys = machine.options.sysfs_root + "/class/block/vdc";
        ::mkdir(sys.c_str(), 0755);
    });
    auto start = std::chrono::steady_clock::now();
    auto found = core::find_device(core::DeviceSpec::parse("LABEL=late").value(), machine.options);
    late.join();
    REQUIRE(found.ok());
    CHECK(*found == machine.options.dev_root + "/vdc");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));
}

namespace {

// A 16 MiB disk image whose table sfdisk (the oracle) writes, as class/block
// DISK with its partitions nested under it as real sysfs has them
// (class/block/vda1 links to vda/vda1, which holds "partition").
void add_partitioned_disk(FakeMachine& machine, std::string const& disk, std::string const& script, unsigned partitions)
{
    if (::access("/usr/sbin/sfdisk", X_OK) != 0 && ::access("/sbin/sfdisk", X_OK) != 0)
        SKIP_TEST("sfdisk is not installed (apt-get install fdisk)");
    std::string image = machine.options.dev_root + "/" + disk;
    std::string script_path = machine.dir / (disk + ".sfdisk");
    write_text(script_path, script);
    std::string output = test_support::run_output("truncate -s 16M '" + image + "' && sfdisk -q '" + image + "' <'" + script_path + "' 2>&1 && echo done");
    REQUIRE(output.ends_with("done"));
    std::string sys = machine.options.sysfs_root + "/class/block/";
    REQUIRE(::mkdir((sys + disk).c_str(), 0755) == 0);
    for (unsigned number = 1; number <= partitions; ++number) {
        std::string name = disk + std::to_string(number);
        REQUIRE(::mkdir((sys + disk + "/" + name).c_str(), 0755) == 0);
        write_text(sys + disk + "/" + name + "/partition", std::to_string(number) + "\n");
        REQUIRE(::symlink((disk + "/" + name).c_str(), (sys + name).c_str()) == 0);
        write_file(machine.options.dev_root + "/" + name, std::vector<uint8_t>(4096));
    }
}

} // namespace

TEST_CASE("find_device by PARTUUID= and PARTLABEL=: GPT entries and MBR signatures, read from the tables")
{
    FakeMachine machine;
    add_partitioned_disk(machine, "vda",
        "label: gpt\n"
        "start=2048, size=4096, uuid=6A1B2C3D-4E5F-4071-8293-A4B5C6D7E8F9, name=\"EFI system\"\n"
        "start=8192, size=8192, uuid=C0FFEE00-1234-5678-9ABC-DEF012345678, name=\"crash\"\n",
        2);
    add_partitioned_disk(machine, "vdb", "label: dos\nlabel-id: 0x0badcafe\nstart=2048, size=4096, type=83\nstart=8192, size=4096, type=83\n", 2);

    auto find = [&](char const* text) { return core::find_device(core::DeviceSpec::parse(text).value(), machine.options); };
    auto gpt = find("PARTUUID=c0ffee00-1234-5678-9abc-def012345678");
    REQUIRE_MESSAGE(gpt.ok(), gpt.error().message());
    CHECK(*gpt == machine.options.dev_root + "/vda2");
    auto upper = find("PARTUUID=6A1B2C3D-4E5F-4071-8293-A4B5C6D7E8F9");
    REQUIRE(upper.ok());
    CHECK(*upper == machine.options.dev_root + "/vda1");
    auto label = find("PARTLABEL=crash");
    REQUIRE(label.ok());
    CHECK(*label == machine.options.dev_root + "/vda2");
    auto mbr = find("PARTUUID=0badcafe-02");
    REQUIRE(mbr.ok());
    CHECK(*mbr == machine.options.dev_root + "/vdb2");

    // Labels are exact; a missing one times out naming what each partition is.
    auto missing = find("PARTLABEL=Crash");
    REQUIRE_FALSE(missing.ok());
    auto const& message = missing.error().message();
    INFO(message);
    CHECK(missing.error().errno_code() == ETIMEDOUT);
    CHECK(message.find("no block device has PARTLABEL=Crash") != std::string::npos);
    CHECK(message.find("vda2 [PARTUUID=c0ffee00-1234-5678-9abc-def012345678 PARTLABEL=crash]") != std::string::npos);
    CHECK(message.find("vdb1 [PARTUUID=0badcafe-01]") != std::string::npos);
    CHECK(message.find("check the PARTLABEL with blkid") != std::string::npos);
}

TEST_CASE("find_device by PARTUUID=: a damaged table is named, never guessed")
{
    FakeMachine machine;
    add_partitioned_disk(machine, "vda", "label: gpt\nstart=2048, size=4096, uuid=C0FFEE00-1234-5678-9ABC-DEF012345678\n", 1);
    // Corrupt the primary header's CRC-covered bytes; the backup is not used
    // to guess either.
    {
        auto fd = core::open_file(machine.options.dev_root + "/vda", O_RDWR);
        REQUIRE(fd.ok());
        uint8_t byte = 0x5a;
        REQUIRE(::pwrite(fd->get(), &byte, 1, 512 + 40) == 1);
    }
    auto missing = core::find_device(core::DeviceSpec::parse("PARTUUID=c0ffee00-1234-5678-9abc-def012345678").value(), machine.options);
    REQUIRE_FALSE(missing.ok());
    INFO(missing.error().message());
    CHECK(missing.error().message().find("vda (partition table unreadable: vda: GPT header checksum does not match") != std::string::npos);
}
