// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/target.h"

#include "core/base/clock.h"
#include "core/system/blkid.h"
#include "core/dump/dump_output.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/strings.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace core {

MountOptions parse_mount_options(std::string_view options)
{
    struct FlagWord {
        std::string_view word;
        unsigned long set;
        unsigned long clear;
    };
    static constexpr FlagWord flag_words[] = {
        { "ro", MS_RDONLY, 0 },
        { "rw", 0, MS_RDONLY },
        { "noatime", MS_NOATIME, 0 },
        { "nodiratime", MS_NODIRATIME, 0 },
        { "relatime", MS_RELATIME, 0 },
        { "nosuid", MS_NOSUID, 0 },
        { "nodev", MS_NODEV, 0 },
        { "noexec", MS_NOEXEC, 0 },
        { "sync", MS_SYNCHRONOUS, 0 },
        { "dirsync", MS_DIRSYNC, 0 },
    };
    static constexpr std::string_view dropped[] = { "defaults", "auto", "noauto", "nofail", "_netdev" };
    MountOptions parsed;
    for (auto word : split(options, ',')) {
        word = trim(word);
        if (word.empty() || word.starts_with("x-") || std::find(std::begin(dropped), std::end(dropped), word) != std::end(dropped))
            continue;
        auto flag = std::find_if(std::begin(flag_words), std::end(flag_words), [&](auto const& entry) { return entry.word == word; });
        if (flag != std::end(flag_words)) {
            parsed.flags = (parsed.flags | flag->set) & ~flag->clear;
            continue;
        }
        if (!parsed.data.empty())
            parsed.data += ',';
        parsed.data += word;
    }
    return parsed;
}

namespace {

std::string mount_advice(int error, std::string const& device, std::string const& fstype, std::string const& options)
{
    switch (error) {
    case ENODEV:
        return cat("this kernel has no ", fstype, " driver loaded (see /proc/filesystems); if ", fstype, " is a module in this kernel, add it with extra_modules ", fstype);
    case ENOTBLK:
        return cat(device, " is not a block device; for an image file set up a loop device first (losetup --find --show FILE)");
    case EBUSY:
        return cat(device, " is already mounted or in use (LVM, RAID, dm); unmount it, or name the device on top of it");
    case EINVAL:
        if (options.empty())
            return cat("the superblock is not ", fstype, " or is damaged; check the type with blkid");
        return cat("the superblock is not ", fstype, ", or an option is wrong (options '", options, "'); check the type with blkid");
    case EACCES:
    case EROFS:
        return cat(device, " is read-only; a dump target must be writable");
    case EPERM:
        return "mounting needs root (CAP_SYS_ADMIN)";
    case EUCLEAN:
        return cat("the file system is damaged; run fsck.", fstype, " on it from the host");
    case ENOENT:
    case ENXIO:
        return cat(device, " is gone or the mountpoint is missing; check the device and the mountpoint");
    default:
        return "check the device, the file system type and the options";
    }
}

Error mount_error(int error, std::string const& device, std::string const& fstype, std::string const& mountpoint, std::string const& options)
{
    return Error::with_code(error, cat("mount ", device, " (", fstype, ") on ", mountpoint, ": ", std::strerror(error), "; ", mount_advice(error, device, fstype, options)));
}

// Types blkid reports that are not file systems to mount.
std::string_view not_mountable_reason(std::string_view type)
{
    if (type == "swap")
        return "a swap area";
    if (type == "crypto_LUKS")
        return "a LUKS container (open it first and name the device inside)";
    if (type == "jbd")
        return "an external ext journal";
    return {};
}

} // namespace

// --- MountedTarget ---------------------------------------------------------------

MountedTarget::MountedTarget(MountedTarget&& other) noexcept
    : m_device(std::move(other.m_device))
    , m_fstype(std::move(other.m_fstype))
    , m_mountpoint(std::exchange(other.m_mountpoint, {}))
{
}

MountedTarget& MountedTarget::operator=(MountedTarget&& other) noexcept
{
    if (this != &other) {
        if (mounted()) {
            if (auto result = unmount(); !result.ok())
                log::warn(result.error().message());
        }
        m_device = std::move(other.m_device);
        m_fstype = std::move(other.m_fstype);
        m_mountpoint = std::exchange(other.m_mountpoint, {});
    }
    return *this;
}

MountedTarget::~MountedTarget()
{
    if (!mounted())
        return;
    if (auto result = unmount(); !result.ok())
        log::warn(result.error().message());
}

Result<void> MountedTarget::unmount()
{
    if (!mounted())
        return {};
    std::string mountpoint = std::exchange(m_mountpoint, {});
    // syncfs reports write-back errors for this file system alone; sync(2)
    // would report nothing.
    if (auto fd = open_file(mountpoint, O_RDONLY | O_DIRECTORY); fd.ok()) {
        if (::syncfs(fd->get()) != 0)
            log::warn(cat("syncfs ", mountpoint, ": ", std::strerror(errno), " (data may not all be on ", m_device, ")"));
    } else {
        ::sync();
    }
    // A file still being closed elsewhere makes umount busy for a moment.
    for (int attempt = 0;; ++attempt) {
        if (::umount2(mountpoint.c_str(), 0) == 0)
            return {};
        if (errno != EBUSY || attempt == 10)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    int error = errno;
    return Error::with_code(error, cat("unmount ", mountpoint, " (", m_device, "): ", std::strerror(error), error == EBUSY ? "; something still has a file open there" : ""));
}

namespace {

// mkdir -p, then refuse a directory that already has something mounted on
// it: mounting over it would hide that file system until the dump's is
// unmounted (on a host, mount-and-save's default /mnt may be in use).
Result<void> prepare_mount_point(std::string const& mountpoint)
{
    TRY(make_directories(mountpoint, 0755));
    struct stat here;
    struct stat parent;
    if (::stat(mountpoint.c_str(), &here) != 0)
        return Error::from_errno(cat("mount point ", mountpoint));
    if (::stat(cat(mountpoint, "/..").c_str(), &parent) != 0)
        return Error::from_errno(cat("the directory above ", mountpoint));
    if (here.st_dev != parent.st_dev)
        return Error::with_code(EBUSY, cat(mountpoint, " already has a file system mounted on it; unmount it, or name another mount point"));
    return {};
}

} // namespace

Result<MountedTarget> mount_target(std::string const& device, std::string const& fstype, std::string const& mountpoint, std::string const& options)
{
    struct stat status;
    if (::stat(device.c_str(), &status) != 0)
        return Error::from_errno(cat("dump target ", device));
    std::string type = fstype;
    if (type.empty()) {
        auto probe = TRY(probe_filesystem(device));
        if (!probe)
            return Error::with_code(ENODEV, cat("no file system found on ", device, "; make one on the host (mkfs.xfs, mkfs.ext4), or check that this is the dump target"));
        type = probe->type;
    }
    if (auto reason = not_mountable_reason(type); !reason.empty())
        return Error::with_code(EINVAL, cat(device, " holds ", reason, ", not a file system to write a dump to"));

    TRY(prepare_mount_point(mountpoint));
    auto parsed = parse_mount_options(options);
    char const* data = parsed.data.empty() ? nullptr : parsed.data.c_str();
    if (::mount(device.c_str(), mountpoint.c_str(), type.c_str(), parsed.flags, data) != 0) {
        int error = errno;
        // The ext4 driver mounts ext2 and ext3 when they have none of their
        // own (CONFIG_EXT4_USE_FOR_EXT2).
        if (error == ENODEV && (type == "ext2" || type == "ext3")) {
            if (::mount(device.c_str(), mountpoint.c_str(), "ext4", parsed.flags, data) == 0)
                return MountedTarget(device, "ext4", mountpoint);
            error = errno;
        }
        return mount_error(error, device, type, mountpoint, options);
    }
    return MountedTarget(device, type, mountpoint);
}

Result<MountedTarget> mount_source(std::string const& source, std::string const& fstype, std::string const& mountpoint, MountOptions const& options)
{
    TRY(prepare_mount_point(mountpoint));
    char const* data = options.data.empty() ? nullptr : options.data.c_str();
    if (::mount(source.c_str(), mountpoint.c_str(), fstype.c_str(), options.flags, data) != 0)
        return Error::from_errno(cat("mount ", source, " (", fstype, ") on ", mountpoint));
    return MountedTarget(source, fstype, mountpoint);
}

Result<MountedTarget> find_and_mount_target(DeviceSpec const& spec, FindOptions const& find, std::string const& fstype, std::string const& mountpoint, std::string const& options,
    TargetTimings* timings)
{
    uint64_t started_ms = monotonic_ms();
    auto device = TRY(find_device(spec, find));
    uint64_t found_ms = monotonic_ms();
    auto mounted = TRY(mount_target(device, fstype, mountpoint, options));
    if (timings)
        *timings = { found_ms - started_ms, monotonic_ms() - found_ms };
    log::notice(cat("mounted ", device, " (", mounted.fstype(), ") on ", mounted.mountpoint()));
    return mounted;
}

// --- The dump directory --------------------------------------------------------------

std::string dump_timestamp(time_t when)
{
    struct tm fields {};
    ::gmtime_r(&when, &fields);
    char text[64];
    size_t length = std::strftime(text, sizeof text, "%Y-%m-%d-%H:%M:%S", &fields);
    return std::string(text, length);
}

Result<DirectoryFd> make_dump_directory(std::string const& base, std::string const& path, std::string const& host_ip, time_t when)
{
    std::string host = host_ip.empty() ? std::string("127.0.0.1") : host_ip;
    if (host.find('/') != std::string::npos || host == "." || host == "..")
        return Error::invalid(cat("host address '", host, "' cannot be part of a directory name"));
    // The mount point is the dumper's own; everything below it may be
    // written by others (an NFS export), so no link is followed there and
    // every name is made relative to a directory held open.
    auto root = DirectoryFd::open(base);
    if (!root.ok()) {
        if (root.error().errno_code() == ENOENT)
            return Error::from_errno(ENOENT, cat("dump target directory ", base, " (is the target mounted?)"));
        return std::move(root).error();
    }
    auto parent = TRY(root->open_beneath(path, DirectoryFd::Missing::Create, 0755).context(cat("dump path ", path)));

    std::string stem = cat(host, '-', dump_timestamp(when));
    bool colons_refused = false;
    for (int suffix = 0; suffix < 1000; ++suffix) {
        std::string candidate = suffix == 0 ? stem : cat(stem, '-', suffix);
        if (colons_refused)
            std::replace(candidate.begin(), candidate.end(), ':', '-');
        auto made = parent.make_directory(candidate, 0700);
        if (made.ok()) {
            TRY(parent.sync());
            return std::move(made).release_value();
        }
        int error = made.error().errno_code();
        if (error == EINVAL && !colons_refused && candidate.find(':') != std::string::npos) {
            // vfat and CIFS forbid ':' in names: use '-' there, as openSUSE
            // kdump does.
            colons_refused = true;
            --suffix;
            continue;
        }
        if (error != EEXIST)
            return std::move(made).error();
    }
    return Error::with_code(EEXIST, cat(parent.path_of(stem), " and 999 numbered variants exist; clean up old dumps in ", parent.path()));
}

Result<std::string> save_in_dump_directory(MountedTarget& target, std::string const& path, std::string const& host_ip, time_t when,
    std::function<Result<void>(DirectoryFd const& directory)> const& save)
{
    std::string made_path;
    Result<void> saved = [&]() -> Result<void> {
        auto directory = TRY(make_dump_directory(target.mountpoint(), path, host_ip, when));
        made_path = directory.path();
        return save(directory);
        // Closed here: an open directory would keep the unmount busy.
    }();
    // Every file is synced and renamed already: a failed unmount loses nothing.
    if (auto unmounted = target.unmount(); !unmounted.ok())
        log::warn(unmounted.error().message());
    if (!saved.ok())
        return saved.error();
    return made_path;
}

Result<void> save_streams(DirectoryFd const& directory, std::span<StreamToSave const> streams)
{
    uint64_t needed = 0;
    for (auto const& stream : streams) {
        struct stat status;
        if (::fstat(stream.fd, &status) == 0 && S_ISREG(status.st_mode))
            needed += static_cast<uint64_t>(status.st_size);
    }
    if (auto available = free_bytes(directory.path()); available.ok() && *available < needed)
        log::warn(cat("only ", *available, " bytes free in ", directory.path(), " for ", needed, " bytes of files; saving anyway, a file that does not fit stays as NAME-incomplete"));
    for (auto const& stream : streams) {
        auto file = TRY(SafeFile::create(directory, stream.name));
        uint64_t bytes = TRY(file.write_from(stream.fd, stream.source).context(cat("saving ", stream.source, " (", file.incomplete_path(), " is left)")));
        TRY(file.commit());
        log::notice(cat("saved ", file.final_path(), " (", bytes, " bytes)"));
    }
    return {};
}

// --- Free space ---------------------------------------------------------------------------

Result<uint64_t> free_bytes(std::string const& path)
{
    struct statvfs status;
    if (::statvfs(path.c_str(), &status) != 0)
        return Error::from_errno(cat("statvfs ", path));
    auto bytes = checked_mul(status.f_bavail, status.f_frsize);
    return bytes.value_or(UINT64_MAX);
}

// --- Raw targets ---------------------------------------------------------------------------

namespace {
constexpr size_t raw_header_bytes = 4096;
} // namespace

Result<bool> raw_device_has_dump(std::string const& device)
{
    auto fd = TRY(open_file(device, O_RDONLY));
    std::array<uint8_t, raw_header_bytes> head {};
    size_t got = TRY(pread_full(fd.get(), head, 0, device));
    return is_flattened_header(std::span<uint8_t const>(head.data(), got));
}

Result<void> clear_raw_dump_header(std::string const& device)
{
    // Zeroing the start of the wrong disk would destroy a partition table
    // or a file system: only a dump header is ever cleared.
    if (!TRY(raw_device_has_dump(device)))
        return Error::with_code(EINVAL, cat(device, " does not start with a flattened dump header; refusing to zero it (is this the raw dump target?)"));
    auto fd = TRY(open_file(device, O_WRONLY));
    std::array<uint8_t, raw_header_bytes> zeros {};
    TRY(pwrite_all(fd.get(), zeros, 0, device));
    if (::fsync(fd.get()) != 0)
        return Error::from_errno(cat("fsync ", device));
    TRY(fd.close_checked(device));
    return {};
}

} // namespace core
