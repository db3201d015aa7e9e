// SPDX-License-Identifier: GPL-2.0-or-later
// What the initramfs builder's tests share: scratch trees, a newc reader,
// reference decompressors (the libraries directly, independent of the
// writer), synthetic kernel modules and a module tree.
#pragma once

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/stream_sink.h"
#include "core/compress/compress.h"
#include "initramfs/modules.h"
#include "tests/unit/test_support.h"

#include <algorithm>
#include <cstdlib>
#include <doctest.h>
#include <fcntl.h>
#include <glob.h>
#include <lz4.h>
#include <map>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>
#include <zlib.h>
#include <zstd.h>

namespace initramfs_fixtures {

using core::Compression;

// A scratch directory, with dir / "name" for the paths inside it.
using TempDir = test_support::ScratchDir;

inline void make_directories(std::string const& path)
{
    for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1))
        ::mkdir(path.substr(0, slash).c_str(), 0755);
    ::mkdir(path.c_str(), 0755);
}

inline void write_file(std::string const& path, std::string_view data, mode_t mode = 0644)
{
    make_directories(path.substr(0, path.rfind('/')));
    int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode);
    REQUIRE(fd >= 0);
    REQUIRE(core::write_all(fd, data, path).ok());
    ::close(fd);
    ::chmod(path.c_str(), mode);
}

inline std::string read_file(std::string const& path)
{
    auto text = core::read_text_file(path, 256 << 20);
    REQUIRE(text.ok());
    return text.value();
}

inline void make_symlink(std::string const& target, std::string const& link)
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

inline uint32_t hex_field(std::string const& archive, size_t offset)
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

inline bool all_zero(std::string const& archive, size_t offset, size_t count)
{
    for (size_t index = 0; index < count; ++index) {
        if (archive[offset + index] != '\0')
            return false;
    }
    return true;
}

// Every entry through TRAILER!!! (included), checking magic, alignment and
// that every padding byte is zero and nothing follows the trailer.
inline std::vector<ParsedEntry> parse_newc(std::string const& archive)
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

inline std::map<std::string, ParsedEntry> by_name(std::vector<ParsedEntry> const& entries)
{
    std::map<std::string, ParsedEntry> out;
    for (auto const& entry : entries)
        out[entry.name] = entry;
    return out;
}

// ---- Decompressors (the libraries directly, independent of the writer) ----

inline std::string zstd_decompress(std::string const& compressed)
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

inline std::string gzip_decompress(std::string const& compressed)
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

inline uint32_t le32(std::string const& bytes, size_t offset)
{
    return core::load_uint(reinterpret_cast<uint8_t const*>(bytes.data()) + offset, 4, core::Endian::Little);
}

// The legacy frame as the kernel's unlz4 reads it: magic, then (size,
// block) pairs, each block decompressing to at most 8 MiB.
inline std::string lz4_legacy_decompress(std::string const& compressed, size_t* blocks = nullptr)
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
inline std::string synthetic_module(std::string_view modinfo, bool is_64bit = true, core::Endian endian = core::Endian::Little)
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

inline std::string modinfo_text(std::string_view name, std::string_view depends)
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

inline std::string compressed(std::string const& data, Compression compression)
{
    std::string out;
    core::StringSink sink(out);
    auto compressor = core::make_compressor({ compression, 3, data.size() }, sink);
    REQUIRE(compressor.ok());
    REQUIRE(compressor.value()->write({ reinterpret_cast<uint8_t const*>(data.data()), data.size() }).ok());
    REQUIRE(compressor.value()->finish().ok());
    return out;
}

// virtio_blk -> virtio, virtio_ring; virtio -> virtio_ring; virtio_pci ->
// virtio, virtio_ring, virtio-pci-modern-dev (dash on purpose).
inline void write_module_tree(std::string const& root)
{
    write_file(root + "/kernel/drivers/block/virtio_blk.ko", synthetic_module(modinfo_text("virtio_blk", "virtio,virtio_ring")));
    write_file(root + "/kernel/drivers/virtio/virtio.ko", synthetic_module(modinfo_text("virtio", "virtio_ring"), false, core::Endian::Big));
    write_file(root + "/kernel/drivers/virtio/virtio_ring.ko", synthetic_module(modinfo_text("virtio_ring", "")));
    write_file(root + "/kernel/drivers/virtio/virtio_pci.ko", synthetic_module(modinfo_text("virtio_pci", "virtio_ring,virtio-pci-modern-dev,virtio")));
    write_file(root + "/kernel/drivers/virtio/virtio-pci-modern-dev.ko", synthetic_module(modinfo_text("virtio_pci_modern_dev", "")));
    write_file(root + "/modules.builtin", "kernel/fs/ext4/ext4.ko\nkernel/drivers/char/hw_random/rng-core.ko\n");
}

inline std::vector<std::string> names_of(std::vector<core::initramfs::ModuleFile> const& modules)
{
    std::vector<std::string> out;
    for (auto const& module : modules)
        out.push_back(module.name);
    return out;
}

inline size_t position(std::vector<std::string> const& names, std::string const& name)
{
    return static_cast<size_t>(std::find(names.begin(), names.end(), name) - names.begin());
}

inline std::vector<std::string> glob_paths(std::string const& pattern)
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

} // namespace initramfs_fixtures
