// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/fd.h"

#include "core/base/strings.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace core {

void UniqueFd::reset(int fd)
{
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = fd;
}

Result<void> UniqueFd::close_checked(std::string_view what)
{
    int fd = release();
    if (fd >= 0 && ::close(fd) != 0 && errno != EINTR)
        return Error::from_errno(cat("close ", what));
    return {};
}

Result<UniqueFd> open_file(std::string const& path, int flags, mode_t mode)
{
    int fd;
    do
        fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return Error::from_errno(cat("open ", path));
    return UniqueFd(fd);
}

Result<size_t> pread_full(int fd, std::span<uint8_t> buffer, uint64_t offset, std::string_view what)
{
    size_t done = 0;
    while (done < buffer.size()) {
        ssize_t got = ::pread(fd, buffer.data() + done, buffer.size() - done, static_cast<off_t>(offset + done));
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return Error::from_errno(cat("read ", what, " at offset ", hex(offset + done)));
        }
        if (got == 0)
            break;
        done += static_cast<size_t>(got);
    }
    return done;
}

Result<void> pread_exact(int fd, std::span<uint8_t> buffer, uint64_t offset, std::string_view what)
{
    size_t got = TRY(pread_full(fd, buffer, offset, what));
    if (got != buffer.size())
        return Error::invalid(cat(what, ": file ends at offset ", hex(offset + got), ", ", buffer.size() - got, " bytes short of what its headers promise; it is truncated"));
    return {};
}

Result<void> write_all(int fd, std::span<uint8_t const> data, std::string_view what)
{
    while (!data.empty()) {
        ssize_t written = ::write(fd, data.data(), data.size());
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return Error::from_errno(cat("write ", what));
        }
        data = data.subspan(static_cast<size_t>(written));
    }
    return {};
}

Result<void> write_all(int fd, std::string_view text, std::string_view what)
{
    return write_all(fd, { reinterpret_cast<uint8_t const*>(text.data()), text.size() }, what);
}

Result<void> pwrite_all(int fd, std::span<uint8_t const> data, uint64_t offset, std::string_view what)
{
    while (!data.empty()) {
        ssize_t written = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return Error::from_errno(cat("write ", what, " at offset ", hex(offset)));
        }
        data = data.subspan(static_cast<size_t>(written));
        offset += static_cast<uint64_t>(written);
    }
    return {};
}

Result<std::string> read_text_file(std::string const& path, size_t max_bytes)
{
    auto fd = TRY(open_file(path, O_RDONLY));
    std::string text;
    // procfs and sysfs files report size 0, so read in chunks until EOF.
    char chunk[4096];
    while (true) {
        ssize_t got = ::read(fd.get(), chunk, sizeof chunk);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return Error::from_errno(cat("read ", path));
        }
        if (got == 0)
            return text;
        if (text.size() + static_cast<size_t>(got) > max_bytes)
            return Error::invalid(cat(path, ": larger than ", max_bytes, " bytes; is this the right file?"));
        text.append(chunk, static_cast<size_t>(got));
    }
}

Result<std::vector<uint8_t>> read_file_bytes(int fd, std::string_view what, uint64_t max_bytes)
{
    struct stat status;
    if (::fstat(fd, &status) != 0)
        return Error::from_errno(cat("stat ", what));
    if (static_cast<uint64_t>(status.st_size) > max_bytes)
        return Error::with_code(EFBIG, cat(what, ": ", static_cast<uint64_t>(status.st_size), " bytes is more than the ", max_bytes >> 20, " MiB limit"));
    std::vector<uint8_t> bytes(static_cast<size_t>(status.st_size));
    size_t got = TRY(pread_full(fd, bytes, 0, what));
    bytes.resize(got);
    return bytes;
}

Result<std::vector<uint8_t>> read_file_bytes(std::string const& path, uint64_t max_bytes)
{
    auto fd = TRY(open_file(path, O_RDONLY));
    return read_file_bytes(fd.get(), path, max_bytes);
}

Result<void> write_text_file(std::string const& path, std::string_view text)
{
    auto fd = TRY(open_file(path, O_WRONLY));
    TRY(write_all(fd.get(), text, path));
    return fd.close_checked(path);
}

MappedRegion::MappedRegion(MappedRegion&& other) noexcept
    : m_address(other.m_address)
    , m_length(other.m_length)
{
    other.m_address = nullptr;
    other.m_length = 0;
}

MappedRegion& MappedRegion::operator=(MappedRegion&& other) noexcept
{
    if (this != &other) {
        reset();
        m_address = other.m_address;
        m_length = other.m_length;
        other.m_address = nullptr;
        other.m_length = 0;
    }
    return *this;
}

Result<MappedRegion> MappedRegion::map(int fd, uint64_t offset, size_t length, int prot, int flags, std::string_view what)
{
    MappedRegion region;
    if (length == 0)
        return region;
    void* address = ::mmap(nullptr, length, prot, flags, fd, static_cast<off_t>(offset));
    if (address == MAP_FAILED)
        return Error::from_errno(cat("map ", length, " bytes of ", what, " at offset ", hex(offset)));
    region.m_address = address;
    region.m_length = length;
    return region;
}

void MappedRegion::reset()
{
    if (m_address)
        ::munmap(m_address, m_length);
    m_address = nullptr;
    m_length = 0;
}

} // namespace core
