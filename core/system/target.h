// SPDX-License-Identifier: GPL-2.0-or-later
// The dump target's side of a capture: mounting the target file system,
// naming the dump directory as kdump-utils does, writing files so that a
// crash half-way leaves an obviously incomplete file (never a truncated
// "vmcore"), and the raw-partition target's header.
#pragma once

#include "core/base/error.h"
#include "core/base/fd.h"

#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <string_view>

namespace core {

// --- Mounting ------------------------------------------------------------------

// fstab-style options split for mount(2), as mount_target does it: the flag
// words become flags, the dropped words go, the rest is the data string.
struct MountOptions {
    unsigned long flags { 0 };
    std::string data;
};
MountOptions parse_mount_options(std::string_view options);

// A mounted file system, unmounted (after a sync) when destroyed. Call
// unmount() to see whether that worked; the destructor can only log.
class MountedTarget {
public:
    MountedTarget() = default;
    MountedTarget(MountedTarget&& other) noexcept;
    MountedTarget& operator=(MountedTarget&& other) noexcept;
    MountedTarget(MountedTarget const&) = delete;
    MountedTarget& operator=(MountedTarget const&) = delete;
    ~MountedTarget();

    std::string const& device() const { return m_device; }
    std::string const& fstype() const { return m_fstype; }
    std::string const& mountpoint() const { return m_mountpoint; }
    bool mounted() const { return !m_mountpoint.empty(); }

    // syncfs, then umount2. Afterwards mounted() is false whatever happens,
    // so the destructor does not try again.
    Result<void> unmount();

private:
    friend Result<MountedTarget> mount_target(std::string const&, std::string const&, std::string const&, std::string const&);
    friend Result<MountedTarget> mount_source(std::string const&, std::string const&, std::string const&, MountOptions const&);
    MountedTarget(std::string device, std::string fstype, std::string mountpoint)
        : m_device(std::move(device))
        , m_fstype(std::move(fstype))
        , m_mountpoint(std::move(mountpoint))
    {
    }
    std::string m_device;
    std::string m_fstype;
    std::string m_mountpoint;
};

// Mounts device (a block device) on mountpoint, creating the mountpoint
// (and its parents) if needed. An empty fstype is probed from the
// superblock; ext2 and ext3 fall back to the ext4 driver when the kernel
// has no driver of their own. options is fstab-style: the flag words (ro,
// rw, noatime, nodiratime, relatime, nosuid, nodev, noexec, sync, dirsync)
// become mount flags, "defaults", "auto", "noauto", "nofail", "_netdev" and
// "x-..." are dropped, the rest goes to the file system. Errors name the
// device, type and errno and say what to change (ENODEV: add the module
// with extra_modules).
Result<MountedTarget> mount_target(std::string const& device, std::string const& fstype, std::string const& mountpoint, std::string const& options);

// Mounts a source that is not a block device (an NFS export,
// "10.0.2.2:/export") as it is: creates the mountpoint, calls mount(2) with
// the type, flags and data given. A failure is the errno with
// "mount SOURCE (TYPE) on MOUNTPOINT: strerror"; the caller knows what to
// advise (core/nfs does).
Result<MountedTarget> mount_source(std::string const& source, std::string const& fstype, std::string const& mountpoint, MountOptions const& options);

// --- The dump directory -----------------------------------------------------------

// Creates <base>/<path>/<host_ip>-<YYYY-MM-DD-HH:MM:SS> (kdump-utils'
// naming, e.g. 127.0.0.1-2024-01-01-12:00:00) and returns it, without a
// trailing slash. <base>/<path> is created as needed (mode 0755); the new
// directory is mode 0700. The time is `when` in UTC: kdump-utils runs
// `date` in the capture kernel, which has no time zone and so prints UTC.
// path is relative to base (leading slashes are ignored: "path /var/crash"
// means <mount>/var/crash) and may not contain "..". An empty host_ip is
// 127.0.0.1. If the directory exists (two dumps in one second, a clock
// reset to the epoch) "-1", "-2", ... is appended: nothing is overwritten.
// On file systems that refuse ':' in names (vfat, CIFS) every ':' in the
// new name becomes '-' (127.0.0.1-2024-01-01-12-00-00), as openSUSE does.
Result<std::string> make_dump_directory(std::string const& base, std::string const& path, std::string const& host_ip, time_t when);

// "YYYY-MM-DD-HH:MM:SS" in UTC.
std::string dump_timestamp(time_t when);

// --- Writing files safely ----------------------------------------------------------

// A file written as <dir>/<name>-incomplete (created O_EXCL, mode 0600) and
// renamed to <dir>/<name> by commit() after an fsync; the directory is
// fsynced after the rename. Destroyed without commit(), the -incomplete
// file stays: it is the evidence that the capture stopped half-way.
class SafeFile {
public:
    SafeFile(SafeFile&&) noexcept = default;
    SafeFile& operator=(SafeFile&&) noexcept = default;
    SafeFile(SafeFile const&) = delete;
    SafeFile& operator=(SafeFile const&) = delete;

    // Refuses (EEXIST) if <name> or <name>-incomplete already exists.
    static Result<SafeFile> create(std::string const& directory, std::string const& name);

    int fd() const { return m_fd.get(); }
    std::string const& incomplete_path() const { return m_incomplete_path; }
    std::string const& final_path() const { return m_final_path; }
    bool committed() const { return m_committed; }

    Result<void> write(std::span<uint8_t const> bytes);
    Result<void> write(std::string_view text);
    // Copies from input until end of file; returns the bytes copied.
    Result<uint64_t> write_from(int input_fd, std::string_view input_name);

    // fsync, close (checked), rename to the final name without replacing an
    // existing file, fsync the directory.
    Result<void> commit();

private:
    SafeFile(UniqueFd fd, std::string directory, std::string incomplete_path, std::string final_path)
        : m_fd(std::move(fd))
        , m_directory(std::move(directory))
        , m_incomplete_path(std::move(incomplete_path))
        , m_final_path(std::move(final_path))
    {
    }
    UniqueFd m_fd;
    std::string m_directory;
    std::string m_incomplete_path;
    std::string m_final_path;
    bool m_committed { false };
};

// For small files (vmcore-dmesg.txt, kexec-dmesg.log): SafeFile, write,
// commit. Returns the final path.
Result<std::string> write_file_safely(std::string const& directory, std::string const& name, std::span<uint8_t const> bytes);
Result<std::string> write_file_safely(std::string const& directory, std::string const& name, std::string_view text);

// Bytes available to an unprivileged writer (statvfs f_bavail * f_frsize).
Result<uint64_t> free_bytes(std::string const& path);

// --- Raw targets ---------------------------------------------------------------------

// A raw target holds a collector's flattened stream (makedumpfile -F) from
// offset 0. True when the device starts with a flattened-stream header:
// a dump is waiting to be rebuilt with makedumpfile -R.
Result<bool> raw_device_has_dump(std::string const& device);
// Zeroes the 4 KiB stream header (and fsyncs), marking the dump consumed
// once the host has rebuilt it.
Result<void> clear_raw_dump_header(std::string const& device);

} // namespace core
