// SPDX-License-Identifier: GPL-2.0-or-later
#include "initramfs/initramfs.h"

#include "core/base/bytes.h"
#include "initramfs/cpio.h"
#include "core/base/fd.h"
#include "core/base/fs.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <doctest.h>
#include <fcntl.h>
#include <glob.h>
#include <lz4.h>
#include <map>
#include <random>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>
#include <zlib.h>
#include <zstd.h>

using core::cpio::Archive;
using core::cpio::Compression;
using core::cpio::CompressionOptions;
namespace initramfs = core::initramfs;

namespace {

struct TempDir {
    std::string path;
    TempDir()
    {
        char name[] = "/tmp/kdumpbox-initramfs-XXXXXX";
        REQUIRE(::mkdtemp(name) != nullptr);
        path = name;
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    std::string operator/(std::string_view name) const { return path + "/" + std::string(name); }
};

void make_directories(std::string const& path)
{
    for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1))
        ::mkdir(path.substr(0, slash).c_str(), 0755);
    ::mkdir(path.c_str(), 0755);
}

void write_file(std::string const& path, std::string_view data, mode_t mode = 0644)
{
    make_directories(path.substr(0, path.rfind('/')));
    int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode);
    REQUIRE(fd >= 0);
    REQUIRE(core::write_all(fd, data, path).ok());
    ::close(fd);
    ::chmod(path.c_str(), mode);
}

std::string read_file(std::string const& path)
{
    auto text = core::read_text_file(path, 256 << 20);
    REQUIRE(text.ok());
    return text.value();
}

void make_symlink(std::string const& target, std::string const& link)
{
    make_directories(link.substr(0, link.rfind('/')));
    REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
}

// ---- A newc reader, for checking what the writer produced ----

struct ParsedEntry {
    uint64_t header_offset;
    uint32_t inode, mode, uid, gid, nlink, mtime, file_size, dev_major, dev_minor, rdev_major, rdev_minor, name_size, check;
    std::string name;
    std::string data;
};

uint32_t hex_field(std::string const& archive, size_t offset)
{
    REQUIRE(offset + 8 <= archive.size());
    uint32_t value = 0;
    for (size_t index = 0; index < 8; ++index) {
        char c = archive[offset + index];
        bool upper_hex = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
        REQUIRE(upper_hex);
        value = value * 16 + static_cast<uint32_t>(c <= '9' ? c - '0' : c - 'A' + 10);
    }
    return value;
}

bool all_zero(std::string const& archive, size_t offset, size_t count)
{
    for (size_t index = 0; index < count; ++index) {
        if (archive[offset + index] != '\0')
            return false;
    }
    return true;
}

// Every entry through TRAILER!!! (included), checking magic, alignment and
// that every padding byte is zero and nothing follows the trailer.
std::vector<ParsedEntry> parse_newc(std::string const& archive)
{
    std::vector<ParsedEntry> entries;
    size_t offset = 0;
    while (true) {
        REQUIRE(offset % 4 == 0);
        REQUIRE(offset + 110 <= archive.size());
        REQUIRE(archive.compare(offset, 6, "070701") == 0);
        ParsedEntry entry {};
        entry.header_offset = offset;
        uint32_t* fields[] = { &entry.inode, &entry.mode, &entry.uid, &entry.gid, &entry.nlink, &entry.mtime, &entry.file_size, &entry.dev_major, &entry.dev_minor,
            &entry.rdev_major, &entry.rdev_minor, &entry.name_size, &entry.check };
        for (size_t index = 0; index < 13; ++index)
            *fields[index] = hex_field(archive, offset + 6 + index * 8);
        size_t name_at = offset + 110;
        REQUIRE(entry.name_size >= 1);
        REQUIRE(name_at + entry.name_size <= archive.size());
        entry.name = archive.substr(name_at, entry.name_size - 1);
        CHECK(archive[name_at + entry.name_size - 1] == '\0');
        size_t data_at = core::align_up(name_at + entry.name_size, 4);
        CHECK(all_zero(archive, name_at + entry.name_size, data_at - (name_at + entry.name_size)));
        REQUIRE(data_at + entry.file_size <= archive.size());
        entry.data = archive.substr(data_at, entry.file_size);
        size_t next = core::align_up(data_at + entry.file_size, 4);
        REQUIRE(next <= archive.size());
        CHECK(all_zero(archive, data_at + entry.file_size, next - (data_at + entry.file_size)));
        entries.push_back(entry);
        offset = next;
        if (entry.name == "TRAILER!!!")
            break;
    }
    CHECK(offset == archive.size());
    return entries;
}

std::map<std::string, ParsedEntry> by_name(std::vector<ParsedEntry> const& entries)
{
    std::map<std::string, ParsedEntry> out;
    for (auto const& entry : entries)
        out[entry.name] = entry;
    return out;
}

// ---- Decompressors (the libraries directly, independent of the writer) ----

std::string zstd_decompress(std::string const& compressed)
{
    unsigned long long size = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
    REQUIRE(size != ZSTD_CONTENTSIZE_ERROR);
    REQUIRE(size != ZSTD_CONTENTSIZE_UNKNOWN);
    std::string out(size, '\0');
    size_t got = ZSTD_decompress(out.data(), out.size(), compressed.data(), compressed.size());
    REQUIRE_FALSE(ZSTD_isError(got));
    out.resize(got);
    return out;
}

std::string gzip_decompress(std::string const& compressed)
{
    z_stream stream {};
    REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    stream.avail_in = static_cast<uInt>(compressed.size());
    std::string out;
    int status;
    do {
        char buffer[65536];
        stream.next_out = reinterpret_cast<Bytef*>(buffer);
        stream.avail_out = sizeof buffer;
        status = inflate(&stream, Z_NO_FLUSH);
        REQUIRE((status == Z_OK || status == Z_STREAM_END));
        out.append(buffer, sizeof buffer - stream.avail_out);
    } while (status != Z_STREAM_END);
    CHECK(stream.avail_in == 0);
    inflateEnd(&stream);
    return out;
}

uint32_t le32(std::string const& bytes, size_t offset)
{
    return core::load_uint(reinterpret_cast<uint8_t const*>(bytes.data()) + offset, 4, core::Endian::Little);
}

// The legacy frame as the kernel's unlz4 reads it: magic, then (size,
// block) pairs, each block decompressing to at most 8 MiB.
std::string lz4_legacy_decompress(std::string const& compressed, size_t* blocks = nullptr)
{
    REQUIRE(compressed.size() >= 4);
    REQUIRE(le32(compressed, 0) == 0x184C2102u);
    std::string out;
    std::vector<char> buffer(8u << 20);
    size_t offset = 4;
    size_t count = 0;
    while (offset < compressed.size()) {
        REQUIRE(offset + 4 <= compressed.size());
        uint32_t size = le32(compressed, offset);
        offset += 4;
        REQUIRE(size <= static_cast<uint32_t>(LZ4_compressBound(8 << 20)));
        REQUIRE(offset + size <= compressed.size());
        int got = LZ4_decompress_safe(compressed.data() + offset, buffer.data(), static_cast<int>(size), static_cast<int>(buffer.size()));
        REQUIRE(got >= 0);
        // Every block but the last is exactly full.
        if (offset + size < compressed.size())
            CHECK(got == (8 << 20));
        out.append(buffer.data(), static_cast<size_t>(got));
        offset += size;
        ++count;
    }
    if (blocks)
        *blocks = count;
    return out;
}

// ---- Synthetic kernel modules ----

// An ET_REL ELF with a .modinfo and a .shstrtab, in either class and
// byte order.
std::string synthetic_module(std::string_view modinfo, bool is_64bit = true, core::Endian endian = core::Endian::Little)
{
    core::ByteWriter writer(endian);
    uint64_t ehdr = is_64bit ? 64 : 52;
    uint64_t shdr = is_64bit ? 64 : 40;
    std::string names("\0.modinfo\0.shstrtab\0", 20);
    uint64_t modinfo_at = ehdr;
    uint64_t names_at = modinfo_at + modinfo.size();
    uint64_t shoff = core::align_up(names_at + names.size(), 8);

    writer.put_bytes(0, std::vector<uint8_t> { 0x7f, 'E', 'L', 'F', static_cast<uint8_t>(is_64bit ? 2 : 1), static_cast<uint8_t>(endian == core::Endian::Little ? 1 : 2), 1 });
    writer.put_u16(16, 1);  // ET_REL
    writer.put_u16(18, 62); // EM_X86_64
    writer.put_u32(20, 1);
    if (is_64bit) {
        writer.put_u64(40, shoff);
        writer.put_u16(52, 64);
        writer.put_u16(58, 64);
        writer.put_u16(60, 3);
        writer.put_u16(62, 2);
    } else {
        writer.put_u32(32, static_cast<uint32_t>(shoff));
        writer.put_u16(40, 52);
        writer.put_u16(46, 40);
        writer.put_u16(48, 3);
        writer.put_u16(50, 2);
    }
    writer.put_string(modinfo_at, modinfo);
    writer.put_string(names_at, names);
    auto section = [&](unsigned index, uint32_t name, uint32_t type, uint64_t offset, uint64_t size) {
        uint64_t at = shoff + index * shdr;
        writer.put_u32(at, name);
        writer.put_u32(at + 4, type);
        if (is_64bit) {
            writer.put_u64(at + 24, offset);
            writer.put_u64(at + 32, size);
        } else {
            writer.put_u32(at + 16, static_cast<uint32_t>(offset));
            writer.put_u32(at + 20, static_cast<uint32_t>(size));
        }
    };
    section(0, 0, 0, 0, 0);
    section(1, 1, 1, modinfo_at, modinfo.size());          // .modinfo, PROGBITS
    section(2, 10, 3, names_at, names.size());             // .shstrtab, STRTAB
    writer.resize(shoff + 3 * shdr);
    return writer.buffer();
}

std::string modinfo_text(std::string_view name, std::string_view depends)
{
    std::string text = "license=GPL";
    text.push_back('\0');
    text += "depends=" + std::string(depends);
    text.push_back('\0');
    text += "name=" + std::string(name);
    text.push_back('\0');
    text += "vermagic=6.1.0-test SMP mod_unload";
    text.push_back('\0');
    return text;
}

std::string compressed(std::string const& data, Compression compression)
{
    std::string out;
    core::cpio::StringSink sink(out);
    auto compressor = core::cpio::make_compressor({ compression, 3, data.size() }, sink);
    REQUIRE(compressor.ok());
    REQUIRE(compressor.value()->write({ reinterpret_cast<uint8_t const*>(data.data()), data.size() }).ok());
    REQUIRE(compressor.value()->finish().ok());
    return out;
}

// virtio_blk -> virtio, virtio_ring; virtio -> virtio_ring; virtio_pci ->
// virtio, virtio_ring, virtio-pci-modern-dev (dash on purpose).
void write_module_tree(std::string const& root)
{
    write_file(root + "/kernel/drivers/block/virtio_blk.ko", synthetic_module(modinfo_text("virtio_blk", "virtio,virtio_ring")));
    write_file(root + "/kernel/drivers/virtio/virtio.ko", synthetic_module(modinfo_text("virtio", "virtio_ring"), false, core::Endian::Big));
    write_file(root + "/kernel/drivers/virtio/virtio_ring.ko", synthetic_module(modinfo_text("virtio_ring", "")));
    write_file(root + "/kernel/drivers/virtio/virtio_pci.ko", synthetic_module(modinfo_text("virtio_pci", "virtio_ring,virtio-pci-modern-dev,virtio")));
    write_file(root + "/kernel/drivers/virtio/virtio-pci-modern-dev.ko", synthetic_module(modinfo_text("virtio_pci_modern_dev", "")));
    write_file(root + "/modules.builtin", "kernel/fs/ext4/ext4.ko\nkernel/drivers/char/hw_random/rng-core.ko\n");
}

std::vector<std::string> names_of(std::vector<initramfs::ModuleFile> const& modules)
{
    std::vector<std::string> out;
    for (auto const& module : modules)
        out.push_back(module.name);
    return out;
}

size_t position(std::vector<std::string> const& names, std::string const& name)
{
    return static_cast<size_t>(std::find(names.begin(), names.end(), name) - names.begin());
}

std::vector<std::string> glob_paths(std::string const& pattern)
{
    glob_t found {};
    std::vector<std::string> out;
    if (::glob(pattern.c_str(), 0, nullptr, &found) == 0) {
        for (size_t index = 0; index < found.gl_pathc; ++index)
            out.emplace_back(found.gl_pathv[index]);
    }
    ::globfree(&found);
    return out;
}

} // namespace

// ---------------------------------------------------------------- cpio

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

    CHECK(core::cpio::effective_level({ Compression::Zstd }) == 19);
    CHECK(core::cpio::effective_level({ Compression::Gzip }) == 9);
    CHECK(core::cpio::effective_level({ Compression::Lz4 }) == 12);
    CHECK_FALSE(archive.to_bytes({ Compression::Zstd, 23 }).ok());
    CHECK_FALSE(archive.to_bytes({ Compression::Gzip, 10 }).ok());
    CHECK(core::cpio::parse_compression("gz").value() == Compression::Gzip);
    CHECK(core::cpio::parse_compression("zstd").value() == Compression::Zstd);
    CHECK(core::cpio::parse_compression("lz4").value() == Compression::Lz4);
    CHECK(core::cpio::parse_compression("none").value() == Compression::None);
    CHECK(core::cpio::parse_compression("xz").error().message() == "unknown initramfs compression \"xz\" (expected zstd, gzip, lz4 or none)");
}

TEST_CASE("cpio compression: chosen from the kernel config")
{
    using core::cpio::choose_compression;
    auto all = choose_compression("CONFIG_RD_GZIP=y\nCONFIG_RD_LZ4=y\nCONFIG_RD_ZSTD=y\n", "config-x");
    CHECK(all.compression == Compression::Zstd);
    CHECK(all.reason == "CONFIG_RD_ZSTD=y in config-x");
    CHECK(all.warning.empty());
    CHECK(choose_compression("# CONFIG_RD_ZSTD is not set\nCONFIG_RD_GZIP=y\nCONFIG_RD_LZ4=y\n", "c").compression == Compression::Gzip);
    CHECK(choose_compression("CONFIG_RD_LZ4=y\nCONFIG_RD_ZSTD=m\n", "c").compression == Compression::Lz4);
    auto none = choose_compression("CONFIG_RD_XZ=y\n", "config-y");
    CHECK(none.compression == Compression::None);
    CHECK(none.warning.find("config-y: the kernel has no zstd, gzip or lz4 initramfs decompressor") == 0);

    auto configs = glob_paths("/root/.cache/kdumpbox/vm/kernels/*/root/boot/config-*");
    if (configs.empty()) {
        MESSAGE("no Debian kernel config under /root/.cache/kdumpbox/vm/kernels; skipping the real-config check");
        return;
    }
    for (auto const& config : configs) {
        auto choice = core::cpio::choose_compression_for_config_file(config);
        REQUIRE(choice.ok());
        CHECK(choice.value().compression == Compression::Zstd);
    }
    CHECK_FALSE(core::cpio::choose_compression_for_config_file("/nonexistent/config").ok());
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

// ---------------------------------------------------------------- modules

TEST_CASE("module names: '-' and '_' alike, suffix and directory dropped")
{
    CHECK(initramfs::module_name("kernel/drivers/char/hw_random/virtio-rng.ko.xz") == "virtio_rng");
    CHECK(initramfs::module_name("virtio_blk") == "virtio_blk");
    CHECK(initramfs::module_name("a/b/dm-crypt.ko.zst") == "dm_crypt");
    CHECK(initramfs::module_name("x.ko.gz") == "x");
}

TEST_CASE("module resolution from .modinfo without modules.dep: load order, reasons, both ELF classes")
{
    TempDir dir;
    std::string modules = dir / "lib/modules/6.1.0-test";
    write_module_tree(modules);

    auto virtio = initramfs::module_dependencies_from_modinfo(modules + "/kernel/drivers/virtio/virtio.ko"); // ELF32 big-endian
    REQUIRE(virtio.ok());
    CHECK(virtio.value() == std::vector<std::string> { "virtio_ring" });

    auto resolved = initramfs::resolve_modules(modules, { "virtio_blk", "virtio-pci", "ext4" });
    REQUIRE(resolved.ok());
    auto names = names_of(resolved.value());
    CHECK(names == std::vector<std::string> { "virtio_ring", "virtio", "virtio_blk", "virtio_pci_modern_dev", "virtio_pci" });
    auto const& modules_found = resolved.value();
    CHECK(modules_found[0].path == modules + "/kernel/drivers/virtio/virtio_ring.ko");
    CHECK(modules_found[0].reason == "dependency of virtio");
    CHECK(modules_found[1].reason == "dependency of virtio_blk");
    CHECK(modules_found[2].reason == "extra_modules");
    CHECK(modules_found[3].path == modules + "/kernel/drivers/virtio/virtio-pci-modern-dev.ko");
    CHECK(modules_found[3].reason == "dependency of virtio_pci");

    auto requested = initramfs::resolve_module_requests(modules, { { "virtio_blk", "driver of /sys/block/vda" } });
    REQUIRE(requested.ok());
    CHECK(requested.value().back().reason == "driver of /sys/block/vda");
}

TEST_CASE("module resolution: modules.dep is preferred, .ko.zst and .ko.gz are read")
{
    TempDir dir;
    std::string modules = dir / "6.1.0-test";
    write_module_tree(modules);
    SUBCASE("modules.dep")
    {
        // A dependency the .modinfo files do not have proves modules.dep was used.
        write_file(modules + "/modules.dep",
            "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko kernel/extra/helper.ko\n"
            "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
            "kernel/drivers/virtio/virtio_ring.ko:\n"
            "kernel/extra/helper.ko:\n");
        auto resolved = initramfs::resolve_modules(modules, { "virtio_blk" });
        REQUIRE(resolved.ok());
        CHECK(names_of(resolved.value()) == std::vector<std::string> { "virtio_ring", "virtio", "helper", "virtio_blk" });
        CHECK(resolved.value()[2].path == modules + "/kernel/extra/helper.ko");
        auto missing = initramfs::resolve_modules(modules, { "virtio_pci" });
        REQUIRE_FALSE(missing.ok());
        CHECK(missing.error().message().find("not in " + modules + "/modules.dep") != std::string::npos);
    }
    SUBCASE("compressed modules")
    {
        std::string ring = modules + "/kernel/drivers/virtio/virtio_ring.ko";
        write_file(ring + ".zst", compressed(read_file(ring), Compression::Zstd));
        ::unlink(ring.c_str());
        std::string virtio = modules + "/kernel/drivers/virtio/virtio.ko";
        write_file(virtio + ".gz", compressed(read_file(virtio), Compression::Gzip));
        ::unlink(virtio.c_str());
        write_file(modules + "/kernel/drivers/virtio/leaf.ko.zst", compressed(synthetic_module(modinfo_text("leaf", "virtio")), Compression::Zstd));
        auto resolved = initramfs::resolve_modules(modules, { "leaf" });
        REQUIRE(resolved.ok());
        CHECK(names_of(resolved.value()) == std::vector<std::string> { "virtio_ring", "virtio", "leaf" });
        CHECK(resolved.value()[0].path == ring + ".zst");
        CHECK(resolved.value()[1].path == virtio + ".gz");
    }
}

TEST_CASE("module resolution: errors for .ko.xz without modules.dep, unknown modules and cycles")
{
    TempDir dir;
    std::string modules = dir / "6.12.0-test";
    write_module_tree(modules);
    SUBCASE(".ko.xz needs depmod")
    {
        write_file(modules + "/kernel/drivers/block/xzmod.ko.xz", std::string("\xfd" "7zXZ\0", 6) + "not really xz");
        auto resolved = initramfs::resolve_modules(modules, { "xzmod" });
        REQUIRE_FALSE(resolved.ok());
        CHECK(resolved.error().errno_code() == ENOTSUP);
        CHECK(resolved.error().message() == "module xzmod: " + modules + "/kernel/drivers/block/xzmod.ko.xz is xz-compressed and kdumpbox has no xz decoder to read its dependencies from .modinfo; run `depmod 6.12.0-test` so " + modules + "/modules.dep exists");
    }
    SUBCASE("unknown module")
    {
        auto resolved = initramfs::resolve_modules(modules, { "no_such_driver" });
        REQUIRE_FALSE(resolved.ok());
        CHECK(resolved.error().errno_code() == ENOENT);
        CHECK(resolved.error().message() == "module no_such_driver: not found: no no_such_driver.ko, .ko.xz, .ko.zst or .ko.gz under " + modules + ", and not built in; is it the right kernel version?");
        write_file(modules + "/kernel/a.ko", synthetic_module(modinfo_text("a", "ghost")));
        auto dependency = initramfs::resolve_modules(modules, { "a" });
        REQUIRE_FALSE(dependency.ok());
        CHECK(dependency.error().message().find("module ghost (dependency of a): not found") == 0);
        CHECK_FALSE(initramfs::resolve_modules(dir / "nowhere", { "a" }).ok());
    }
    SUBCASE("a cycle is reported, not followed")
    {
        write_file(modules + "/kernel/a.ko", synthetic_module(modinfo_text("a", "b")));
        write_file(modules + "/kernel/b.ko", synthetic_module(modinfo_text("b", "c")));
        write_file(modules + "/kernel/c.ko", synthetic_module(modinfo_text("c", "a,virtio_ring")));
        auto resolved = initramfs::resolve_modules(modules, { "a" });
        REQUIRE_FALSE(resolved.ok());
        CHECK(resolved.error().message() == "module dependency cycle in " + modules + ": a -> b -> c -> a");
        write_file(modules + "/kernel/self.ko", synthetic_module(modinfo_text("self", "self")));
        CHECK_FALSE(initramfs::resolve_modules(modules, { "self" }).ok());
    }
    SUBCASE("built-in modules resolve to nothing")
    {
        auto resolved = initramfs::resolve_modules(modules, { "ext4", "rng-core" });
        REQUIRE(resolved.ok());
        CHECK(resolved.value().empty());
    }
    SUBCASE("a file that is not a module")
    {
        write_file(modules + "/kernel/junk.ko", "not an ELF file at all");
        auto resolved = initramfs::resolve_modules(modules, { "junk" });
        REQUIRE_FALSE(resolved.ok());
        CHECK(resolved.error().message().find("not an ELF file") != std::string::npos);
        std::string truncated = synthetic_module(modinfo_text("cut", ""));
        truncated.resize(truncated.size() - 70);
        write_file(modules + "/kernel/cut.ko", truncated);
        CHECK_FALSE(initramfs::resolve_modules(modules, { "cut" }).ok());
    }
}

TEST_CASE("module resolution on the real Debian kernels")
{
    auto trees = glob_paths("/root/.cache/kdumpbox/vm/kernels/6.1.*/root/lib/modules/*");
    if (trees.empty()) {
        MESSAGE("no Debian 6.1 kernel under /root/.cache/kdumpbox/vm/kernels; skipping");
    } else {
        auto resolved = initramfs::resolve_modules(trees.front(), { "virtio_blk", "virtio_pci" });
        REQUIRE(resolved.ok());
        auto names = names_of(resolved.value());
        MESSAGE("6.1 load order: ", [&] { std::string s; for (auto const& n : names) s += n + " "; return s; }());
        for (auto const& dependency : { "virtio", "virtio_ring" }) {
            CHECK(position(names, dependency) < position(names, "virtio_blk"));
            CHECK(position(names, dependency) < position(names, "virtio_pci"));
        }
        CHECK(position(names, "virtio_ring") < position(names, "virtio"));
        CHECK(position(names, "virtio_pci_modern_dev") < position(names, "virtio_pci"));
        CHECK(position(names, "virtio_pci_legacy_dev") < position(names, "virtio_pci"));
        CHECK(names.size() == 6);
    }

    auto newer = glob_paths("/root/.cache/kdumpbox/vm/kernels/6.12.*/root/usr/lib/modules/*");
    if (newer.empty()) {
        MESSAGE("no Debian 6.12 kernel under /root/.cache/kdumpbox/vm/kernels; skipping");
        return;
    }
    // virtio_pci is built in there; virtio_blk is a .ko.xz and the .deb has no modules.dep.
    auto builtin = initramfs::resolve_modules(newer.front(), { "virtio_pci", "virtio" });
    REQUIRE(builtin.ok());
    CHECK(builtin.value().empty());
    auto xz = initramfs::resolve_modules(newer.front(), { "virtio_blk" });
    REQUIRE_FALSE(xz.ok());
    CHECK(xz.error().message().find("run `depmod") != std::string::npos);
}

// A fake sysfs: a virtio disk with a partition, and a dm-crypt device on it.
TEST_CASE("module list of a block device from a fake sysfs")
{
    TempDir dir;
    std::string sys = dir / "sys";
    std::string pci = sys + "/devices/pci0000:00/0000:00:04.0";
    std::string virtio = pci + "/virtio1";
    std::string vda = virtio + "/block/vda";
    make_directories(vda + "/vda1");
    write_file(vda + "/vda1/partition", "1\n");
    write_file(vda + "/dev", "254:0\n");
    make_symlink(virtio, vda + "/device");
    make_directories(sys + "/module/virtio_blk");
    make_directories(sys + "/module/virtio_pci");
    make_directories(sys + "/bus/virtio/drivers/virtio_blk");
    make_directories(sys + "/bus/pci/drivers/virtio-pci");
    make_symlink("../../../../module/virtio_blk", sys + "/bus/virtio/drivers/virtio_blk/module");
    make_symlink("../../../../module/virtio_pci", sys + "/bus/pci/drivers/virtio-pci/module");
    make_symlink("../../../../bus/virtio/drivers/virtio_blk", virtio + "/driver");
    make_symlink("../../../bus/pci/drivers/virtio-pci", pci + "/driver");
    // A built-in driver: a driver link but no module link.
    make_directories(sys + "/bus/pci/drivers/pcieport");
    make_symlink(sys + "/bus/pci/drivers/pcieport", sys + "/devices/pci0000:00/driver");
    make_symlink("../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda1", sys + "/dev/block/254:1");
    make_symlink("../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda", sys + "/class/block/vda");
    make_symlink("../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda1", sys + "/class/block/vda1");

    std::vector<std::string> expected { "virtio_blk", "virtio_pci" };
    CHECK(initramfs::block_device_modules(sys, "254:1").value() == expected);
    CHECK(initramfs::block_device_modules(sys, "vda").value() == expected);
    CHECK(initramfs::block_device_modules(sys + "/", "/dev/vda1").value() == expected);

    // dm-crypt over vda1.
    std::string dm = sys + "/devices/virtual/block/dm-0";
    make_directories(dm + "/dm");
    write_file(dm + "/dm/uuid", "CRYPT-LUKS2-0123456789abcdef-root\n");
    make_directories(dm + "/slaves");
    make_symlink("../../../../pci0000:00/0000:00:04.0/virtio1/block/vda/vda1", dm + "/slaves/vda1");
    make_symlink("../../devices/virtual/block/dm-0", sys + "/dev/block/253:0");
    CHECK(initramfs::block_device_modules(sys, "253:0").value() == std::vector<std::string> { "dm_mod", "dm_crypt", "virtio_blk", "virtio_pci" });

    auto missing = initramfs::block_device_modules(sys, "/dev/nvme9n9");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message() == "/dev/nvme9n9: no such block device in " + sys + " (looked for " + sys + "/class/block/nvme9n9)");
}

// ---------------------------------------------------------------- needed libraries

TEST_CASE("needed libraries: a static executable needs nothing")
{
    if (::access("/bin/busybox", R_OK) != 0) {
        MESSAGE("/bin/busybox is absent; skipping");
        return;
    }
    auto libraries = initramfs::shared_libraries("/bin/busybox");
    REQUIRE(libraries.ok());
    CHECK(libraries.value().empty());
}

TEST_CASE("needed libraries of a dynamic executable: loader and libc, also under an injected root")
{
    std::string program = ::access("/usr/bin/python3", R_OK) == 0 ? "/usr/bin/python3" : "/bin/ls";
    auto libraries = initramfs::shared_libraries(program);
    REQUIRE(libraries.ok());
    bool has_libc = false, has_loader = false;
    for (auto const& library : libraries.value()) {
        CAPTURE(library.path);
        CHECK(library.path.front() == '/');
        CHECK(library.source == library.path);
        if (library.path.ends_with("/libc.so.6"))
            has_libc = true;
        if (library.needed_by == "(PT_INTERP)")
            has_loader = true;
    }
    CHECK(has_libc);
    CHECK(has_loader);

    // The same closure found under a copy of those files in a fake root.
    TempDir dir;
    auto copy_into_root = [&](std::string const& path) { write_file(dir.path + path, read_file(path), 0755); };
    copy_into_root(program);
    for (auto const& library : libraries.value())
        copy_into_root(library.path);
    auto rooted = initramfs::shared_libraries(dir.path + program, dir.path);
    REQUIRE(rooted.ok());
    REQUIRE(rooted.value().size() == libraries.value().size());
    for (size_t index = 0; index < rooted.value().size(); ++index) {
        CHECK(rooted.value()[index].path == libraries.value()[index].path);
        CHECK(rooted.value()[index].source == dir.path + libraries.value()[index].path);
    }

    // Without libc the error names it and where it looked.
    for (auto const& library : libraries.value()) {
        if (library.path.ends_with("/libc.so.6"))
            ::unlink((dir.path + library.path).c_str());
    }
    auto broken = initramfs::shared_libraries(dir.path + program, dir.path);
    REQUIRE_FALSE(broken.ok());
    CHECK(broken.error().message().find("needs libc.so.6, which is in none of (under " + dir.path + ")") != std::string::npos);
    CHECK_FALSE(initramfs::shared_libraries(dir / "missing").ok());
}

// ---------------------------------------------------------------- the image

namespace {

struct ImageFixture {
    TempDir dir;
    initramfs::InitramfsSpec spec;

    ImageFixture()
    {
        std::string modules = dir / "lib/modules/6.1.0-test";
        write_module_tree(modules);
        write_file(dir / "kdumpbox", "not really an executable, but it will do\n", 0755);
        write_file(dir / "hooks/pre.sh", "#!/bin/sh\necho pre\n", 0755);
        spec.kdumpbox_binary = dir / "kdumpbox";
        spec.applets = { "collector", "kexec", "reboot" };
        spec.kdump_conf = "ext4 UUID=1234\npath /var/crash\n";
        spec.modules_dir = modules;
        spec.modules = initramfs::resolve_modules(modules, { "virtio_blk" }).value();
        spec.hooks = { dir / "hooks/pre.sh" };
        spec.extra_files = { { "/etc/kdump/id_ecdsa", "", "KEY", 0600, "sshkey" } };
        spec.compression = { Compression::Zstd, 3 };
    }
};

} // namespace

TEST_CASE("initramfs image: contents, modules, load order and manifest")
{
    ImageFixture fixture;
    std::string output = fixture.dir / "out/initrd.img";
    make_directories(fixture.dir / "out");
    auto built = initramfs::build_initramfs(fixture.spec, output);
    REQUIRE(built.ok());
    auto const& result = built.value();
    std::string image = read_file(output);
    CHECK(result.compressed_bytes == image.size());
    CHECK(result.compression == Compression::Zstd);
    std::string plain = zstd_decompress(image);
    CHECK(result.uncompressed_bytes == plain.size());
    auto map = by_name(parse_newc(plain));

    CHECK(map["init"].mode == 0100755);
    CHECK(map["init"].data == read_file(fixture.spec.kdumpbox_binary));
    for (auto const& applet : { "collector", "kexec", "reboot" }) {
        CHECK(map[std::string("bin/") + applet].mode == 0120777);
        CHECK(map[std::string("bin/") + applet].data == "/init");
    }
    CHECK(map["etc/kdump.conf"].data == fixture.spec.kdump_conf);
    CHECK(map["dev/console"].mode == 020600);
    CHECK(map["dev/console"].rdev_major == 5);
    CHECK(map["dev/console"].rdev_minor == 1);
    for (auto const& directory : { "proc", "sys", "dev", "tmp", "mnt", "run", "etc", "bin" })
        CHECK((map[directory].mode & 0170000) == 040000);
    CHECK(map["tmp"].mode == 041777);
    CHECK_FALSE(map.contains("var/crash"));
    CHECK(map["lib/modules/6.1.0-test/kernel/drivers/virtio/virtio.ko"].data == read_file(fixture.spec.modules_dir + "/kernel/drivers/virtio/virtio.ko"));
    CHECK(map["lib/modules/load-order"].data
        == "/lib/modules/6.1.0-test/kernel/drivers/virtio/virtio_ring.ko\n"
           "/lib/modules/6.1.0-test/kernel/drivers/virtio/virtio.ko\n"
           "/lib/modules/6.1.0-test/kernel/drivers/block/virtio_blk.ko\n");
    std::string hook = fixture.spec.hooks.front().substr(1);
    CHECK(map[hook].data == "#!/bin/sh\necho pre\n");
    CHECK(map[hook].mode == 0100755);
    CHECK(map.contains("bin/sh")); // the hook's interpreter came along
    CHECK(map["etc/kdump/id_ecdsa"].mode == 0100600);

    // The manifest lists every entry with a reason.
    CHECK(result.manifest.size() + 1 == map.size()); // the trailer is not in it
    std::map<std::string, initramfs::ManifestEntry> manifest;
    for (auto const& item : result.manifest)
        manifest[item.path] = item;
    CHECK(manifest["/init"].reason == "kdumpbox (" + fixture.spec.kdumpbox_binary + ")");
    CHECK(manifest["/bin/kexec"].detail == "/init");
    CHECK(manifest["/dev/console"].detail == "5:1");
    CHECK(manifest["/lib/modules/6.1.0-test/kernel/drivers/virtio/virtio.ko"].reason == "module virtio: dependency of virtio_blk");
    CHECK(manifest["/bin/sh"].reason == "interpreter of " + fixture.spec.hooks.front());
    CHECK(manifest["/etc/kdump/id_ecdsa"].reason == "sshkey");
    CHECK(manifest["/lib/modules"].reason == "parent directory");
    for (auto const& item : result.manifest) {
        CAPTURE(item.path);
        CHECK_FALSE(item.reason.empty());
    }
    std::string listing = initramfs::format_manifest(result.manifest);
    CHECK(listing.find("crw-------         0  /dev/console (5:1)  (initial console (before devtmpfs))\n") != std::string::npos);
    CHECK(listing.find("drwxrwxrwt         0  /tmp  (scratch space)\n") != std::string::npos);
    CHECK(listing.find("lrwxrwxrwx         5  /bin/kexec -> /init  (applet)\n") != std::string::npos);

    // Written atomically: no temporary left beside it, and root-only.
    struct stat status;
    REQUIRE(::stat(output.c_str(), &status) == 0);
    CHECK((status.st_mode & 07777) == 0600);
    CHECK(glob_paths(output + ".tmp-*").empty());
}

TEST_CASE("initramfs image: same inputs, same bytes and digest; any change, a new digest")
{
    ImageFixture fixture;
    std::string first = fixture.dir / "first.img";
    std::string second = fixture.dir / "second.img";
    auto one = initramfs::build_initramfs(fixture.spec, first);
    auto two = initramfs::build_initramfs(fixture.spec, second);
    REQUIRE(one.ok());
    REQUIRE(two.ok());
    CHECK(read_file(first) == read_file(second));
    CHECK(one.value().inputs_digest.size() == 64);
    CHECK(one.value().inputs_digest == two.value().inputs_digest);
    CHECK(initramfs::inputs_digest(fixture.spec).value() == one.value().inputs_digest);

    auto changed = [&](auto&& edit) {
        initramfs::InitramfsSpec spec = fixture.spec;
        edit(spec);
        return initramfs::inputs_digest(spec).value();
    };
    std::string digest = one.value().inputs_digest;
    CHECK(changed([](auto& spec) { spec.kdump_conf += "core_collector makedumpfile -d 31\n"; }) != digest);
    CHECK(changed([](auto& spec) { spec.applets.push_back("mount-and-save"); }) != digest);
    CHECK(changed([](auto& spec) { spec.compression.compression = Compression::Gzip; }) != digest);
    CHECK(changed([](auto& spec) { spec.compression.level = 5; }) != digest);
    CHECK(changed([](auto& spec) { spec.mtime = 1; }) != digest);
    CHECK(changed([](auto& spec) { spec.modules.pop_back(); }) != digest);
    // A file's bytes and its mode.
    write_file(fixture.dir / "hooks/pre.sh", "#!/bin/sh\necho PRE\n", 0755);
    CHECK(changed([](auto&) {}) != digest);
    write_file(fixture.dir / "hooks/pre.sh", "#!/bin/sh\necho pre\n", 0700);
    CHECK(changed([](auto&) {}) != digest);
    write_file(fixture.dir / "hooks/pre.sh", "#!/bin/sh\necho pre\n", 0755);
    CHECK(changed([](auto&) {}) == digest);

    // Each compression builds and unpacks to the same archive.
    std::string plain = zstd_decompress(read_file(first));
    for (auto compression : { Compression::Gzip, Compression::Lz4, Compression::None }) {
        initramfs::InitramfsSpec spec = fixture.spec;
        spec.compression = { compression, 0 };
        std::string path = fixture.dir / "other.img";
        REQUIRE(initramfs::build_initramfs(spec, path).ok());
        std::string image = read_file(path);
        std::string unpacked = compression == Compression::Gzip ? gzip_decompress(image) : compression == Compression::Lz4 ? lz4_legacy_decompress(image) : image;
        CHECK(unpacked == plain);
    }
}

TEST_CASE("initramfs image: refused inputs leave no output")
{
    ImageFixture fixture;
    std::string output = fixture.dir / "refused.img";
    SUBCASE("missing /init")
    {
        fixture.spec.kdumpbox_binary = fixture.dir / "nope";
        auto built = initramfs::build_initramfs(fixture.spec, output);
        REQUIRE_FALSE(built.ok());
        CHECK(built.error().message() == "initramfs: " + fixture.dir / "nope" + " (for /init): no such file");
    }
    SUBCASE("relative extra_bins")
    {
        fixture.spec.extra_bins = { "bin/foo" };
        CHECK(initramfs::build_initramfs(fixture.spec, output).error().message() == "bin/foo: extra_bins must be an absolute path (it is placed at the same path in the initramfs)");
    }
    SUBCASE("an applet named like a path")
    {
        fixture.spec.applets = { "../x" };
        CHECK_FALSE(initramfs::build_initramfs(fixture.spec, output).ok());
    }
    SUBCASE("an unwritable output directory")
    {
        CHECK_FALSE(initramfs::build_initramfs(fixture.spec, fixture.dir / "no/such/dir/x.img").ok());
    }
    struct stat status;
    CHECK(::stat(output.c_str(), &status) != 0);
    CHECK(glob_paths(output + ".tmp-*").empty());
}

TEST_CASE("initramfs image: extra_bins bring their libraries")
{
    std::string program = ::access("/bin/ls", R_OK) == 0 ? "/bin/ls" : "/usr/bin/python3";
    ImageFixture fixture;
    fixture.spec.extra_bins = { program };
    auto plan = initramfs::plan_initramfs(fixture.spec);
    REQUIRE(plan.ok());
    CHECK(plan.value().archive.contains(program));
    bool has_libc = false;
    for (auto const& item : plan.value().manifest) {
        if (item.path.ends_with("/libc.so.6")) {
            has_libc = true;
            CHECK(item.reason.find("library of ") == 0);
        }
    }
    CHECK(has_libc);
}

// The real image: the release binary plus 6.1's virtio_blk chain, zstd.
TEST_CASE("initramfs image size with the release binary and the Debian 6.1 virtio_blk chain")
{
    std::string binary;
    if (char const* given = std::getenv("KDUMPBOX_RELEASE_BINARY"))
        binary = given;
    else if (auto self = core::self_executable_path(); self.ok())
        binary = self.value().substr(0, self.value().rfind('/')) + "/../../release/kdumpbox";
    auto trees = glob_paths("/root/.cache/kdumpbox/vm/kernels/6.1.*/root/lib/modules/*");
    if (::access(binary.c_str(), R_OK) != 0 || trees.empty()) {
        MESSAGE("no release binary (", binary, "; set KDUMPBOX_RELEASE_BINARY) or no Debian 6.1 kernel; skipping the size measurement");
        return;
    }
    TempDir dir;
    initramfs::InitramfsSpec spec;
    spec.kdumpbox_binary = binary;
    spec.applets = { "collector", "kexec", "reboot" };
    spec.kdump_conf = "ext4 UUID=00000000-0000-0000-0000-000000000000\npath /var/crash\n";
    spec.modules_dir = trees.front();
    spec.modules = initramfs::resolve_module_requests(trees.front(), { { "virtio_blk", "driver of /sys/block/vda" }, { "virtio_pci", "driver of /sys/block/vda" } }).value();
    auto built = initramfs::build_initramfs(spec, dir / "initrd.img");
    REQUIRE(built.ok());
    uint64_t inputs = 0;
    for (auto const& item : built.value().manifest)
        inputs += item.kind == 'f' ? item.size : 0;
    MESSAGE("release image (zstd 19): ", built.value().compressed_bytes, " bytes compressed, ", built.value().uncompressed_bytes, " uncompressed; ", spec.modules.size(),
        " modules; file bytes ", inputs);
    CHECK(built.value().compressed_bytes < built.value().uncompressed_bytes);
    CHECK(built.value().compressed_bytes < 2u << 20);
}
