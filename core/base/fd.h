// SPDX-License-Identifier: GPL-2.0-or-later
// RAII owners for file descriptors and memory mappings, and the read/write
// loops every applet needs (short reads and EINTR handled once, here).
#pragma once

#include "core/base/error.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace core {

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : m_fd(fd) { }
    UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) { }
    UniqueFd& operator=(UniqueFd&& other) noexcept
    {
        if (this != &other)
            reset(other.release());
        return *this;
    }
    UniqueFd(UniqueFd const&) = delete;
    UniqueFd& operator=(UniqueFd const&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return m_fd; }
    bool valid() const { return m_fd >= 0; }
    int release()
    {
        int fd = m_fd;
        m_fd = -1;
        return fd;
    }
    void reset(int fd = -1);
    // close(2) can report a write-back error (NFS, full disks): callers that
    // wrote data must check it rather than letting the destructor drop it.
    Result<void> close_checked(std::string_view what);

private:
    int m_fd { -1 };
};

// O_CLOEXEC is always added.
Result<UniqueFd> open_file(std::string const& path, int flags, mode_t mode = 0);

// Reads until the buffer is full or end of file; returns the bytes read.
Result<size_t> pread_full(int fd, std::span<uint8_t> buffer, uint64_t offset, std::string_view what);
// Like pread_full, but a short read is an error naming the offset.
Result<void> pread_exact(int fd, std::span<uint8_t> buffer, uint64_t offset, std::string_view what);
Result<void> write_all(int fd, std::span<uint8_t const> data, std::string_view what);
Result<void> write_all(int fd, std::string_view text, std::string_view what);
Result<void> pwrite_all(int fd, std::span<uint8_t const> data, uint64_t offset, std::string_view what);

// Whole small files: /proc, /sys, configs. Refuses files above max_bytes.
Result<std::string> read_text_file(std::string const& path, size_t max_bytes = 1 << 20);
// Whole binary files (modules, executables), sized by fstat(2): a file
// above max_bytes is EFBIG, naming `what`.
Result<std::vector<uint8_t>> read_file_bytes(int fd, std::string_view what, uint64_t max_bytes);
Result<std::vector<uint8_t>> read_file_bytes(std::string const& path, uint64_t max_bytes);
// sysfs/procfs style: open, one write, close.
Result<void> write_text_file(std::string const& path, std::string_view text);

class MappedRegion {
public:
    MappedRegion() = default;
    MappedRegion(MappedRegion&& other) noexcept;
    MappedRegion& operator=(MappedRegion&& other) noexcept;
    MappedRegion(MappedRegion const&) = delete;
    MappedRegion& operator=(MappedRegion const&) = delete;
    ~MappedRegion() { reset(); }

    // offset must be page-aligned (mmap's rule); prot/flags as mmap(2).
    static Result<MappedRegion> map(int fd, uint64_t offset, size_t length, int prot, int flags, std::string_view what);

    std::span<uint8_t const> bytes() const { return { static_cast<uint8_t const*>(m_address), m_length }; }
    std::span<uint8_t> writable_bytes() { return { static_cast<uint8_t*>(m_address), m_length }; }
    bool valid() const { return m_address != nullptr; }
    void reset();

private:
    void* m_address { nullptr };
    size_t m_length { 0 };
};

} // namespace core
