// SPDX-License-Identifier: GPL-2.0-or-later
// The newc ("070701") cpio format the kernel unpacks into its initramfs
// (Documentation/driver-api/early-userspace/buffer-format.rst), written
// deterministically. The whole-archive compressions are core/compress's.
//
// Determinism: entries are written sorted by path, parents are created
// implicitly, uid/gid are 0, every mtime is the one the caller gives,
// inode numbers count up from 1 in path order, and the compressors are
// single-threaded with fixed parameters. The same entries and options
// always give the same bytes.
#pragma once

#include "core/base/error.h"
#include "core/base/stream_sink.h"
#include "core/compress/compress.h"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace core::cpio {

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
    Result<uint64_t> write(StreamSink& sink) const;
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
