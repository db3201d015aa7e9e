// SPDX-License-Identifier: GPL-2.0-or-later
// The newc ("070701") cpio format the kernel unpacks into its initramfs
// (Documentation/driver-api/early-userspace/buffer-format.rst), written
// deterministically, and the whole-archive compressions the kernel's
// initramfs decompressors accept: zstd, gzip and lz4 in its legacy frame.
//
// Determinism: entries are written sorted by path, parents are created
// implicitly, uid/gid are 0, every mtime is the one the caller gives,
// inode numbers count up from 1 in path order, and the compressors are
// single-threaded with fixed parameters. The same entries and options
// always give the same bytes.
#pragma once

#include "core/base/error.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace core::cpio {

// ---- Output sinks ----

// Where archive bytes go: a file, a compressor in front of a file, a hash,
// a string (tests). finish() flushes whatever the sink buffers and tells
// the next sink to finish.
class Sink {
public:
    virtual ~Sink() = default;
    virtual Result<void> write(std::span<uint8_t const> bytes) = 0;
    virtual Result<void> finish() = 0;
};

// Appends to a string the caller owns.
class StringSink final : public Sink {
public:
    explicit StringSink(std::string& out) : m_out(out) { }
    Result<void> write(std::span<uint8_t const> bytes) override;
    Result<void> finish() override { return {}; }

private:
    std::string& m_out;
};

// write(2)s to a descriptor the caller owns; counts the bytes.
class FdSink final : public Sink {
public:
    FdSink(int fd, std::string what) : m_fd(fd), m_what(std::move(what)) { }
    Result<void> write(std::span<uint8_t const> bytes) override;
    Result<void> finish() override { return {}; }
    uint64_t bytes_written() const { return m_bytes_written; }

private:
    int m_fd;
    std::string m_what;
    uint64_t m_bytes_written { 0 };
};

// ---- Compression ----

enum class Compression { None, Zstd, Gzip, Lz4 };

// "none", "zstd", "gzip", "lz4".
std::string_view compression_name(Compression compression);
// The inverse of compression_name; "gz" and "zst" are accepted too.
Result<Compression> parse_compression(std::string_view name);

struct CompressionOptions {
    Compression compression { Compression::Zstd };
    // 0 picks the default: zstd 19, gzip 9, lz4 (HC) 12. zstd 1..19,
    // gzip 1..9, lz4 1..12.
    int level { 0 };
    // The uncompressed size, if known: zstd records it in the frame and
    // shrinks its window (and so the capture kernel's decompression
    // workspace) to fit a small archive.
    std::optional<uint64_t> pledged_size {};
};

// A sink that compresses everything written to it into `next` (not
// owned; it must outlive the compressor). The formats:
// - zstd: one frame with a checksum;
// - gzip: zlib's gzip wrapper, no file name, mtime 0;
// - lz4: the legacy frame (magic 0x184C2102, then per 8 MiB of input a
//   little-endian compressed size and an LZ4 block), the only lz4 format
//   the kernel's initramfs decompressor reads.
// Compression::None passes bytes through.
// The level make_compressor uses for these options (0 resolved).
int effective_level(CompressionOptions const& options);
Result<std::unique_ptr<Sink>> make_compressor(CompressionOptions const& options, Sink& next);

// Which compression the kernel accepts, from its config file
// (/boot/config-<version>): RD_ZSTD, else RD_GZIP, else RD_LZ4, else none.
struct CompressionChoice {
    Compression compression;
    std::string reason;  // "CONFIG_RD_ZSTD=y in /boot/config-6.1.0"
    std::string warning; // non-empty when nothing usable is enabled
};
CompressionChoice choose_compression(std::string_view kernel_config_text, std::string_view config_name);
Result<CompressionChoice> choose_compression_for_config_file(std::string const& kernel_config_path);

// ---- The archive ----

enum class EntryKind { Directory, File, Symlink, CharDevice };

struct Entry {
    EntryKind kind;
    uint32_t permissions; // the low 12 bits of st_mode (0755, 0644...)
    // File: either the bytes themselves, or a path read when the archive
    // is written (streamed, never held in memory).
    std::string data;
    std::string source_path;
    uint64_t size;        // file bytes, or the symlink target's length
    std::string target;   // Symlink
    uint32_t rdev_major;  // CharDevice
    uint32_t rdev_minor;
    bool implicit;        // a parent directory nobody added explicitly
};

// Paths are given as "/bin/sh" or "bin/sh" and stored as "bin/sh" (the
// form the kernel and cpio -t print). "." and ".." components and empty
// names are refused.
class Archive {
public:
    explicit Archive(uint32_t mtime = 0) : m_mtime(mtime) { }

    Result<void> add_directory(std::string_view path, uint32_t permissions = 0755);
    Result<void> add_file(std::string_view path, std::string data, uint32_t permissions = 0644);
    // Records the file's size now; writing fails if it has changed since.
    // permissions nullopt: the source file's own.
    Result<void> add_file_from_path(std::string_view path, std::string const& source_path, std::optional<uint32_t> permissions = std::nullopt);
    Result<void> add_symlink(std::string_view path, std::string_view target);
    Result<void> add_char_device(std::string_view path, uint32_t major, uint32_t minor, uint32_t permissions = 0600);

    bool contains(std::string_view path) const;
    // Sorted by path; keys are normalised ("bin/sh").
    std::map<std::string, Entry> const& entries() const { return m_entries; }

    // The exact size write() will produce, uncompressed, trailer included.
    uint64_t serialized_size() const;
    // Writes the uncompressed newc stream; finish() is not called (the
    // caller owns the sink chain). Returns the bytes written.
    Result<uint64_t> write(Sink& sink) const;
    // Convenience for tests and small archives: the whole thing in memory.
    Result<std::string> to_bytes(CompressionOptions const& options) const;

    static Result<std::string> normalise_path(std::string_view path);

private:
    Result<void> add_entry(std::string normalised, Entry entry);
    Result<void> ensure_parents(std::string const& normalised);

    uint32_t m_mtime;
    std::map<std::string, Entry> m_entries;
};

} // namespace core::cpio
