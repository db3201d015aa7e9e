// SPDX-License-Identifier: GPL-2.0-or-later
// The one way to write a file that must never be seen half-written (a dump,
// a saved log, a rebuilt stream, a config the host reads back): the bytes go
// to NAME-incomplete, which is fsynced, closed (checked) and renamed to
// NAME, and then NAME's directory is fsynced. Every step's error is
// returned. A file destroyed without commit() keeps its -incomplete name:
// an interrupted writer leaves an obviously incomplete file, never a
// truncated one under the real name (unless its writer asked for it to be
// removed: a half-built file the tool can simply build again).
//
// Every name is made relative to the directory's descriptor (DirectoryFd):
// NAME-incomplete is created O_EXCL | O_NOFOLLOW, renamed and synced in
// that same directory, so no symbolic link is ever written through, and a
// directory renamed away meanwhile takes the file along rather than
// redirecting it.
#pragma once

#include "core/base/directory_fd.h"
#include "core/base/error.h"
#include "core/base/fd.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace core {

class SafeFile {
public:
    SafeFile(SafeFile&& other) noexcept;
    SafeFile& operator=(SafeFile&& other) noexcept;
    ~SafeFile();
    SafeFile(SafeFile const&) = delete;
    SafeFile& operator=(SafeFile const&) = delete;

    // <directory>/<name>, as the capture saves files: refuses (EEXIST) if
    // <name> or <name>-incomplete already exists (a leftover -incomplete is
    // evidence, kept), creates it mode exactly 0600, and commit() never
    // replaces a <name> that appeared meanwhile.
    // A link at either name is refused (ELOOP, symlink_refused_error).
    static Result<SafeFile> create(DirectoryFd const& directory, std::string const& name);
    // The same in the directory at that path (DirectoryFd::open).
    static Result<SafeFile> create(std::string const& directory, std::string const& name);
    // final_path-incomplete, replacing a regular file left over there (a
    // link or anything else there is refused), created with `mode`;
    // commit() renames over an existing final_path (a link there is
    // replaced, never followed). For writers that decided beforehand that
    // replacing is fine (makedumpfile -f, files the tool itself owns).
    enum class Leftover {
        Keep,   // evidence: what was written stays under NAME-incomplete
        Remove, // a file the tool builds again (the capture initramfs)
    };
    static Result<SafeFile> create_replacing(DirectoryFd const& directory, std::string const& name, mode_t mode = 0600, Leftover leftover = Leftover::Keep);
    static Result<SafeFile> create_replacing(std::string const& final_path, mode_t mode = 0600, Leftover leftover = Leftover::Keep);
    // NAME-incomplete as another program wrote it (an external
    // core_collector): set to mode 0600, so that commit() syncs and names
    // it like a file written here. Replaces an existing NAME. A link at
    // NAME-incomplete is refused.
    static Result<SafeFile> adopt(DirectoryFd const& directory, std::string const& name);
    static Result<SafeFile> adopt(std::string const& final_path);

    int fd() const { return m_fd.get(); }
    std::string const& incomplete_path() const { return m_incomplete_path; }
    std::string const& final_path() const { return m_final_path; }
    bool committed() const { return m_committed; }

    Result<void> write(std::span<uint8_t const> bytes);
    Result<void> write(std::string_view text);
    // Copies from input until end of file; returns the bytes copied.
    Result<uint64_t> write_from(int input_fd, std::string_view input_name);

    // fsync, close (checked), rename to the final name (without replacing
    // an existing file, unless made to replace), fsync the directory. After
    // a failed directory sync, calling it again retries only that.
    Result<void> commit();

private:
    enum class Existing { Keep, Replace };
    SafeFile(UniqueFd fd, DirectoryFd directory, std::string name, Existing existing);
    void remove_if_unfinished();

    UniqueFd m_fd;
    DirectoryFd m_directory;
    std::string m_name;
    std::string m_incomplete_path;
    std::string m_final_path;
    Existing m_existing { Existing::Keep };
    Leftover m_leftover { Leftover::Keep };
    bool m_renamed { false };
    bool m_committed { false };
};

// For small files (vmcore-dmesg.txt, kexec-dmesg.log): SafeFile::create,
// write, commit. Returns the final path.
Result<std::string> write_file_safely(std::string const& directory, std::string const& name, std::span<uint8_t const> bytes);
Result<std::string> write_file_safely(std::string const& directory, std::string const& name, std::string_view text);
Result<std::string> write_file_safely(DirectoryFd const& directory, std::string const& name, std::string_view text);

// SafeFile::create_replacing, write, commit: readers of path see the old
// text or the new, never half.
Result<void> write_text_atomically(std::string const& path, std::string_view text, mode_t mode = 0644);

} // namespace core
