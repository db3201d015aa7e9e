// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/control/kdump_control.h"
#include "core/control/start_checks.h"

#include "arch/host.h"

#include "core/control/dump_report.h"
#include "core/control/raw_handled.h"

#include "core/system/blkid.h"
#include "core/config/cmdline.h"
#include "core/dump/dump_output.h"
#include "core/base/clock.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/safe_file.h"
#include "core/kexec/kexec.h"
#include "core/base/log.h"
#include "core/net/nfs.h"
#include "core/net/ssh_target.h"
#include "core/base/strings.h"
#include "core/system/device_modules.h"
#include "core/system/mountinfo.h"
#include "core/system/power.h"
#include "core/system/storage_stack.h"
#include "core/system/target.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace core {

namespace {

constexpr uint64_t mebibyte = 1 << 20;

std::string running_release()
{
    struct utsname names {};
    if (::uname(&names) != 0)
        return {};
    return names.release;
}

kexec::SystemPaths kexec_paths(HostPaths const& paths)
{
    kexec::SystemPaths system;
    system.sysfs = paths.sysfs;
    system.proc = paths.proc;
    return system;
}

// Network and memory file systems: no block device the capture could
// mount by itself.
bool is_network_fs_type(std::string_view type)
{
    constexpr std::string_view network[] = { "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "virtiofs", "ceph", "glusterfs", "lustre", "afs", "ncpfs" };
    return std::find(std::begin(network), std::end(network), type) != std::end(network) || type.starts_with("fuse.") || type == "fuse";
}

FindOptions host_find_options(HostPaths const& paths)
{
    FindOptions options;
    options.sysfs_root = paths.sysfs;
    options.dev_root = paths.dev;
    options.timeout = std::chrono::milliseconds(0);
    return options;
}

// The device of the mount holding `path`: its MAJOR:MINOR in sysfs; for
// btrfs (whose mounts show an anonymous number) and a number sysfs does
// not know, the source it was mounted from.
Result<HostBlockDevice> mounted_device(MountHolding const& holding, FindOptions const& options)
{
    auto const& mount = holding.mount;
    if (mount.major != 0) {
        auto by_number = host_block_device(mount.major, mount.minor, options);
        if (by_number.ok() || !mount.source.starts_with('/'))
            return by_number;
    }
    if (!mount.source.starts_with("/dev/"))
        return Error::with_code(ENODEV, cat("its source '", mount.source, "' is no block device"));
    return host_block_device(DeviceSpec { DeviceSpec::Kind::Path, mount.source }, options);
}

// `path` as a directory inside a file system named on a target line:
// relative to that file system's root.
std::string directory_in_target(std::string_view path)
{
    while (path.starts_with('/'))
        path.remove_prefix(1);
    return cat("/", path);
}

} // namespace

namespace {

enum class Purpose { Target, RootFileSystem };

// A local target (Purpose::Target), or the root file system that
// failure_action dump_to_rootfs writes `path` on (the mount holding /).
Result<TargetResolution> resolve_target(KdumpConfig const& config, HostPaths const& paths, Purpose purpose)
{
    auto const& line = config.target;
    bool rootfs = purpose == Purpose::RootFileSystem;
    // The host directory whose file system is the target.
    std::string held = rootfs ? std::string("/") : config.path;
    FindOptions find = host_find_options(paths);
    TargetResolution resolution;
    auto& target = resolution.target;
    HostBlockDevice device;
    std::string what;    // names the target in errors
    std::string origin;  // why this device, for kdump show
    std::string shown;   // the device as kdump show names it
    IdentityUse use = IdentityUse::FileSystem;
    if (rootfs || line.kind == TargetKind::None) {
        std::string mountinfo = path_join(paths.proc, "self/mountinfo");
        std::string role = rootfs ? std::string("the root file system (failure_action dump_to_rootfs)") : cat("the file system holding ", held);
        auto holding = TRY(find_mount_holding(mountinfo, held).context(cat("finding ", role, rootfs ? "" : " (kdump.conf has no target line)")));
        auto const& mount = holding.mount;
        what = cat(role, " (", mount.source, ", ", mount.fs_type, " mounted on ", mount.mount_point, ")");
        std::string advice = rootfs ? "use another failure_action" : "write a target line in kdump.conf (e.g. `xfs UUID=...`), or an nfs or ssh line";
        if (is_network_fs_type(mount.fs_type) && rootfs)
            return Error::unsupported(cat(what, " is a network file system; kdumpbox cannot mount it in the capture kernel: ", advice));
        if (is_network_fs_type(mount.fs_type))
            return Error::unsupported(cat(what, " is a network file system, and kdump.conf has no target line; kdumpbox does not follow it by itself: write `nfs HOST:/EXPORT` or `ssh USER@HOST` in kdump.conf, or a local target line"));
        auto found = mounted_device(holding, find);
        if (!found.ok())
            return Error::with_code(found.error().errno_code() == ENOENT ? ENODEV : found.error().errno_code(),
                cat(what, " is not on a block device the capture kernel can mount (", found.error().message(), "); ", advice));
        device = std::move(found).release_value();
        // The name the admin knows it by (/dev/mapper/vg0-root), not dm-3.
        shown = mount.source.starts_with("/dev/") ? mount.source : device.node;
        target.fs_type = mount.fs_type;
        if (!holding.subvolume.empty())
            target.mount_options = cat("subvol=", holding.subvolume);
        // dump_to_rootfs: path on the root file system, as the host sees it.
        std::string below = directory_in_target(config.path);
        target.directory = !rootfs ? holding.directory : holding.directory == "/" ? below : holding.directory + below;
        origin = cat(rootfs ? std::string("the root file system") : cat("the file system holding ", held), ", mounted on ", mount.mount_point,
            holding.subvolume.empty() ? std::string() : cat(" from subvolume ", holding.subvolume), "; from ", mountinfo);
    } else {
        what = cat(config.file_name, ":", line.line, ": ", line.directive(), " ", line.device.text());
        device = TRY(host_block_device(line.device, find).context(cat(what, " (the device must exist when kdump starts, so that its drivers go into the initramfs)")));
        if (line.kind == TargetKind::Raw) {
            target.kind = ResolvedTarget::Kind::Raw;
            use = IdentityUse::Raw;
        } else {
            target.fs_type = line.fs_type;
            target.directory = directory_in_target(config.path);
        }
        origin = cat("the ", line.directive(), " line at ", config.file_name, ":", line.line);
        shown = device.node;
    }
    auto stack = TRY(check_storage_stack(device, find).context(what));
    auto identity = TRY(stable_identity(device, use, stack, find).context(what));
    if (!identity.warning.empty())
        resolution.warnings.push_back(cat(what, ": ", identity.warning));
    target.device = identity.spec;
    target.lvm = stack.lvm.has_value();
    resolution.lvm = stack.lvm;
    resolution.host_device = device.node;
    resolution.host_name = device.name;
    std::string kind = target.kind == ResolvedTarget::Kind::Raw ? std::string("raw") : target.fs_type;
    resolution.explanation = cat(rootfs ? "# dump_to_rootfs target: " : "# target: ", kind, " ", target.device.text(), " (", shown, ", ", origin, ")\n",
        "# found in the capture kernel by ", identity.why, "; device stack: ", stack.description, "\n");
    if (stack.lvm)
        resolution.explanation += cat("# activated by kdumpbox in the capture kernel: LVM logical volume ", stack.lvm->vg_name, "/", stack.lvm->lv_name, "\n");
    if (target.kind == ResolvedTarget::Kind::FileSystem)
        resolution.explanation += cat("# directory inside it: ", target.directory, target.mount_options.empty() ? std::string() : cat(" (mounted with ", target.mount_options, ")"), "\n");
    return resolution;
}

} // namespace

Result<std::optional<TargetResolution>> resolve_local_target(KdumpConfig const& config, HostPaths const& paths)
{
    auto const& line = config.target;
    if (line.kind == TargetKind::Nfs || line.kind == TargetKind::Ssh || (line.kind == TargetKind::Filesystem && line.fs_type == "virtiofs"))
        return std::optional<TargetResolution>();
    return std::optional<TargetResolution>(TRY(resolve_target(config, paths, Purpose::Target)));
}

Result<std::optional<TargetResolution>> resolve_rootfs_target(KdumpConfig const& config, HostPaths const& paths)
{
    if (config.failure_action != FailureAction::DumpToRootfs)
        return std::optional<TargetResolution>();
    return std::optional<TargetResolution>(TRY(resolve_target(config, paths, Purpose::RootFileSystem)));
}

namespace {

bool file_system_is_built_in(HostPaths const& paths, std::string const& fs_type)
{
    // A loadable module has /sys/module/NAME/initstate; a built-in one
    // does not, but its file system is in /proc/filesystems.
    if (path_exists(path_join(paths.sysfs, cat("module/", fs_type, "/initstate"))))
        return false;
    auto filesystems = read_text_file(path_join(paths.proc, "filesystems"));
    if (!filesystems.ok())
        return false;
    for (auto line : split(filesystems.value(), '\n')) {
        auto fields = split(trim(line), '\t');
        if (!fields.empty() && trim(fields.back()) == fs_type)
            return true;
    }
    return false;
}

Result<std::vector<initramfs::ModuleFile>> capture_modules(KdumpConfig const& config, HostPaths const& paths, std::string const& modules_dir, CapturePlan const& plan,
    std::vector<initramfs::ModuleRequest> requests)
{
    std::vector<std::string> fs_types;
    if (config.target.kind == TargetKind::Filesystem)
        fs_types.push_back(config.target.fs_type);
    for (auto const* target : { &plan.target, &plan.rootfs }) {
        if (!*target)
            continue;
        auto const& resolution = **target;
        auto drivers = TRY(block_device_modules(paths.sysfs, resolution.host_device));
        for (auto const& driver : drivers)
            requests.push_back({ driver, cat("driver of ", resolution.host_device) });
        if (resolution.lvm) {
            for (auto const& name : resolution.lvm->modules)
                requests.push_back({ name, cat("LVM logical volume ", resolution.lvm->vg_name, "/", resolution.lvm->lv_name) });
        }
        fs_types.push_back(resolution.target.fs_type);
    }
    for (auto const& fs_type : fs_types) {
        if (!fs_type.empty() && !file_system_is_built_in(paths, fs_type))
            requests.push_back({ fs_type, cat("file system of the dump target") });
    }
    for (auto const& name : config.extra_modules)
        requests.push_back({ name, "extra_modules" });
    if (requests.empty())
        return std::vector<initramfs::ModuleFile>();
    return initramfs::resolve_module_requests(modules_dir, requests);
}

// The files that carry the resolution to the dumper: the target at
// target_path, its LVM plan at lvm_path.
Result<std::vector<CaptureImageFile>> resolved_target_files(TargetResolution const& resolution, std::string_view target_path, std::string_view lvm_path)
{
    std::vector<CaptureImageFile> files;
    CaptureImageFile target;
    target.path = std::string(target_path);
    target.data = TRY(format_resolved_target(resolution.target));
    target.reason = cat("the dump target as kdump start resolved it (", resolution.host_device, ")");
    files.push_back(std::move(target));
    if (resolution.lvm) {
        CaptureImageFile lvm;
        lvm.path = std::string(lvm_path);
        lvm.data = format_lvm_volume(*resolution.lvm);
        lvm.reason = cat("LVM logical volume ", resolution.lvm->vg_name, "/", resolution.lvm->lv_name, " to activate");
        files.push_back(std::move(lvm));
    }
    return files;
}

std::string digest_path(std::string const& initrd_path) { return initrd_path + ".digest"; }

} // namespace

Result<CapturePlan> plan_capture(HostPaths const& paths, ArmOptions const& options)
{
    CapturePlan plan;
    plan.settings = TRY(read_kdump_settings(paths.settings_path, IfMissing::UseDefaults));
    for (auto const& warning : plan.settings.warnings)
        log::warn(warning);
    plan.config = TRY(read_kdump_conf(plan.settings.conf_path, IfMissing::UseDefaults));
    for (auto const& warning : plan.config.warnings)
        log::warn(warning);

    std::string running = running_release();
    plan.kernel_release = capture_kernel_version(plan.settings, running);
    plan.kernel_path = capture_kernel_path(plan.settings, running);
    plan.initrd_path = capture_initrd_path(plan.settings, running);
    if (!path_exists(plan.kernel_path))
        return Error::with_code(ENOENT, cat("the capture kernel ", plan.kernel_path, " does not exist; install it, or set KDUMPBOX_KERNEL in ", plan.settings.file_name));

    auto proc_cmdline = TRY(read_text_file(path_join(paths.proc, "cmdline")));
    plan.cmdline = build_capture_cmdline(trim(proc_cmdline), plan.settings);

    std::string modules_dir = path_join(paths.modules_root, plan.kernel_release);
    plan.target = TRY(resolve_local_target(plan.config, paths));
    plan.rootfs = TRY(resolve_rootfs_target(plan.config, paths));
    for (auto const* target : { &plan.target, &plan.rootfs }) {
        for (auto const& warning : *target ? (*target)->warnings : std::vector<std::string>())
            log::warn(warning);
    }
    auto& spec = plan.spec;
    spec.kdumpbox_binary = paths.self_binary.empty() ? TRY(self_executable_path()) : paths.self_binary;
    spec.applets = options.applet_names;
    spec.kdump_conf = format_effective_config(plan.config);
    spec.kernel_version = plan.kernel_release;
    spec.modules_dir = modules_dir;
    // A network target's modules: the NIC's drivers, then (nfs) the client.
    std::vector<initramfs::ModuleRequest> network_modules;
    auto add_nic_drivers = [&](NetworkPlan const& network, std::vector<std::string> const& drivers) {
        for (auto const& driver : drivers)
            network_modules.push_back({ driver, cat("driver of ", network.interface_name, " (the route to ", plan.config.target.host, ")") });
    };
    std::string where = cat(plan.config.file_name, ":", plan.config.target.line, ": ", target_kind_name(plan.config.target.kind), " ", plan.config.target.value_text());
    if (plan.config.target.kind == TargetKind::Ssh) {
        auto inputs = paths.ssh;
        inputs.sysfs = paths.sysfs;
        auto ssh = TRY(plan_ssh_capture(plan.config, inputs).context(where));
        add_nic_drivers(ssh.network, ssh.nic_modules);
        spec.extra_files.insert(spec.extra_files.end(), ssh.files.begin(), ssh.files.end());
        plan.ssh = std::move(ssh);
    } else if (plan.config.target.kind == TargetKind::Nfs) {
        NfsHostInputs inputs;
        inputs.network = paths.nfs_network;
        inputs.sysfs = paths.sysfs;
        inputs.proc_mounts_path = path_join(paths.proc, "mounts");
        auto nfs = TRY(plan_nfs_capture(plan.config, inputs).context(where));
        for (auto const& notice : nfs.notices)
            log::notice(notice);
        add_nic_drivers(nfs.network.network, nfs.network.nic_modules);
        for (auto const& name : nfs.client_modules)
            network_modules.push_back({ name, cat("NFS client for ", plan.config.target.value_text()) });
        spec.extra_files.insert(spec.extra_files.end(), nfs.files.begin(), nfs.files.end());
    } else if (plan.target) {
        auto files = TRY(resolved_target_files(*plan.target, capture_resolved_target_path, capture_lvm_volume_path));
        spec.extra_files.insert(spec.extra_files.end(), files.begin(), files.end());
    }
    if (plan.rootfs) {
        auto files = TRY(resolved_target_files(*plan.rootfs, capture_rootfs_target_path, capture_rootfs_lvm_volume_path));
        spec.extra_files.insert(spec.extra_files.end(), files.begin(), files.end());
    }
    if (path_exists(modules_dir))
        spec.modules = TRY(capture_modules(plan.config, paths, modules_dir, plan, network_modules));

    else if (!plan.config.extra_modules.empty())
        return Error::with_code(ENOENT, cat(modules_dir, " does not exist, but kdump.conf asks for extra_modules; install the modules of ", plan.kernel_release));
    if (auto keep = keep_dumps_image_file(plan.settings))
        spec.extra_files.push_back(*keep);
    spec.extra_files.push_back(time_budgets_image_file(plan.settings));
    spec.extra_bins = plan.config.extra_bins;
    if (plan.config.kdump_pre)
        spec.hooks.push_back(*plan.config.kdump_pre);
    if (plan.config.kdump_post)
        spec.hooks.push_back(*plan.config.kdump_post);
    std::string kernel_config = cat(plan.settings.boot_dir, "/config-", plan.kernel_release);
    if (path_exists(kernel_config)) {
        auto choice = TRY(initramfs::choose_compression_for_config_file(kernel_config));
        spec.compression.compression = choice.compression;
    }
    TRY(apply_start_checks(plan, paths));
    return plan;
}

namespace {

// Whether `kdump start` builds the image, and why (or why not).
struct RebuildDecision {
    bool needed { true };
    std::string reason;
};

Result<RebuildDecision> decide_rebuild(CapturePlan const& plan, bool force)
{
    std::string digest = TRY(initramfs::inputs_digest(plan.spec));
    auto recorded = read_text_file(digest_path(plan.initrd_path));
    bool image_exists = path_exists(plan.initrd_path);
    if (!force && !plan.config.force_rebuild && image_exists) {
        if (plan.config.force_no_rebuild)
            return RebuildDecision { false, "force_no_rebuild 1 in kdump.conf: the existing image is used as it is" };
        if (recorded.ok() && trim(recorded.value()) == digest)
            return RebuildDecision { false, cat("its inputs have not changed (", digest.substr(0, 12), ")") };
    }
    return RebuildDecision { true,
        force                       ? "a rebuild was asked for"
            : plan.config.force_rebuild ? "force_rebuild 1 in kdump.conf"
            : !image_exists             ? "there was no image yet"
                                        : "its inputs changed" };
}

// Which system call loaded, first: "classic kexec_load (kexec_file_load: ENOSYS): kexec_load(...)".
std::string load_report_text(kexec::LoadReport const& loaded)
{
    if (loaded.syscall_used == kexec::LoadSyscall::File)
        return cat("with kexec_file_load: ", loaded.description);
    return cat("with classic kexec_load", loaded.fallback_reason ? cat(" (", *loaded.fallback_reason, ")") : std::string(), ": ", loaded.description);
}

kexec::LoadRequest capture_load_request(CapturePlan const& plan)
{
    kexec::LoadRequest request;
    request.kernel_path = plan.kernel_path;
    request.initrd_path = plan.initrd_path;
    request.cmdline = plan.cmdline;
    request.target = kexec::Target::Panic;
    request.kernel_debug = plan.kexec_args.kernel_debug; // KEXEC_ARGS -d
    request.syscall = plan.kexec_args.syscall;           // KEXEC_ARGS -s, -c, -a
    return request;
}

} // namespace

Result<RebuildReport> rebuild_initramfs(CapturePlan const& plan, bool force)
{
    RebuildReport report;
    auto decision = TRY(decide_rebuild(plan, force));
    report.reason = std::move(decision.reason);
    if (!decision.needed)
        return report;
    TRY(make_parent_directories(plan.initrd_path));
    report.image = TRY(initramfs::build_initramfs(plan.spec, plan.initrd_path));
    TRY(write_text_atomically(digest_path(plan.initrd_path), report.image.inputs_digest + "\n"));
    report.rebuilt = true;
    return report;
}

std::vector<std::string> prepare_crash_settings(std::string const& proc_root)
{
    std::vector<std::string> notes;
    // kernel.sysrq is the admin's: /proc/sysrq-trigger (kdump test) works
    // whatever it says; only the keyboard's Alt-SysRq-c needs 1 or the
    // SYSRQ_ENABLE_DUMP bit (8), which the crash key is filed under.
    auto sysrq = read_text_file(path_join(proc_root, "sys/kernel/sysrq"));
    if (sysrq.ok()) {
        auto value = parse_u64(trim(sysrq.value()), "kernel.sysrq");
        if (value.ok() && value.value() != 1 && !(value.value() & 8))
            notes.push_back(cat("kernel.sysrq is ", value.value(), ": Alt-SysRq-c from the keyboard will not crash the machine (that needs 1, or the 8 bit); 'kdump test' works anyway, through /proc/sysrq-trigger"));
    }
    for (auto const& [name, why] : { std::pair<char const*, char const*> { "panic_on_oops", "an oops only kills the task, and no dump is taken" },
             { "unknown_nmi_panic", "an NMI from the BMC or hypervisor will not start a dump" } }) {
        auto value = read_text_file(path_join(proc_root, cat("sys/kernel/", name)));
        if (value.ok() && trim(value.value()) == "0")
            notes.push_back(cat("kernel.", name, " is 0: ", why, " (set it with sysctl kernel.", name, "=1 if you want that)"));
    }
    return notes;
}

Result<std::string> collect_raw_dump(KdumpConfig const& config, std::string const& device, std::string const& handled_record_path)
{
    if (!TRY(raw_device_has_dump(device)))
        return std::string();
    std::string identity = TRY(raw_stream_identity(device));
    if (raw_stream_handled(handled_record_path, device, identity))
        return std::string();
    time_t now = ::time(nullptr);
    // On the host, links in path are the admin's own (/var/crash ->
    // /srv/crash): resolved first, as for a local target.
    std::string resolved_path = TRY(resolve_path_through_ancestors(config.path));
    auto directory = TRY(make_dump_directory("/", resolved_path, "127.0.0.1", now));
    std::string output = directory.path_of("vmcore");
    uint64_t started_ms = monotonic_ms();
    auto rebuilt = [&]() -> Result<void> {
        auto input = TRY(open_file(device, O_RDONLY | O_CLOEXEC));
        auto file = TRY(SafeFile::create(directory, "vmcore"));
        TRY(rebuild_flattened(input.get(), device, file.fd(), file.incomplete_path()));
        return file.commit();
    }();
    write_rebuilt_raw_status(directory, device, now, rebuilt, monotonic_ms() - started_ms);
    if (!rebuilt.ok()) {
        // The stream itself stops early or is damaged (not the disk being
        // full): rebuilding it again at the next start gives the same
        // vmcore-incomplete, so it is done once. The header stays, for a
        // rebuild by hand.
        int code = rebuilt.error().errno_code();
        if ((code == ENODATA || code == EINVAL) && path_exists_no_follow(output + "-incomplete")) {
            TRY(record_raw_stream_handled(handled_record_path, device, identity));
            return std::move(rebuilt).error().with_context(cat("(rebuilt once, as ", output, "-incomplete; not again at the next start)"));
        }
        return std::move(rebuilt).error();
    }
    TRY(clear_raw_dump_header(device));
    return output;
}

Result<ArmReport> arm(HostPaths const& paths, ArmOptions const& options)
{
    auto system = kexec_paths(paths);
    // load_kernel checks this too; here it fails fast, before the slow
    // initramfs build.
    TRY(kexec::check_crash_reservation(system));
    auto plan = TRY(plan_capture(paths, options));
    ArmReport report;
    if (plan.ssh)
        report.notes.push_back(TRY(check_ssh_target_at_start(plan.config, *plan.ssh).context(cat(plan.config.file_name, ":", plan.config.target.line, ": ssh ", plan.config.target.value_text()))));
    if (plan.config.target.kind == TargetKind::Raw && plan.target) {
        std::string device = plan.target->host_device;
        auto rebuilt = collect_raw_dump(plan.config, device, paths.raw_handled_record_path);
        if (!rebuilt.ok())
            report.notes.push_back(cat("the dump waiting on ", device, " could not be rebuilt: ", rebuilt.error().message()));
        else if (!rebuilt.value().empty())
            report.notes.push_back(cat("rebuilt the dump found on ", device, " into ", rebuilt.value()));
    }
    report_dumps_and_space(plan, paths, free_bytes);
    report.rebuild = TRY(rebuild_initramfs(plan, options.force_rebuild));
    auto loaded = TRY(kexec::load_kernel(capture_load_request(plan), kexec::DryRun::No, nullptr, system, paths.kexec_file_load, paths.kexec_load));
    report.load_description = load_report_text(loaded);
    // After the raw-dump notes: they say where a waiting dump went.
    for (auto& note : prepare_crash_settings(paths.proc))
        report.notes.push_back(std::move(note));
    return report;
}

Result<ArmReport> rearm(HostPaths const& paths, ArmOptions const& options)
{
    auto stopped = disarm(paths);
    if (!stopped.ok())
        log::warn(stopped.error().message());
    return arm(paths, options);
}

Result<ArmReport> reload(HostPaths const& paths, ArmOptions const& options)
{
    auto loaded = kexec::is_loaded(kexec::Target::Panic, kexec_paths(paths));
    bool was_armed = loaded.ok() && loaded.value();
    auto report = TRY(rearm(paths, options));
    if (!was_armed)
        report.notes.insert(report.notes.begin(), "kdump was not armed before the reload; it is now");
    return report;
}

Result<ArmPreview> preview_arm(HostPaths const& paths, ArmOptions const& options)
{
    auto system = kexec_paths(paths);
    TRY(kexec::check_crash_reservation(system));
    auto plan = TRY(plan_capture(paths, options));
    ArmPreview preview;
    auto decision = TRY(decide_rebuild(plan, options.force_rebuild));
    preview.rebuild_needed = decision.needed;
    preview.rebuild_reason = std::move(decision.reason);
    // Without the image the load cannot be probed; what it would be is
    // still worth saying.
    if (path_exists(plan.initrd_path)) {
        auto loaded = TRY(kexec::load_kernel(capture_load_request(plan), kexec::DryRun::Yes, nullptr, system, paths.kexec_file_load, paths.kexec_load));
        preview.load_description = load_report_text(loaded);
    } else {
        preview.load_description = cat(plan.kernel_path, " with ", plan.initrd_path, " (built first), command line: ", plan.cmdline);
    }
    preview.plan = std::move(plan);
    return preview;
}

Result<std::string> default_crashkernel()
{
    auto ranges = arch::default_crashkernel();
    if (ranges.empty())
        return Error::unsupported(cat("kdumpbox cannot load a capture kernel on ", arch::host_name(), ", so it has no crashkernel= size to suggest"));
    return std::string(ranges);
}

std::string ArmedStatus::text() const
{
    // kdumpctl's first line, which scripts grep for; then why.
    return cat(armed ? "Kdump is operational\n" : "Kdump is not operational\n", explanation, "\n");
}

Result<PropagateReport> propagate(HostPaths const& paths, HostKeyTrust const& trust)
{
    auto settings = TRY(read_kdump_settings(paths.settings_path, IfMissing::UseDefaults));
    auto config = TRY(read_kdump_conf(settings.conf_path, IfMissing::UseDefaults));
    return propagate_ssh_key(config, trust);
}

Result<void> disarm(HostPaths const& paths)
{
    return kexec::unload(kexec::Target::Panic, kexec_paths(paths), paths.kexec_file_load, kexec::LoadSyscall::Auto, paths.kexec_load);
}

Result<void> crash_for_test(HostPaths const& paths, std::function<Result<void>()> const& confirm)
{
    auto status = armed_status(paths);
    if (!status.armed)
        return Error::invalid(cat(status.explanation, "; not crashing"));
    TRY(confirm());
    return crash_through_sysrq(paths.proc);
}

ArmedStatus armed_status(HostPaths const& paths)
{
    auto system = kexec_paths(paths);
    ArmedStatus status;
    auto loaded = kexec::is_loaded(kexec::Target::Panic, system);
    if (!loaded.ok()) {
        status.explanation = cat("cannot tell: ", loaded.error().message());
        return status;
    }
    status.armed = loaded.value();
    if (status.armed) {
        auto reserved = kexec::crash_reservation_bytes(system);
        status.explanation = cat("kdump is armed: a crash kernel is loaded", reserved.ok() ? cat(" in a ", reserved.value() / mebibyte, " MiB reservation") : std::string());
        return status;
    }
    auto reservation = kexec::check_crash_reservation(system);
    if (!reservation.ok())
        status.explanation = cat("kdump is not armed: ", reservation.error().message());
    else
        status.explanation = "kdump is not armed: no crash kernel is loaded; run 'kdump start'";
    return status;
}

std::string MemoryEstimate::text() const
{
    auto mib = [](uint64_t bytes) { return (bytes + mebibyte - 1) / mebibyte; };
    std::string text = cat("capture kernel:       ", mib(kernel_bytes), " MiB\n",
        "capture initramfs:    ", mib(initramfs_bytes), " MiB (compressed and unpacked)\n",
        "runtime:              ", mib(runtime_bytes), " MiB (kernel memory at boot, page tables, the collector)\n",
        "needed:               ", mib(total_bytes), " MiB\n");
    if (reserved_bytes)
        text += cat("reserved:             ", mib(reserved_bytes), " MiB (crashkernel=)", reserved_bytes < total_bytes ? "  <- too small" : "", '\n');
    else
        text += "reserved:             none (add crashkernel= to the kernel command line)\n";
    if (dump_bytes)
        text += cat("dump size:            about ", mib(dump_bytes), " MiB on the target (", dump_basis, ")\n");
    return text;
}

Result<MemoryEstimate> estimate_memory(HostPaths const& paths, ArmOptions const& options)
{
    auto plan = TRY(plan_capture(paths, options));
    MemoryEstimate estimate;
    auto kernel_fd = TRY(open_file(plan.kernel_path, O_RDONLY | O_CLOEXEC));
    auto image = kexec::probe_image(kernel_fd.get(), plan.kernel_path);
    struct stat status {};
    ::fstat(kernel_fd.get(), &status);
    estimate.kernel_bytes = static_cast<uint64_t>(status.st_size);
    if (image.ok() && image.value().image && image.value().image->memory_bytes > estimate.kernel_bytes)
        estimate.kernel_bytes = image.value().image->memory_bytes;
    auto planned = TRY(initramfs::plan_initramfs(plan.spec));
    uint64_t unpacked = 0;
    for (auto const& entry : planned.manifest)
        unpacked += entry.size;
    uint64_t compressed = path_exists(plan.initrd_path) ? [&] {
        struct stat image_status {};
        ::stat(plan.initrd_path.c_str(), &image_status);
        return static_cast<uint64_t>(image_status.st_size);
    }()
                                                  : unpacked / 2;
    estimate.initramfs_bytes = compressed + unpacked;
    // What the capture kernel allocates beyond its image (init_size, which
    // already counts its bss) and the initramfs while it boots, plus the
    // collector's bounded buffers. Measured with
    // tests/vm/sweep.sh: Debian's 6.1 cloud kernel (init_size 51.5 MiB)
    // with a 4 MiB image (compressed plus unpacked) captures a 2 GiB guest
    // at crashkernel=72M, which leaves 16.5 MiB for this.
    estimate.runtime_bytes = 16 * mebibyte;
    estimate.total_bytes = estimate.kernel_bytes + estimate.initramfs_bytes + estimate.runtime_bytes;
    auto reserved = kexec::crash_reservation_bytes(kexec_paths(paths));
    if (reserved.ok())
        estimate.reserved_bytes = reserved.value();
    if (auto dump = estimate_dump_size(plan.config, path_join(paths.proc, "meminfo")); dump.ok()) {
        estimate.dump_bytes = dump.value().bytes;
        estimate.dump_basis = dump.value().basis;
    }
    return estimate;
}

} // namespace core
