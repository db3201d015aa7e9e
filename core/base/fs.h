// SPDX-License-Identifier: GPL-2.0-or-later
// File-system helpers shared by the installer, the initramfs builder, the
// capture and the host side. Writing a file safely is core/base/safe_file.h.
#pragma once

#include "core/base/error.h"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace core {

// The running executable (readlink /proc/self/exe).
Result<std::string> self_executable_path();

std::string path_join(std::string_view directory, std::string_view name);
// The directory holding path: "/a/b" -> "/a", "b" -> ".", "/b" -> "/".
std::string parent_directory(std::string_view path);
// The last component: "/a/b" -> "b", "/a/b/" -> "b", "b" -> "b", "/" -> "/".
std::string_view base_name(std::string_view path);

// Whether path names anything: stat(2) succeeds (links followed, so a
// dangling link does not exist), or with path_exists_no_follow lstat(2)
// (a dangling link exists).
bool path_exists(std::string const& path);
bool path_exists_no_follow(std::string const& path);
// Whether path is a directory, a regular file (stat(2), links followed; any
// error answers false).
bool is_directory(std::string const& path);
bool is_regular_file(std::string const& path);
// realpath(3): absolute, every link resolved.
Result<std::string> real_path(std::string const& path);
// The target of a symbolic link, or nullopt if link_path is not one.
std::optional<std::string> read_symlink(std::string const& link_path);
// The names in a directory, sorted, without "." and "..".
Result<std::vector<std::string>> list_directory(std::string const& path);

// fsync(2) of a directory, so that names made in it survive a crash. EINVAL
// (a file system that cannot, such as vfat on old kernels) is not an error:
// its metadata is durable after the final syncfs at unmount.
Result<void> fsync_directory(std::string const& directory);
// rename(2), then the new name's directory is synced. Either can fail: a
// failed directory sync means the new name may not survive a crash, which
// the caller must hear about (the file does have its name meanwhile).
Result<void> rename_durably(std::string const& from, std::string const& to);
// mkdir -p: every missing directory of path, path itself included, with
// `mode`. Existing directories are fine; anything else in the way is an
// error naming it (ENOTDIR).
Result<void> make_directories(std::string const& path, mode_t mode = 0755);
// make_directories (0755) of every missing directory above path, not path
// itself.
Result<void> make_parent_directories(std::string const& path);

enum class ReplaceExisting { No, Yes };

// Creates directory/NAME -> target for every name. Checks every name first
// and changes nothing if one exists and is not already this link (unless
// replacing), so a refused install leaves the directory as it was.
// Returns how many links it created or replaced.
Result<size_t> install_symlinks(std::string const& directory, std::string const& target, std::span<std::string_view const> names, ReplaceExisting replace);

} // namespace core
