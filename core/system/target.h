// SPDX-License-Identifier: GPL-2.0-or-later
// The dump target's side of a capture: mounting the target file system,
// naming the dump directory as kdump-utils does, writing files so that a
// crash half-way leaves an obviously incomplete file (never a truncated
// "vmcore"), and the raw-partition target's header.
#pragma once

#include "core/base/directory_fd.h"
#include "core/base/error.h"
#include "core/base/fd.h"
#include "core/base/safe_file.h"
#include "core/config/device_spec.h"
#include "core/system/blkid.h"

#include <cstdint>
#include <ctime>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace core {

// --- Mounting ------------------------------------------------------------------

// Where the capture mounts the dump target (or the root file system for
// dump_to_rootfs, or the NFS export): the dumper and mount-and-save by
// default, and the empty directory the capture initramfs provides for it.
inline constexpr std::string_view capture_mount_point = "/mnt";

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

// How long find_and_mount_target waited for the device and took to mount
// it, for the dump's status file.
struct TargetTimings {
    uint64_t wait_ms { 0 };
    uint64_t mount_ms { 0 };
};
// Finds the device spec names (find_device: waits up to find.timeout) and
// mounts it (mount_target); logs where. The dumper and mount-and-save
// reach a local target this way.
Result<MountedTarget> find_and_mount_target(DeviceSpec const& spec, FindOptions const& find, std::string const& fstype, std::string const& mountpoint, std::string const& options,
    TargetTimings* timings = nullptr);

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
// Returned open: the files go in relative to it (SafeFile). Below base no
// symbolic link is followed (DirectoryFd::open_beneath): a link at a
// component of path, or at the new directory, is refused with ELOOP.
Result<DirectoryFd> make_dump_directory(std::string const& base, std::string const& path, std::string const& host_ip, time_t when);

// "YYYY-MM-DD-HH:MM:SS" in UTC.
std::string dump_timestamp(time_t when);

// What every mounted target gets (a disk, the root file system, an NFS
// export), in the dumper and in mount-and-save: a new dump directory
// (make_dump_directory(target.mountpoint(), path, host_ip, when)),
// save(directory) writing its files there safely (SafeFile), then the
// unmount. The unmount runs whatever happened before it, and its failure
// is only a warning: every file is synced and renamed by then. Returns the
// directory, or the first error.
Result<std::string> save_in_dump_directory(MountedTarget& target, std::string const& path, std::string const& host_ip, time_t when,
    std::function<Result<void>(DirectoryFd const& directory)> const& save);

// --- Writing files safely ----------------------------------------------------------

// SafeFile and write_file_safely are core/base/safe_file.h.

// A stream to save into a dump directory: its file name there, what
// messages call it, and the descriptor read until end of file.
struct StreamToSave {
    std::string name;
    std::string source;
    int fd { -1 };
};
// Saves each stream as directory/NAME through SafeFile (a failure leaves
// NAME-incomplete and names it), logging each file saved. Warns first when
// the free space is short of what the regular files among them hold.
Result<void> save_streams(DirectoryFd const& directory, std::span<StreamToSave const> streams);

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
