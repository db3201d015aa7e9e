// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/fs.h"

#include "core/base/fd.h"

#include "core/base/strings.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace core {

std::optional<std::string> read_symlink(std::string const& link_path)
{
    char buffer[PATH_MAX];
    ssize_t length = ::readlink(link_path.c_str(), buffer, sizeof buffer);
    if (length < 0 || static_cast<size_t>(length) >= sizeof buffer)
        return std::nullopt;
    return std::string(buffer, static_cast<size_t>(length));
}

Result<std::string> self_executable_path()
{
    auto path = read_symlink("/proc/self/exe");
    if (!path)
        return Error::from_errno("readlink /proc/self/exe (is /proc mounted?)");
    return *path;
}

std::string path_join(std::string_view directory, std::string_view name)
{
    if (directory.empty())
        return std::string(name);
    if (directory.back() == '/')
        return cat(directory, name);
    return cat(directory, '/', name);
}

std::string_view base_name(std::string_view path)
{
    while (path.size() > 1 && path.back() == '/')
        path.remove_suffix(1);
    auto slash = path.rfind('/');
    return slash == std::string_view::npos || path.size() == 1 ? path : path.substr(slash + 1);
}

bool path_exists(std::string const& path)
{
    struct stat status;
    return ::stat(path.c_str(), &status) == 0;
}

bool path_exists_no_follow(std::string const& path)
{
    struct stat status;
    return ::lstat(path.c_str(), &status) == 0;
}

std::string parent_directory(std::string_view path)
{
    while (path.size() > 1 && path.back() == '/')
        path.remove_suffix(1);
    auto slash = path.rfind('/');
    if (slash == std::string_view::npos)
        return ".";
    if (slash == 0)
        return "/";
    return std::string(path.substr(0, slash));
}

bool is_directory(std::string const& path)
{
    struct stat status;
    return ::stat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode);
}

bool is_regular_file(std::string const& path)
{
    struct stat status;
    return ::stat(path.c_str(), &status) == 0 && S_ISREG(status.st_mode);
}

Result<std::string> real_path(std::string const& path)
{
    char* resolved = ::realpath(path.c_str(), nullptr);
    if (resolved == nullptr)
        return Error::from_errno(path);
    std::string out(resolved);
    std::free(resolved);
    return out;
}

Result<std::vector<std::string>> list_directory(std::string const& path)
{
    DIR* directory = ::opendir(path.c_str());
    if (directory == nullptr)
        return Error::from_errno(cat("opendir ", path));
    std::vector<std::string> names;
    while (dirent* item = ::readdir(directory)) {
        std::string_view name = item->d_name;
        if (name != "." && name != "..")
            names.emplace_back(name);
    }
    ::closedir(directory);
    std::sort(names.begin(), names.end());
    return names;
}

Result<void> fsync_directory(std::string const& directory)
{
    auto fd = TRY(open_file(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (::fsync(fd.get()) != 0 && errno != EINVAL)
        return Error::from_errno(cat("fsync directory ", directory));
    return {};
}

Result<void> rename_durably(std::string const& from, std::string const& to)
{
    if (::rename(from.c_str(), to.c_str()) != 0)
        return Error::from_errno(cat("rename ", from, " to ", to));
    return fsync_directory(parent_directory(to));
}

Result<size_t> install_symlinks(std::string const& directory, std::string const& target, std::span<std::string_view const> names, ReplaceExisting replace)
{
    struct stat directory_status;
    if (::stat(directory.c_str(), &directory_status) != 0)
        return Error::from_errno(cat(directory, " (create the directory first)"));
    if (!S_ISDIR(directory_status.st_mode))
        return Error::with_code(ENOTDIR, cat(directory, ": not a directory"));

    std::vector<std::string_view> to_create;
    std::vector<std::string> conflicts;
    for (auto name : names) {
        std::string link_path = path_join(directory, name);
        struct stat link_status;
        if (::lstat(link_path.c_str(), &link_status) != 0) {
            if (errno != ENOENT)
                return Error::from_errno(link_path);
            to_create.push_back(name);
            continue;
        }
        if (read_symlink(link_path) == target)
            continue; // Already ours.
        if (replace == ReplaceExisting::No)
            conflicts.push_back(link_path);
        else
            to_create.push_back(name);
    }
    if (!conflicts.empty()) {
        std::string list;
        for (auto const& conflict : conflicts)
            list += cat(list.empty() ? "" : ", ", conflict);
        return Error::with_code(EEXIST, cat(list, (conflicts.size() == 1 ? " exists" : " exist"), " and not as a link to ", target,
            "; nothing was changed; remove ", (conflicts.size() == 1 ? "it" : "them"), " or add --force to replace"));
    }
    for (auto name : to_create) {
        // Link beside the final name, then rename over it: never a moment
        // without a working command, and never a half-made link.
        std::string link_path = path_join(directory, name);
        std::string temporary_path = path_join(directory, cat('.', name, ".kdumpbox-new"));
        ::unlink(temporary_path.c_str());
        if (::symlink(target.c_str(), temporary_path.c_str()) != 0)
            return Error::from_errno(cat("symlink ", temporary_path));
        if (::rename(temporary_path.c_str(), link_path.c_str()) != 0) {
            auto error = Error::from_errno(cat("rename ", temporary_path, " to ", link_path));
            ::unlink(temporary_path.c_str());
            return error;
        }
    }
    return to_create.size();
}

Result<void> make_directories(std::string const& path, mode_t mode)
{
    if (path.empty())
        return {};
    size_t position = 0;
    while (position != std::string::npos) {
        position = path.find('/', position + 1);
        std::string prefix = path.substr(0, position);
        if (prefix.empty())
            continue;
        if (::mkdir(prefix.c_str(), mode) == 0)
            continue;
        if (errno != EEXIST)
            return Error::from_errno(cat("create directory ", prefix));
        struct stat status;
        if (::stat(prefix.c_str(), &status) != 0)
            return Error::from_errno(prefix);
        if (!S_ISDIR(status.st_mode))
            return Error::with_code(ENOTDIR, cat(prefix, " exists and is not a directory"));
    }
    return {};
}

Result<void> make_parent_directories(std::string const& path)
{
    return make_directories(parent_directory(path), 0755);
}


} // namespace core
