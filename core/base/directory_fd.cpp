// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/directory_fd.h"

#include "core/base/fs.h"
#include "core/base/strings.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#    define RENAME_NOREPLACE (1 << 0)
#endif

namespace core {

namespace {

bool is_plain_name(std::string_view name)
{
    return !name.empty() && name.find('/') == std::string_view::npos && name != "." && name != "..";
}

Result<void> check_plain_name(std::string_view name)
{
    if (!is_plain_name(name))
        return Error::invalid(cat("file name '", name, "' is not a plain name"));
    return {};
}

bool is_symlink_at(int directory_fd, std::string const& name)
{
    struct stat status;
    return ::fstatat(directory_fd, name.c_str(), &status, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(status.st_mode);
}

} // namespace

Error symlink_refused_error(std::string const& path)
{
    return Error::with_code(ELOOP, cat(path, " is a symbolic link; kdumpbox never writes through one (on a shared target it could send the dump anywhere): remove the link, or name the real file or directory"));
}

Result<DirectoryFd> DirectoryFd::open(std::string const& path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return Error::from_errno(cat("directory ", path));
    return DirectoryFd(UniqueFd(fd), path);
}

Result<DirectoryFd> DirectoryFd::open_beneath(std::string_view relative, Missing missing, mode_t mode) const
{
    // Component by component rather than openat2(RESOLVE_NO_SYMLINKS |
    // RESOLVE_BENEATH): the same guarantee once ".." is refused, on
    // kernels before 5.6 too, and the walk can make what is missing.
    // Refused before anything is made.
    for (auto part : split(relative, '/')) {
        if (part == "..")
            return Error::invalid(cat("'", relative, "' climbs out of ", m_path, " with '..'; give a path inside it"));
    }
    DirectoryFd current = TRY(duplicate());
    for (auto part : split(relative, '/')) {
        if (part.empty() || part == ".")
            continue;
        std::string component(part);
        std::string shown = current.path_of(component);
        int fd = ::openat(current.fd(), component.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && missing == Missing::Create) {
            if (::mkdirat(current.fd(), component.c_str(), mode) != 0 && errno != EEXIST)
                return Error::from_errno(cat("create directory ", shown));
            fd = ::openat(current.fd(), component.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0) {
            int error = errno;
            if (error == ELOOP || (error == ENOTDIR && is_symlink_at(current.fd(), component)))
                return symlink_refused_error(shown);
            if (error == ENOTDIR)
                return Error::with_code(ENOTDIR, cat(shown, " is in the way: it is not a directory"));
            return Error::from_errno(error, cat("directory ", shown));
        }
        current = DirectoryFd(UniqueFd(fd), std::move(shown));
    }
    return current;
}

Result<DirectoryFd> DirectoryFd::make_directory(std::string const& name, mode_t mode) const
{
    TRY(check_plain_name(name));
    std::string shown = path_of(name);
    if (::mkdirat(m_fd.get(), name.c_str(), mode) != 0)
        return Error::from_errno(cat("create directory ", shown));
    int fd = ::openat(m_fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        // Replaced between the two calls: someone else writes here.
        if (errno == ELOOP || errno == ENOTDIR)
            return symlink_refused_error(shown);
        return Error::from_errno(cat("open the new directory ", shown));
    }
    UniqueFd owned(fd);
    // Exactly `mode` whatever the umask (it may only have cleared bits).
    (void)::fchmod(owned.get(), mode);
    return DirectoryFd(std::move(owned), std::move(shown));
}

Result<UniqueFd> DirectoryFd::create_file(std::string const& name, int flags, mode_t mode) const
{
    TRY(check_plain_name(name));
    int fd = ::openat(m_fd.get(), name.c_str(), flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        int error = errno;
        if (error == EEXIST && is_symlink_at(m_fd.get(), name))
            return symlink_refused_error(path_of(name));
        if (error == EEXIST)
            return Error::with_code(EEXIST, cat(path_of(name), " already exists"));
        return Error::from_errno(error, cat("create ", path_of(name)));
    }
    return UniqueFd(fd);
}

Result<UniqueFd> DirectoryFd::open_file(std::string const& name, int flags) const
{
    TRY(check_plain_name(name));
    int fd = ::openat(m_fd.get(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            return symlink_refused_error(path_of(name));
        return Error::from_errno(path_of(name));
    }
    return UniqueFd(fd);
}

std::optional<struct stat> DirectoryFd::entry_status(std::string const& name) const
{
    struct stat status;
    if (!is_plain_name(name) || ::fstatat(m_fd.get(), name.c_str(), &status, AT_SYMLINK_NOFOLLOW) != 0)
        return std::nullopt;
    return status;
}

Result<void> DirectoryFd::remove_file(std::string const& name) const
{
    TRY(check_plain_name(name));
    if (::unlinkat(m_fd.get(), name.c_str(), 0) != 0)
        return Error::from_errno(cat("remove ", path_of(name)));
    return {};
}

Result<void> DirectoryFd::rename(std::string const& from, std::string const& to, Replace replace) const
{
    TRY(check_plain_name(from));
    TRY(check_plain_name(to));
    auto failed = [&](int error) { return Error::from_errno(error, cat("rename ", path_of(from), " to ", path_of(to))); };
    if (replace == Replace::Yes) {
        if (::renameat(m_fd.get(), from.c_str(), m_fd.get(), to.c_str()) != 0)
            return failed(errno);
        return {};
    }
    if (::syscall(SYS_renameat2, m_fd.get(), from.c_str(), m_fd.get(), to.c_str(), RENAME_NOREPLACE) == 0)
        return {};
    int error = errno;
    if (error == EEXIST)
        return Error::with_code(EEXIST, cat(path_of(to), " appeared while writing; ", path_of(from), " is kept"));
    if (error != EINVAL && error != ENOSYS)
        return failed(error);
    // File systems without RENAME_NOREPLACE: check, then rename; enough
    // with one writer (the capture kernel).
    if (entry_status(to))
        return Error::with_code(EEXIST, cat(path_of(to), " appeared while writing; ", path_of(from), " is kept"));
    if (::renameat(m_fd.get(), from.c_str(), m_fd.get(), to.c_str()) != 0)
        return failed(errno);
    return {};
}

Result<void> DirectoryFd::sync() const
{
    if (::fsync(m_fd.get()) != 0 && errno != EINVAL)
        return Error::from_errno(cat("fsync directory ", m_path));
    return {};
}

Result<DirectoryFd> DirectoryFd::duplicate() const
{
    int fd = ::fcntl(m_fd.get(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return Error::from_errno(cat("duplicate the descriptor of ", m_path));
    return DirectoryFd(UniqueFd(fd), m_path);
}

std::string DirectoryFd::path_of(std::string_view name) const
{
    return path_join(m_path, name);
}

} // namespace core
