// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/safe_file.h"

#include "core/base/fs.h"
#include "core/base/strings.h"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace core {

SafeFile::SafeFile(UniqueFd fd, DirectoryFd directory, std::string name, Existing existing)
    : m_fd(std::move(fd))
    , m_directory(std::move(directory))
    , m_name(std::move(name))
    , m_incomplete_path(m_directory.path_of(cat(m_name, "-incomplete")))
    , m_final_path(m_directory.path_of(m_name))
    , m_existing(existing)
{
}

SafeFile::SafeFile(SafeFile&& other) noexcept
    : m_fd(std::move(other.m_fd))
    , m_directory(std::move(other.m_directory))
    , m_name(std::move(other.m_name))
    , m_incomplete_path(std::move(other.m_incomplete_path))
    , m_final_path(std::move(other.m_final_path))
    , m_existing(other.m_existing)
    , m_leftover(std::exchange(other.m_leftover, Leftover::Keep))
    , m_renamed(other.m_renamed)
    , m_committed(other.m_committed)
{
}

SafeFile& SafeFile::operator=(SafeFile&& other) noexcept
{
    if (this != &other) {
        remove_if_unfinished();
        m_fd = std::move(other.m_fd);
        m_directory = std::move(other.m_directory);
        m_name = std::move(other.m_name);
        m_incomplete_path = std::move(other.m_incomplete_path);
        m_final_path = std::move(other.m_final_path);
        m_existing = other.m_existing;
        m_leftover = std::exchange(other.m_leftover, Leftover::Keep);
        m_renamed = other.m_renamed;
        m_committed = other.m_committed;
    }
    return *this;
}

SafeFile::~SafeFile()
{
    remove_if_unfinished();
}

void SafeFile::remove_if_unfinished()
{
    if (m_leftover == Leftover::Remove && !m_renamed && m_directory.valid()) {
        m_fd.reset();
        (void)m_directory.remove_file(cat(m_name, "-incomplete"));
    }
}

namespace {

Result<void> check_plain_name(std::string const& name)
{
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
        return Error::invalid(cat("file name '", name, "' is not a plain name"));
    return {};
}

} // namespace

Result<SafeFile> SafeFile::create(DirectoryFd const& directory, std::string const& name)
{
    TRY(check_plain_name(name));
    std::string final_path = directory.path_of(name);
    if (auto existing = directory.entry_status(name)) {
        if (S_ISLNK(existing->st_mode))
            return symlink_refused_error(final_path);
        return Error::with_code(EEXIST, cat(final_path, " already exists; a saved file is never overwritten: move it away or save elsewhere"));
    }
    std::string incomplete_name = cat(name, "-incomplete");
    auto fd = directory.create_file(incomplete_name, O_WRONLY, 0600);
    if (!fd.ok()) {
        if (fd.error().errno_code() == EEXIST)
            return Error::with_code(EEXIST, cat(directory.path_of(incomplete_name), " already exists (left by an interrupted capture?); move it away or save elsewhere"));
        return std::move(fd).error();
    }
    // Exactly 0600 whatever the umask; vfat may refuse, and has no modes.
    (void)::fchmod(fd->get(), 0600);
    return SafeFile(std::move(fd).release_value(), TRY(directory.duplicate()), name, Existing::Keep);
}

Result<SafeFile> SafeFile::create(std::string const& directory, std::string const& name)
{
    return create(TRY(DirectoryFd::open(directory)), name);
}

Result<SafeFile> SafeFile::create_replacing(DirectoryFd const& directory, std::string const& name, mode_t mode, Leftover leftover)
{
    TRY(check_plain_name(name));
    std::string incomplete_name = cat(name, "-incomplete");
    if (auto existing = directory.entry_status(incomplete_name)) {
        if (S_ISLNK(existing->st_mode))
            return symlink_refused_error(directory.path_of(incomplete_name));
        if (!S_ISREG(existing->st_mode))
            return Error::with_code(EEXIST, cat(directory.path_of(incomplete_name), " is in the way and is not a file; move it away"));
        TRY(directory.remove_file(incomplete_name));
    }
    auto fd = TRY(directory.create_file(incomplete_name, O_WRONLY, mode));
    SafeFile file(std::move(fd), TRY(directory.duplicate()), name, Existing::Replace);
    file.m_leftover = leftover;
    // The mode asked for exactly, whatever the umask (the capture
    // initramfs may hold an ssh key).
    if (::fchmod(file.fd(), mode) != 0)
        return Error::from_errno(cat("chmod ", file.m_incomplete_path));
    return file;
}

Result<SafeFile> SafeFile::create_replacing(std::string const& final_path, mode_t mode, Leftover leftover)
{
    return create_replacing(TRY(DirectoryFd::open(parent_directory(final_path))), std::string(base_name(final_path)), mode, leftover);
}

Result<SafeFile> SafeFile::adopt(DirectoryFd const& directory, std::string const& name)
{
    TRY(check_plain_name(name));
    // O_NONBLOCK: a FIFO planted at the name must not block the open.
    auto fd = TRY(directory.open_file(cat(name, "-incomplete"), O_RDONLY | O_NONBLOCK));
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0)
        return Error::from_errno(cat("stat ", directory.path_of(cat(name, "-incomplete"))));
    if (!S_ISREG(status.st_mode))
        return Error::invalid(cat(directory.path_of(cat(name, "-incomplete")), " is not a regular file; the collector must write the dump as a file there"));
    // A dump holds all of the crashed machine's memory: 0600, as ours.
    if (::fchmod(fd.get(), 0600) != 0)
        return Error::from_errno(cat("chmod ", directory.path_of(cat(name, "-incomplete"))));
    return SafeFile(std::move(fd), TRY(directory.duplicate()), name, Existing::Replace);
}

Result<SafeFile> SafeFile::adopt(std::string const& final_path)
{
    return adopt(TRY(DirectoryFd::open(parent_directory(final_path))), std::string(base_name(final_path)));
}

Result<void> SafeFile::write(std::span<uint8_t const> bytes)
{
    if (!m_fd.valid())
        return Error::invalid(cat(m_incomplete_path, ": written after commit"));
    return write_all(m_fd.get(), bytes, m_incomplete_path);
}

Result<void> SafeFile::write(std::string_view text)
{
    return write(std::span<uint8_t const>(reinterpret_cast<uint8_t const*>(text.data()), text.size()));
}

Result<uint64_t> SafeFile::write_from(int input_fd, std::string_view input_name)
{
    std::vector<uint8_t> buffer(1 << 20);
    uint64_t total = 0;
    while (true) {
        ssize_t got = ::read(input_fd, buffer.data(), buffer.size());
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return Error::from_errno(cat("read ", input_name));
        }
        if (got == 0)
            return total;
        TRY(write(std::span<uint8_t const>(buffer.data(), static_cast<size_t>(got))));
        total += static_cast<uint64_t>(got);
    }
}

Result<void> SafeFile::commit()
{
    if (m_committed)
        return {};
    if (!m_renamed) {
        if (!m_fd.valid())
            return Error::invalid(cat(m_incomplete_path, ": not open"));
        if (::fsync(m_fd.get()) != 0)
            return Error::from_errno(cat("fsync ", m_incomplete_path));
        TRY(m_fd.close_checked(m_incomplete_path));
        // Never replace a file that appeared meanwhile, unless made to.
        TRY(m_directory.rename(cat(m_name, "-incomplete"), m_name, m_existing == Existing::Replace ? DirectoryFd::Replace::Yes : DirectoryFd::Replace::No));
        m_renamed = true;
    }
    // The new name survives a crash only once its directory is synced.
    TRY(m_directory.sync());
    m_committed = true;
    return {};
}

Result<std::string> write_file_safely(std::string const& directory, std::string const& name, std::span<uint8_t const> bytes)
{
    auto file = TRY(SafeFile::create(directory, name));
    TRY(file.write(bytes));
    TRY(file.commit());
    return file.final_path();
}

Result<std::string> write_file_safely(std::string const& directory, std::string const& name, std::string_view text)
{
    return write_file_safely(directory, name, std::span<uint8_t const>(reinterpret_cast<uint8_t const*>(text.data()), text.size()));
}

Result<std::string> write_file_safely(DirectoryFd const& directory, std::string const& name, std::string_view text)
{
    auto file = TRY(SafeFile::create(directory, name));
    TRY(file.write(text));
    TRY(file.commit());
    return file.final_path();
}

Result<void> write_text_atomically(std::string const& path, std::string_view text, mode_t mode)
{
    auto file = TRY(SafeFile::create_replacing(path, mode));
    TRY(file.write(text));
    return file.commit();
}

} // namespace core
