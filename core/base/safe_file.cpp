// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/safe_file.h"

#include "core/base/fs.h"
#include "core/base/strings.h"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <utility>
#include <vector>

#ifndef RENAME_NOREPLACE
#    define RENAME_NOREPLACE (1 << 0)
#endif

namespace core {

SafeFile::SafeFile(UniqueFd fd, std::string incomplete_path, std::string final_path, Existing existing)
    : m_fd(std::move(fd))
    , m_incomplete_path(std::move(incomplete_path))
    , m_final_path(std::move(final_path))
    , m_existing(existing)
{
}

SafeFile::SafeFile(SafeFile&& other) noexcept
    : m_fd(std::move(other.m_fd))
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
    if (m_leftover == Leftover::Remove && !m_renamed) {
        m_fd.reset();
        (void)::unlink(m_incomplete_path.c_str());
    }
}

Result<SafeFile> SafeFile::create(std::string const& directory, std::string const& name)
{
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
        return Error::invalid(cat("file name '", name, "' is not a plain name"));
    std::string final_path = path_join(directory, name);
    std::string incomplete_path = cat(final_path, "-incomplete");
    if (path_exists_no_follow(final_path))
        return Error::with_code(EEXIST, cat(final_path, " already exists; a saved file is never overwritten: move it away or save elsewhere"));
    int fd = ::open(incomplete_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return Error::with_code(EEXIST, cat(incomplete_path, " already exists (left by an interrupted capture?); move it away or save elsewhere"));
        return Error::from_errno(cat("create ", incomplete_path));
    }
    UniqueFd owned(fd);
    // Exactly 0600 whatever the umask; vfat may refuse, and has no modes.
    (void)::fchmod(owned.get(), 0600);
    return SafeFile(std::move(owned), std::move(incomplete_path), std::move(final_path), Existing::Keep);
}

Result<SafeFile> SafeFile::create_replacing(std::string const& final_path, mode_t mode, Leftover leftover)
{
    std::string incomplete_path = cat(final_path, "-incomplete");
    auto fd = TRY(open_file(incomplete_path, O_WRONLY | O_CREAT | O_TRUNC, mode));
    SafeFile file(std::move(fd), std::move(incomplete_path), final_path, Existing::Replace);
    file.m_leftover = leftover;
    // The mode asked for exactly, whatever the umask and a leftover's mode
    // (the capture initramfs may hold an ssh key).
    if (::fchmod(file.fd(), mode) != 0)
        return Error::from_errno(cat("chmod ", file.m_incomplete_path));
    return file;
}

Result<SafeFile> SafeFile::adopt(std::string const& final_path)
{
    std::string incomplete_path = cat(final_path, "-incomplete");
    auto fd = TRY(open_file(incomplete_path, O_RDONLY));
    // A dump holds all of the crashed machine's memory: 0600, as ours.
    if (::fchmod(fd.get(), 0600) != 0)
        return Error::from_errno(cat("chmod ", incomplete_path));
    return SafeFile(std::move(fd), std::move(incomplete_path), final_path, Existing::Replace);
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
        TRY(rename_to_final());
        m_renamed = true;
    }
    // The new name survives a crash only once its directory is synced.
    TRY(fsync_directory(parent_directory(m_final_path)));
    m_committed = true;
    return {};
}

Result<void> SafeFile::rename_to_final() const
{
    if (m_existing == Existing::Replace) {
        if (::rename(m_incomplete_path.c_str(), m_final_path.c_str()) != 0)
            return Error::from_errno(cat("rename ", m_incomplete_path, " to ", m_final_path));
        return {};
    }
    // Never replace a file that appeared meanwhile. File systems without
    // RENAME_NOREPLACE get a check-then-rename, which is enough with one
    // writer (the capture kernel).
    if (::syscall(SYS_renameat2, AT_FDCWD, m_incomplete_path.c_str(), AT_FDCWD, m_final_path.c_str(), RENAME_NOREPLACE) == 0)
        return {};
    int error = errno;
    if (error != EINVAL && error != ENOSYS)
        return Error::from_errno(error, cat("rename ", m_incomplete_path, " to ", m_final_path));
    if (path_exists_no_follow(m_final_path))
        return Error::with_code(EEXIST, cat(m_final_path, " appeared while writing; ", m_incomplete_path, " is kept"));
    if (::rename(m_incomplete_path.c_str(), m_final_path.c_str()) != 0)
        return Error::from_errno(cat("rename ", m_incomplete_path, " to ", m_final_path));
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

Result<void> write_text_atomically(std::string const& path, std::string_view text, mode_t mode)
{
    auto file = TRY(SafeFile::create_replacing(path, mode));
    TRY(file.write(text));
    return file.commit();
}

} // namespace core
