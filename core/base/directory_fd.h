// SPDX-License-Identifier: GPL-2.0-or-later
// A directory held open, so that the names made in it land in *it*, not
// wherever a path string leads by the time the name is made. On a shared
// target (an NFS export other clients write to, a file system a user can
// write) a path can be redirected between two calls by renaming a
// directory and planting a symbolic link; a descriptor cannot. Everything
// here is relative to the descriptor (openat, mkdirat, renameat2,
// unlinkat), and no symbolic link is ever followed below it.
#pragma once

#include "core/base/error.h"
#include "core/base/fd.h"

#include <optional>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/types.h>

namespace core {

class DirectoryFd {
public:
    DirectoryFd() = default;

    // The directory at path, resolved as usual, links included: it is the
    // caller's own (a mount point the dumper made, a directory the user
    // named, as makedumpfile's DUMPFILE). What is made below it never
    // follows a link.
    static Result<DirectoryFd> open(std::string const& path);

    enum class Missing { Refuse, Create };
    // The directory `relative` names below this one, opened one component
    // at a time with O_NOFOLLOW: a symbolic link anywhere is refused
    // (ELOOP, naming it), ".." is refused (EINVAL), "" and "." are
    // skipped, so the result is always beneath this directory (what
    // openat2's RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH does, on every
    // kernel, and able to make the missing components: with
    // Missing::Create they are made with `mode`).
    Result<DirectoryFd> open_beneath(std::string_view relative, Missing missing, mode_t mode = 0755) const;

    // A new directory NAME (mkdirat: EEXIST if any entry has the name, a
    // link included), opened without following, mode exactly `mode`.
    Result<DirectoryFd> make_directory(std::string const& name, mode_t mode) const;

    // A new file NAME: O_CREAT | O_EXCL | O_NOFOLLOW, so an existing entry
    // of any kind (a planted link too) is EEXIST and nothing is written
    // through a link. The error names the entry, and says when it is a link.
    Result<UniqueFd> create_file(std::string const& name, int flags, mode_t mode) const;
    // An existing file NAME, never through a link (ELOOP, saying so).
    Result<UniqueFd> open_file(std::string const& name, int flags) const;
    // lstat of NAME (fstatat with AT_SYMLINK_NOFOLLOW); nullopt if absent
    // (or unreadable).
    std::optional<struct stat> entry_status(std::string const& name) const;
    // unlinkat: the entry itself, a link is removed, never its target.
    Result<void> remove_file(std::string const& name) const;

    enum class Replace { No, Yes };
    // renameat2 within this directory. Replace::No never replaces an
    // entry that exists (RENAME_NOREPLACE; a check-then-rename on file
    // systems without it). A link at `to` is replaced, never followed.
    Result<void> rename(std::string const& from, std::string const& to, Replace replace) const;
    // fsync of the directory, so the names made in it survive a crash;
    // EINVAL (vfat on old kernels) is not an error.
    Result<void> sync() const;

    Result<DirectoryFd> duplicate() const;

    bool valid() const { return m_fd.valid(); }
    int fd() const { return m_fd.get(); }
    // For messages, and for programs that take paths: the path it was
    // opened by.
    std::string const& path() const { return m_path; }
    std::string path_of(std::string_view name) const;

private:
    DirectoryFd(UniqueFd fd, std::string path) : m_fd(std::move(fd)), m_path(std::move(path)) { }
    UniqueFd m_fd;
    std::string m_path;
};

// The error for a symbolic link where kdumpbox makes or writes a file or
// directory: one line, naming it and what to do.
Error symlink_refused_error(std::string const& path);

} // namespace core
