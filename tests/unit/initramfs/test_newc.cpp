// SPDX-License-Identifier: GPL-2.0-or-later
#include "initramfs/newc.h"

#include "tests/unit/initramfs/fixtures.h"

#include <doctest.h>
#include <random>

using core::Compression;
using core::cpio::Archive;
using namespace initramfs_fixtures;

TEST_CASE("cpio newc: every header field, padding, parents, device node, trailer")
{
    TempDir dir;
    write_file(dir / "source.bin", "0123456789", 0750);
    Archive archive(1700000000);
    REQUIRE(archive.add_file("/etc/kdump.conf", "path /var/crash\n", 0644).ok());
    REQUIRE(archive.add_file_from_path("bin/tool", dir / "source.bin").ok());
    REQUIRE(archive.add_symlink("/bin/kexec", "/init").ok());
    REQUIRE(archive.add_char_device("/dev/console", 5, 1).ok());
    REQUIRE(archive.add_directory("/tmp", 01777).ok());
    REQUIRE(archive.add_file("/a", "", 0600).ok()); // an empty file: no data, no padding

    auto bytes = archive.to_bytes({ Compression::None });
    REQUIRE(bytes.ok());
    CHECK(bytes.value().size() == archive.serialized_size());
    auto entries = parse_newc(bytes.value());

    std::vector<std::string> names;
    for (auto const& entry : entries)
        names.push_back(entry.name);
    // Sorted, parents implicit and first, trailer last.
    CHECK(names == std::vector<std::string> { "a", "bin", "bin/kexec", "bin/tool", "dev", "dev/console", "etc", "etc/kdump.conf", "tmp", "TRAILER!!!" });

    for (size_t index = 0; index + 1 < entries.size(); ++index) {
        auto const& entry = entries[index];
        CAPTURE(entry.name);
        CHECK(entry.inode == index + 1);
        CHECK(entry.uid == 0);
        CHECK(entry.gid == 0);
        CHECK(entry.mtime == 1700000000u);
        CHECK(entry.dev_major == 0);
        CHECK(entry.dev_minor == 0);
        CHECK(entry.check == 0);
        CHECK(entry.name_size == entry.name.size() + 1);
    }
    auto map = by_name(entries);
    CHECK(map["a"].mode == 0100600);
    CHECK(map["a"].file_size == 0);
    CHECK(map["bin"].mode == 040755);
    CHECK(map["bin"].nlink == 2);
    CHECK(map["bin/kexec"].mode == 0120777);
    CHECK(map["bin/kexec"].data == "/init");
    CHECK(map["bin/kexec"].file_size == 5);
    CHECK(map["bin/kexec"].nlink == 1);
    CHECK(map["bin/tool"].mode == 0100750); // the source's permissions
    CHECK(map["bin/tool"].data == "0123456789");
    CHECK(map["dev/console"].mode == 020600);
    CHECK(map["dev/console"].rdev_major == 5);
    CHECK(map["dev/console"].rdev_minor == 1);
    CHECK(map["dev/console"].file_size == 0);
    CHECK(map["etc/kdump.conf"].data == "path /var/crash\n");
    CHECK(map["tmp"].mode == 041777);
    auto const& trailer = entries.back();
    CHECK(trailer.inode == 0);
    CHECK(trailer.mode == 0);
    CHECK(trailer.nlink == 1);
    CHECK(trailer.file_size == 0);
    CHECK(trailer.name_size == 11);
    // Name padding: the header (110) plus "a\0" is 112, already aligned;
    // "etc/kdump.conf\0" (15) pads 110+15 = 125 to 128.
    CHECK((map["etc/kdump.conf"].header_offset + 110 + 15 + 3) % 4 == 0);
}

TEST_CASE("cpio newc: directory nlink counts subdirectories")
{
    Archive archive;
    REQUIRE(archive.add_file("/lib/modules/6.1/kernel/a.ko", "x").ok());
    REQUIRE(archive.add_directory("/lib/firmware").ok());
    REQUIRE(archive.add_file("/lib/x.so", "y").ok());
    auto map = by_name(parse_newc(archive.to_bytes({ Compression::None }).value()));
    CHECK(map["lib"].nlink == 4);              // modules, firmware
    CHECK(map["lib/modules"].nlink == 3);      // 6.1
    CHECK(map["lib/modules/6.1/kernel"].nlink == 2);
}

TEST_CASE("cpio newc: duplicate, conflicting and malformed paths are refused")
{
    Archive archive;
    REQUIRE(archive.add_file("/etc/a", "1").ok());
    auto duplicate = archive.add_file("etc/a", "2");
    REQUIRE_FALSE(duplicate.ok());
    CHECK(duplicate.error().errno_code() == EEXIST);
    CHECK(duplicate.error().message() == "cpio: /etc/a is already in the archive");
    auto under_file = archive.add_file("/etc/a/b", "3");
    REQUIRE_FALSE(under_file.ok());
    CHECK(under_file.error().errno_code() == ENOTDIR);
    CHECK_FALSE(archive.add_file("/etc/../x", "").ok());
    CHECK_FALSE(archive.add_file("/", "").ok());
    CHECK_FALSE(archive.add_file("TRAILER!!!", "").ok());
    CHECK_FALSE(archive.add_symlink("/x", "").ok());
    // A directory may be declared after a child created it implicitly.
    CHECK(archive.add_directory("/etc", 0700).ok());
    CHECK(archive.entries().at("etc").permissions == 0700);
    CHECK(Archive::normalise_path("//usr///bin/").value() == "usr/bin");
}

TEST_CASE("cpio newc: the same entries give the same bytes, whatever the order of adding")
{
    auto build = [](bool reversed, uint32_t mtime) {
        Archive archive(mtime);
        std::vector<std::pair<std::string, std::string>> files { { "/b/x", "1" }, { "/a/y", "22" }, { "/c", "333" } };
        if (reversed)
            std::reverse(files.begin(), files.end());
        for (auto const& [path, data] : files)
            REQUIRE(archive.add_file(path, data).ok());
        return archive.to_bytes({ Compression::Zstd }).value();
    };
    CHECK(build(false, 0) == build(true, 0));
    CHECK(build(false, 0) != build(false, 1));
}

TEST_CASE("cpio compression: zstd, gzip and lz4 legacy decompress to the same archive")
{
    // Over 8 MiB, so lz4 writes two blocks; half text, half noise.
    std::string big(9u << 20, '\0');
    std::mt19937 generator(7);
    for (size_t index = 0; index < big.size(); ++index)
        big[index] = index < big.size() / 2 ? "virtio_ring\n"[index % 12] : static_cast<char>(generator() & 0xff);
    Archive archive;
    REQUIRE(archive.add_file("/big", big).ok());
    REQUIRE(archive.add_file("/small", "hello").ok());
    REQUIRE(archive.add_char_device("/dev/console", 5, 1).ok());
    std::string plain = archive.to_bytes({ Compression::None }).value();
    CHECK(plain.size() == archive.serialized_size());

    SUBCASE("zstd")
    {
        auto packed = archive.to_bytes({ Compression::Zstd, 3 }).value();
        CHECK(le32(packed, 0) == 0xFD2FB528u);
        CHECK(packed.size() < plain.size());
        CHECK(zstd_decompress(packed) == plain);
        // A checksum is present: the frame header descriptor's bit 2.
        CHECK((static_cast<uint8_t>(packed[4]) & 0x04) != 0);
    }
    SUBCASE("gzip")
    {
        auto packed = archive.to_bytes({ Compression::Gzip, 6 }).value();
        CHECK(static_cast<uint8_t>(packed[0]) == 0x1f);
        CHECK(static_cast<uint8_t>(packed[1]) == 0x8b);
        CHECK(packed[3] == 0);           // FLG: no name, comment or extra
        CHECK(le32(packed, 4) == 0);     // MTIME 0
        CHECK(gzip_decompress(packed) == plain);
    }
    SUBCASE("lz4 legacy")
    {
        auto packed = archive.to_bytes({ Compression::Lz4, 9 }).value();
        CHECK(le32(packed, 0) == 0x184C2102u);
        size_t blocks = 0;
        CHECK(lz4_legacy_decompress(packed, &blocks) == plain);
        CHECK(blocks == 2);
    }
    SUBCASE("none")
    {
        CHECK(archive.to_bytes({ Compression::None }).value() == plain);
    }
}

TEST_CASE("cpio compression: defaults, levels and names")
{
    Archive archive;
    REQUIRE(archive.add_file("/init", std::string(100000, 'k')).ok());
    std::string plain = archive.to_bytes({ Compression::None }).value();
    CHECK(zstd_decompress(archive.to_bytes({ Compression::Zstd }).value()) == plain);
    CHECK(gzip_decompress(archive.to_bytes({ Compression::Gzip }).value()) == plain);
    CHECK(lz4_legacy_decompress(archive.to_bytes({ Compression::Lz4 }).value()) == plain);
    // An archive of only the trailer is a valid lz4 legacy stream too.
    CHECK(lz4_legacy_decompress(Archive().to_bytes({ Compression::Lz4 }).value()) == Archive().to_bytes({ Compression::None }).value());

    CHECK(core::effective_level({ Compression::Zstd }) == 19);
    CHECK(core::effective_level({ Compression::Gzip }) == 9);
    CHECK(core::effective_level({ Compression::Lz4 }) == 12);
    CHECK_FALSE(archive.to_bytes({ Compression::Zstd, 23 }).ok());
    CHECK_FALSE(archive.to_bytes({ Compression::Gzip, 10 }).ok());
    CHECK(core::parse_compression("gz").value() == Compression::Gzip);
    CHECK(core::parse_compression("zstd").value() == Compression::Zstd);
    CHECK(core::parse_compression("lz4").value() == Compression::Lz4);
    CHECK(core::parse_compression("none").value() == Compression::None);
    CHECK(core::parse_compression("xz").error().message() == "unknown initramfs compression \"xz\" (expected zstd, gzip, lz4 or none)");
}

TEST_CASE("cpio newc: a source file that changes size is an error, not a corrupt archive")
{
    TempDir dir;
    write_file(dir / "grows", "abc");
    Archive archive;
    REQUIRE(archive.add_file_from_path("/grows", dir / "grows").ok());
    write_file(dir / "grows", "abcdef");
    auto bytes = archive.to_bytes({ Compression::None });
    REQUIRE_FALSE(bytes.ok());
    CHECK(bytes.error().message().find("its size changed from 3 to 6 bytes") != std::string::npos);
    CHECK_FALSE(archive.add_file_from_path("/missing", dir / "missing").ok());
}
