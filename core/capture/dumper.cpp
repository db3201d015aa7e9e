// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/capture/dumper.h"

#include "core/system/blkid.h"
#include "core/dump/collector.h"
#include "core/base/bytes.h"
#include "core/base/clock.h"
#include "core/dump/makedumpfile.h"
#include "core/base/fd.h"
#include "core/config/cmdline.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/system/lvm.h"
#include "core/system/module_load.h"
#include "core/net/network.h"
#include "core/net/nfs.h"
#include "core/base/process.h"
#include "core/net/ssh_target.h"
#include "core/base/strings.h"
#include "core/system/target.h"
#include "core/vmcore/vmcore_file.h"
#include "core/vmcore/vmcoreinfo.h"

#include <cerrno>
#include <chrono>
#include <functional>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <sys/klog.h>
#include <sys/stat.h>
#include <unistd.h>

namespace core {

namespace {

unsigned online_cpus()
{
    long count = ::sysconf(_SC_NPROCESSORS_ONLN);
    return count > 0 ? static_cast<unsigned>(count) : 1;
}

void load_modules(CaptureEnvironment const& environment)
{
    auto report = load_modules_in_order(environment.load_order_path);
    if (!report.ok()) {
        log::error(cat("modules: ", report.error().message()));
        return;
    }
    if (!report.value().loaded.empty() || !report.value().already_present.empty())
        log::notice(cat("modules: ", report.value().loaded.size(), " loaded, ", report.value().already_present.size(), " already present"));
    for (auto const& failure : report.value().failures)
        log::error(cat("modules: ", failure));
}

// How long and where to look for the target's device; says so first.
FindOptions announce_device_wait(DeviceSpec const& spec, unsigned timeout_seconds, CaptureEnvironment const& environment)
{
    FindOptions options;
    options.sysfs_root = environment.sysfs_root;
    options.dev_root = environment.dev_root;
    options.timeout = std::chrono::seconds(timeout_seconds);
    log::notice(cat("waiting up to ", timeout_seconds, " s for ", spec.text()));
    return options;
}

// A hook's exit status feeds kdump-utils' rules: kdump_pre non-zero stops
// the capture; kdump_post only reports.
// Each run gets KDUMPBOX_HOOK_TIMEOUT; a hook past it is killed with its
// process group, and the line says which setting to raise.
Result<ProcessStatus> run_hook(std::string_view what, std::string const& program, unsigned timeout_seconds, std::vector<std::string> arguments = {})
{
    std::vector<std::string> argv { program };
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    log::notice(cat("running ", what, " ", program));
    ProcessOptions options;
    options.timeout_ms = timeout_seconds * 1000;
    auto status = TRY(run_process(argv, options).context(cat(what, " (KDUMPBOX_HOOK_TIMEOUT=", timeout_seconds, " s)")));
    if (status.timed_out)
        log::error(cat(what, " ", program, " timed out: killed after KDUMPBOX_HOOK_TIMEOUT=", timeout_seconds, " s; raise it in /etc/sysconfig/kdumpbox (then kdump restart)"));
    else if (!status.success())
        log::warn(cat(what, " ", program, ": ", status.describe()));
    return status;
}

// The core_collector, with kdump-utils' conventions: file targets get
// "VMCORE DIR/vmcore-incomplete" as the last two arguments, raw and ssh
// targets get VMCORE alone with stdout on the device or the stream; -F as
// kdump start checked it (collector_argv_for).
Result<void> run_external_collector(CoreCollector const& collector, std::string const& vmcore, std::string const& output, int stdout_fd, unsigned timeout_seconds, int output_directory_fd = -1)
{
    std::vector<std::string> argv = collector_argv_for(collector.argv, stdout_fd >= 0 ? CollectorOutput::Stream : CollectorOutput::File);
    std::string command = join_command_words(argv);
    // The child may run in the dump directory: a relative input must
    // still name the same file.
    argv.push_back(output_directory_fd >= 0 && !vmcore.starts_with('/') ? TRY(real_path(vmcore)) : vmcore);
    ProcessOptions options;
    options.timeout_ms = timeout_seconds * 1000;
    if (stdout_fd >= 0) {
        options.stdout_fd = stdout_fd;
    } else if (output_directory_fd >= 0) {
        // Run in the dump directory, naming the file relative to it: a
        // path could be redirected by a link planted meanwhile, the
        // working directory cannot.
        options.working_directory_fd = output_directory_fd;
        argv.emplace_back(base_name(output));
    } else {
        argv.push_back(output);
    }
    log::notice(cat("core_collector: ", command));
    auto status = TRY(run_process(argv, options).context(cat("core_collector (KDUMPBOX_COLLECTOR_TIMEOUT=", timeout_seconds, " s)")));
    if (status.timed_out)
        return Error::with_code(ETIMEDOUT, cat("core_collector '", command, "' timed out: killed after KDUMPBOX_COLLECTOR_TIMEOUT=", timeout_seconds,
            " s; raise it in /etc/sysconfig/kdumpbox (then kdump restart)"));
    if (!status.success())
        return Error::invalid(cat("core_collector '", command, "' failed: ", status.describe()));
    return {};
}

// Where the files of one dump go: a directory on a mounted file system, or
// one on an ssh server. save_files takes the same steps into either.
struct DumpDestination {
    std::string directory; // as messages and the outcome name it
    // Writes NAME safely (NAME-incomplete, synced, renamed); returns where.
    std::function<Result<std::string>(std::string const& name, std::string_view text)> save_text;
    std::function<Result<void>()> save_vmcore;
    // The size of directory/NAME; nullopt when it is not there.
    std::function<std::optional<uint64_t>(std::string const& name)> file_bytes;
    // The status file: a placeholder first where that helps (a mounted
    // target: reserve_status_file; none for ssh), the last version at the
    // end. Both return where.
    std::function<Result<std::string>(DumpStatus const&)> reserve_status;
    std::function<Result<std::string>(DumpStatus const&)> write_status;
};

// The status file's facts as the save goes (core/system/dump_status.h);
// the clock starts when the wait for the target does.
struct StatusDraft {
    DumpStatus status;
    uint64_t started_ms { monotonic_ms() };
};

std::optional<uint64_t> local_file_bytes(std::string const& path)
{
    struct stat status;
    if (::stat(path.c_str(), &status) != 0 || !S_ISREG(status.st_mode))
        return std::nullopt;
    return static_cast<uint64_t>(status.st_size);
}

// The crashed kernel's release from its VMCOREINFO note; empty if unread.
std::string crashed_kernel_release(std::string const& vmcore_path)
{
    auto vmcore = VmcoreFile::open(vmcore_path);
    if (!vmcore.ok())
        return {};
    auto text = vmcore.value()->vmcoreinfo_text();
    if (!text)
        return {};
    auto info = VmcoreInfo::parse(*text);
    return info.ok() ? std::string(info.value().osrelease()) : std::string();
}

time_t capture_time(CaptureEnvironment const& environment) { return environment.now ? environment.now : ::time(nullptr); }

// vmcore-dmesg.txt first: it is small and often all that is needed, so it
// must be safe before the long write that may fill the disk.
void save_dmesg(CaptureEnvironment const& environment, DumpDestination const& destination, DumpStatus& status)
{
    uint64_t started_ms = monotonic_ms();
    auto text = read_dmesg(environment.vmcore_path);
    status.dmesg_ms = monotonic_ms() - started_ms;
    if (text.ok()) {
        status.panic = panic_line(text.value());
        if (status.kernel_release.empty())
            status.kernel_release = kernel_release_from_dmesg(text.value());
    }
    if (!text.ok()) {
        log::error(cat("vmcore-dmesg.txt: ", text.error().message(), "; going on with the vmcore"));
        return;
    }
    auto saved = destination.save_text("vmcore-dmesg.txt", text.value());
    if (!saved.ok())
        log::error(cat("vmcore-dmesg.txt: ", saved.error().message()));
    else
        log::notice(cat("saved ", saved.value()));
    status.dmesg_ms = monotonic_ms() - started_ms;
    if (saved.ok())
        status.dmesg_bytes = text.value().size();
}

// What the status file says the collector was.
std::string collector_description(KdumpConfig const& config, CollectorOptions const& builtin)
{
    if (config.core_collector)
        return config.core_collector->command;
    return cat("built-in (makedumpfile -z -d ", builtin.dump_level, builtin.format == DumpFormat::KdumpFlattened ? " -F" : "", ")");
}

// The crashed machine's memory the dump covers: the input's pages.
void record_collector_report(CollectorReport const& report, DumpStatus& status)
{
    if (auto bytes = checked_mul(report.present_pages, report.page_size_bytes))
        status.memory_bytes = *bytes;
    status.collector += collector_report_note(report); // a fallback, lost pages
}

CollectorOptions builtin_collector_options(CaptureEnvironment const& environment)
{
    CollectorOptions options;
    options.input_path = environment.vmcore_path;
    options.codec = Codec::Zstd;
    options.dump_level = 31;
    options.thread_count = environment.cpu_count ? environment.cpu_count : online_cpus();
    options.message_level = message_level::progress | message_level::common | message_level::error;
    return options;
}

// The built-in collector under KDUMPBOX_COLLECTOR_TIMEOUT, as an external
// one is. It runs in the save process (run_save_in_child), where SIGALRM's
// default action ends the process even from a killable wait (a pulled
// disk's dirty pages); PID 1 names the setting. 0 seconds: no alarm.
Result<CollectorReport> collect_within_budget(CollectorOptions const& options, unsigned budget_seconds)
{
    ::alarm(budget_seconds);
    auto report = collect(options);
    ::alarm(0);
    return report;
}

Result<void> save_vmcore_to_directory(KdumpConfig const& config, CaptureEnvironment const& environment, DirectoryFd const& directory, DumpStatus& status)
{
    std::string final_path = directory.path_of("vmcore");
    if (config.core_collector) {
        TRY(run_external_collector(*config.core_collector, environment.vmcore_path, final_path + "-incomplete", -1, environment.budgets.collector_seconds, directory.fd()));
        // The external program wrote the file; make it durable, then give
        // it its name, as the built-in collector does.
        auto file = TRY(SafeFile::adopt(directory, "vmcore"));
        return file.commit();
    }
    auto options = builtin_collector_options(environment);
    options.output_path = final_path;
    options.output_directory = &directory;
    auto report = TRY(collect_within_budget(options, environment.budgets.collector_seconds));
    record_collector_report(report, status);
    log::notice(cat("saved ", report.output_path, " (", report.output_bytes, " bytes, ", report.written_pages, " pages written)"));
    return {};
}

Result<void> save_vmcore_to_raw(KdumpConfig const& config, CaptureEnvironment const& environment, std::string const& device)
{
    auto fd = TRY(open_file(device, O_WRONLY | O_CLOEXEC));
    if (config.core_collector) {
        TRY(run_external_collector(*config.core_collector, environment.vmcore_path, device, fd.get(), environment.budgets.collector_seconds));
    } else {
        auto options = builtin_collector_options(environment);
        options.format = DumpFormat::KdumpFlattened;
        options.output_path = device;
        options.output_fd = fd.get();
        auto report = TRY(collect_within_budget(options, environment.budgets.collector_seconds));
        log::notice(cat("wrote a flattened dump of ", report.output_bytes, " bytes to ", device, "; 'kdump start' on the host rebuilds it"));
    }
    if (::fsync(fd.get()) != 0)
        return Error::from_errno(cat("fsync ", device));
    return fd.close_checked(device);
}

void save_own_log(DumpDestination const& destination)
{
    auto text = read_own_kernel_log();
    if (!text.ok()) {
        log::warn(cat("kexec-dmesg.log: ", text.error().message()));
        return;
    }
    auto saved = destination.save_text("kexec-dmesg.log", text.value());
    if (!saved.ok())
        log::warn(cat("kexec-dmesg.log: ", saved.error().message()));
}

// Last of all: the status file, saying how it went. A target that took
// the dump's files but refuses this one only costs the report.
void save_status(DumpDestination const& destination, StatusDraft& draft, CaptureOutcome const& outcome)
{
    auto& status = draft.status;
    if (outcome.saved) {
        status.outcome = DumpOutcome::Complete;
        status.vmcore_bytes = destination.file_bytes("vmcore");
    } else if (auto partial = destination.file_bytes("vmcore-incomplete")) {
        status.outcome = DumpOutcome::Incomplete;
        status.vmcore_bytes = partial;
    } else {
        status.outcome = DumpOutcome::Failed;
    }
    status.reason = outcome.failure;
    status.total_ms = monotonic_ms() - draft.started_ms;
    auto saved = destination.write_status(status);
    if (!saved.ok())
        log::warn(cat(dump_status_file_name, ": ", saved.error().message()));
    else
        log::notice(cat("saved ", saved.value(), " (", dump_outcome_name(status.outcome), ")"));
}

// From the dump directory on: kdump_pre, the files, kdump_post, the status.
CaptureOutcome save_files(KdumpConfig const& config, CaptureEnvironment const& environment, DumpDestination const& destination, StatusDraft& draft)
{
    CaptureOutcome outcome;
    outcome.dump_directory = destination.directory;
    log::notice(cat("saving the dump in ", outcome.dump_directory));
    draft.status.time_seconds = capture_time(environment);
    draft.status.collector = collector_description(config, builtin_collector_options(environment));
    draft.status.kernel_release = crashed_kernel_release(environment.vmcore_path);
    if (destination.reserve_status) {
        if (auto reserved = destination.reserve_status(draft.status); !reserved.ok())
            log::warn(cat(dump_status_file_name, ": ", reserved.error().message()));
    }

    if (config.kdump_pre) {
        auto status = run_hook("kdump_pre", *config.kdump_pre, environment.budgets.hook_seconds);
        if (!status.ok() || !status.value().success()) {
            outcome.failure = status.ok() ? cat("kdump_pre ", *config.kdump_pre, " failed (", status.value().describe(),
                                                status.value().timed_out ? cat(": KDUMPBOX_HOOK_TIMEOUT=", environment.budgets.hook_seconds, " s") : std::string(), "); the dump is not saved")
                                          : status.error().message();
            save_status(destination, draft, outcome);
            return outcome;
        }
    }
    save_dmesg(environment, destination, draft.status);
    uint64_t collector_started_ms = monotonic_ms();
    auto saved = destination.save_vmcore();
    draft.status.collector_ms = monotonic_ms() - collector_started_ms;
    outcome.saved = saved.ok();
    if (!saved.ok())
        outcome.failure = cat("vmcore: ", saved.error().message());
    save_own_log(destination);
    run_kdump_post_once(config, environment, outcome);
    save_status(destination, draft, outcome);
    return outcome;
}

CaptureOutcome failed(std::string message)
{
    CaptureOutcome outcome;
    outcome.failure = std::move(message);
    return outcome;
}

// KDUMP_NUM_DUMPS: before anything is written, the oldest dumps beside the
// new one go, so that with it at most N remain. A failure only warns: the
// new dump matters more than the old ones.
void keep_newest_dumps(CaptureEnvironment const& environment, std::string const& new_directory)
{
    if (!path_exists(environment.keep_dumps_path))
        return;
    auto text = read_text_file(environment.keep_dumps_path);
    auto keep = text.ok() ? parse_u64(trim(text.value()), "KDUMP_NUM_DUMPS") : Result<uint64_t>(text.error());
    if (!keep.ok()) {
        log::warn(cat(environment.keep_dumps_path, ": ", keep.error().message(), "; keeping every dump"));
        return;
    }
    if (keep.value() == 0)
        return;
    std::string parent = parent_directory(new_directory);
    auto removed = prune_dump_directories(parent, static_cast<unsigned>(std::min<uint64_t>(keep.value() - 1, UINT32_MAX)), base_name(new_directory));
    if (!removed.ok()) {
        log::warn(cat("KDUMP_NUM_DUMPS=", keep.value(), ": ", removed.error().message(), "; old dumps are kept"));
        return;
    }
    for (auto const& name : removed.value())
        log::notice(cat("removed the old dump ", path_join(parent, name), " (KDUMP_NUM_DUMPS=", keep.value(), ")"));
}

// The same steps for every mounted target (a disk, the root file system,
// an NFS export): PATH/<host-ip>-<date>/ there, the files, the unmount.
// directory_inside: where in the mounted file system (kdump.conf's path,
// or the directory kdump start recorded).
CaptureOutcome save_on_mounted(KdumpConfig const& config, CaptureEnvironment const& environment, MountedTarget& mounted, std::string const& directory_inside, StatusDraft& draft)
{
    CaptureOutcome outcome;
    auto directory = save_in_dump_directory(mounted, directory_inside, environment.host_ip, capture_time(environment), [&](DirectoryFd const& dump_directory) -> Result<void> {
        std::string const& path = dump_directory.path();
        draft.status.directory = path_join(directory_inside.empty() ? std::string("/") : directory_inside, base_name(path));
        keep_newest_dumps(environment, path);
        DumpDestination destination;
        destination.directory = path;
        destination.save_text = [&](std::string const& name, std::string_view text) { return write_file_safely(dump_directory, name, text); };
        destination.save_vmcore = [&] { return save_vmcore_to_directory(config, environment, dump_directory, draft.status); };
        destination.file_bytes = [&](std::string const& name) { return local_file_bytes(path_join(path, name)); };
        destination.reserve_status = [&](DumpStatus const& status) { return reserve_status_file(dump_directory, status); };
        destination.write_status = [&](DumpStatus const& status) { return finish_status_file(dump_directory, status); };
        outcome = save_files(config, environment, destination, draft);
        return {};
    });
    if (!directory.ok())
        outcome.failure = directory.error().message();
    return outcome;
}

CaptureOutcome mount_and_save(KdumpConfig const& config, CaptureEnvironment const& environment, DeviceSpec const& spec, std::string const& fs_type)
{
    StatusDraft draft;
    draft.status.target = cat(fs_type.empty() ? std::string("root file system") : fs_type, " ", spec.text());
    auto find = announce_device_wait(spec, config.disk_timeout_seconds, environment);
    TargetTimings timings;
    auto mounted = find_and_mount_target(spec, find, fs_type, environment.mount_point, "", &timings);
    if (!mounted.ok())
        return failed(mounted.error().message());
    draft.status.wait_target_ms = timings.wait_ms;
    draft.status.mount_ms = timings.mount_ms;
    return save_on_mounted(config, environment, mounted.value(), config.path, draft);
}

// A raw target: the flattened stream onto the device itself.
CaptureOutcome save_to_raw(KdumpConfig const& config, CaptureEnvironment const& environment, DeviceSpec const& spec, FindOptions const& find)
{
    auto device = find_device(spec, find);
    if (!device.ok())
        return failed(device.error().message());
    CaptureOutcome outcome;
    auto saved = save_vmcore_to_raw(config, environment, device.value());
    outcome.saved = saved.ok();
    if (!saved.ok())
        outcome.failure = cat("raw ", device.value(), ": ", saved.error().message());
    outcome.dump_directory = device.value();
    return outcome;
}

// A recorded target, if the initramfs has one at path.
Result<std::optional<ResolvedTarget>> read_resolved_target(std::string const& path)
{
    if (!path_exists(path))
        return std::optional<ResolvedTarget>();
    auto text = TRY(read_text_file(path));
    return std::optional<ResolvedTarget>(TRY(parse_resolved_target(text, path)));
}

// The LVM plan kdump start recorded, activated: /dev/mapper/VG-LV exists
// afterwards.
Result<void> activate_recorded_volume(std::string const& lvm_path, FindOptions const& find)
{
    auto text = read_text_file(lvm_path);
    if (!text.ok())
        return Error::with_code(text.error().errno_code(), cat(text.error().message(), "; the initramfs lacks the target's LVM plan: run 'kdump rebuild' on the host"));
    auto volume = TRY(parse_lvm_volume(text.value(), lvm_path));
    log::notice(cat("activating LVM logical volume ", volume.vg_name, "/", volume.lv_name, " (", volume.pv_uuids.size(), " physical volumes)"));
    auto node = TRY(activate_lvm_volume(volume, find));
    log::notice(cat("activated ", volume.vg_name, "/", volume.lv_name, " as ", node));
    return {};
}

// What kdump start resolved: the LV activated if planned, the device found
// by its recorded name, mounted with the recorded options, the dump under
// the recorded directory.
CaptureOutcome save_to_resolved(KdumpConfig const& config, CaptureEnvironment const& environment, ResolvedTarget const& target, std::string const& lvm_path)
{
    bool raw = target.kind == ResolvedTarget::Kind::Raw;
    log::notice(cat("dump target: ", raw ? std::string("raw") : target.fs_type, " ", target.device.text(),
        raw ? std::string() : cat(", directory ", target.directory, target.mount_options.empty() ? std::string() : cat(", mounted with ", target.mount_options)),
        " (recorded by kdump start)"));
    StatusDraft draft;
    draft.status.target = cat(raw ? std::string("raw") : target.fs_type, " ", target.device.text());
    auto find = announce_device_wait(target.device, config.disk_timeout_seconds, environment);
    if (target.lvm) {
        if (auto activated = activate_recorded_volume(lvm_path, find); !activated.ok())
            return failed(activated.error().message());
    }
    if (raw)
        return save_to_raw(config, environment, target.device, find);
    TargetTimings timings;
    auto mounted = find_and_mount_target(target.device, find, target.fs_type, environment.mount_point, target.mount_options, &timings);
    if (!mounted.ok())
        return failed(mounted.error().message());
    // The LVM activation counts as waiting for the target.
    draft.status.wait_target_ms = monotonic_ms() - draft.started_ms - timings.mount_ms;
    draft.status.mount_ms = timings.mount_ms;
    return save_on_mounted(config, environment, mounted.value(), target.directory, draft);
}

struct ReachedNetwork {
    NetworkPlan plan;
    Ipv4Address source; // the address the server sees: <host-ip>
};

// Both network targets start here: the plan kdump start recorded, brought
// up within disk_timeout (for a network target, the wait for its link and
// route). target names it in errors ("ssh root@backup").
Result<ReachedNetwork> bring_up_recorded_network(KdumpConfig const& config, CaptureEnvironment const& environment, std::string const& target)
{
    auto plan_text = read_text_file(environment.network_plan_path);
    if (!plan_text.ok())
        return Error::with_code(plan_text.error().errno_code(), cat(target, ": ", plan_text.error().message(), "; the initramfs lacks its network plan: run 'kdump rebuild' on the host"));
    ReachedNetwork reached { TRY(parse_network_plan(plan_text.value(), environment.network_plan_path)), {} };
    log::notice(cat("network: waiting up to ", config.disk_timeout_seconds, " s (disk_timeout) for ", reached.plan.interface_name, " (", reached.plan.mac.to_string(), ") and a route to ", reached.plan.target_address.to_string()));
    reached.source = TRY(bring_up_network(reached.plan, static_cast<int>(config.disk_timeout_seconds * 1000)).context(target));
    return reached;
}

// nfs: the network, then mount(2) with the options kdump start recorded
// from the host's own mount, at the address it resolved; then what every
// mounted target gets, in PATH/<source-ip>-<date>/ on the export.
CaptureOutcome save_over_nfs(KdumpConfig const& config, CaptureEnvironment const& environment)
{
    std::string target = cat("nfs ", config.target.value_text());
    StatusDraft draft;
    draft.status.target = target;
    auto network = bring_up_recorded_network(config, environment, target);
    if (!network.ok())
        return failed(network.error().message());
    draft.status.wait_target_ms = monotonic_ms() - draft.started_ms;
    auto options = read_text_file(environment.nfs_options_path);
    if (!options.ok())
        return failed(cat(target, ": ", options.error().message(), "; the initramfs lacks its mount options: run 'kdump rebuild' on the host"));
    auto mount = nfs_mount_from_target(config.target, trim(options.value()));
    if (!mount.ok())
        return failed(cat(target, ": ", mount.error().message(), " (in ", environment.nfs_options_path, "; run 'kdump rebuild' on the host)"));
    mount.value().server_address = network.value().plan.target_address.to_string();
    std::string source = network.value().source.to_string();
    uint64_t mount_started_ms = monotonic_ms();
    auto mounted = mount_nfs(mount.value(), environment.mount_point, source);
    if (!mounted.ok())
        return failed(mounted.error().message());
    draft.status.mount_ms = monotonic_ms() - mount_started_ms;
    CaptureEnvironment on_export = environment;
    on_export.host_ip = source;
    return save_on_mounted(config, on_export, mounted.value(), config.path, draft); // mount_nfs said where and which version
}

// ssh: the network first, then SFTP.
CaptureOutcome save_over_ssh(KdumpConfig const& config, CaptureEnvironment const& environment)
{
    std::string target = cat("ssh ", config.target.value_text());
    StatusDraft draft;
    draft.status.target = target;
    auto network = bring_up_recorded_network(config, environment, target);
    if (!network.ok())
        return failed(network.error().message());
    Ipv4Address source = network.value().source;
    auto session = connect_ssh_target(config, environment.known_hosts_path);
    if (!session.ok())
        return failed(session.error().message());
    auto& sftp = *session.value();
    log::notice(cat("connected to ", sftp.location(""), " (host key ", sftp.host_key_type(), " ", sftp.host_key_fingerprint(), ")"));
    draft.status.wait_target_ms = monotonic_ms() - draft.started_ms;
    if (path_exists(environment.keep_dumps_path))
        log::notice("KDUMP_NUM_DUMPS is not applied on ssh targets: old dumps on the server are kept");

    // kdump-utils' naming: the address the server sees, then the date.
    std::string path = config.path.empty() ? std::string(".") : config.path;
    std::string directory = cat(path, "/", source.to_string(), "-", dump_timestamp(capture_time(environment)));
    if (auto made = sftp.mkdir_p(directory); !made.ok())
        return failed(made.error().message());
    DumpDestination destination;
    destination.directory = sftp.location(directory);
    draft.status.directory = destination.directory;
    destination.save_text = [&](std::string const& name, std::string_view text) { return sftp_write_file_safely(sftp, directory, name, text); };
    destination.file_bytes = [&](std::string const& name) -> std::optional<uint64_t> {
        auto stat = sftp.stat(cat(directory, "/", name));
        if (!stat.ok() || !stat.value().has_size)
            return std::nullopt;
        return stat.value().size;
    };
    destination.write_status = [&](DumpStatus const& status) { return sftp_write_file_safely(sftp, directory, std::string(dump_status_file_name), format_dump_status(status)); };
    destination.save_vmcore = [&]() -> Result<void> {
        std::string where = sftp.location(cat(directory, "/vmcore"));
        auto produce = [&](int fd) -> Result<void> {
            // kdump-utils' ssh convention: the command gets VMCORE and
            // writes a flattened stream (makedumpfile -F) to stdout.
            if (config.core_collector)
                return run_external_collector(*config.core_collector, environment.vmcore_path, where, fd, environment.budgets.collector_seconds);
            auto options = builtin_collector_options(environment);
            options.format = DumpFormat::KdumpFlattened;
            options.output_fd = fd;
            options.output_path = where;
            record_collector_report(TRY(collect_within_budget(options, environment.budgets.collector_seconds)), draft.status);
            return {};
        };
        auto bytes = TRY(sftp_save_flattened_stream(sftp, directory, "vmcore", produce));
        log::notice(cat("saved ", where, " (", bytes, " bytes)"));
        return {};
    };
    return save_files(config, environment, destination, draft);
}

} // namespace

void run_kdump_post_once(KdumpConfig const& config, CaptureEnvironment const& environment, CaptureOutcome& outcome)
{
    if (!config.kdump_post || outcome.kdump_post_ran)
        return;
    outcome.kdump_post_ran = true;
    int status_code = outcome.saved ? 0 : outcome.killed_by_signal ? 128 + outcome.killed_by_signal : 1;
    auto status = run_hook("kdump_post", *config.kdump_post, environment.budgets.hook_seconds, { cat(status_code) });
    if (!status.ok())
        log::error(status.error().message());
}

TimeBudgets read_time_budgets(std::string const& path)
{
    auto settings = read_kdump_settings(path, IfMissing::UseDefaults);
    if (!settings.ok()) {
        log::warn(cat(settings.error().message(), "; using the default time budgets"));
        return {};
    }
    return settings.value().budgets;
}

Result<std::string> read_own_kernel_log()
{
    // SYSLOG_ACTION_SIZE_BUFFER, then SYSLOG_ACTION_READ_ALL.
    int size = ::klogctl(10, nullptr, 0);
    if (size <= 0)
        return Error::from_errno("klogctl: reading the kernel log's size");
    std::string text(static_cast<size_t>(size), '\0');
    int got = ::klogctl(3, text.data(), size);
    if (got < 0)
        return Error::from_errno("klogctl: reading the kernel log");
    text.resize(static_cast<size_t>(got));
    return text;
}

CaptureOutcome run_capture_to_rootfs(KdumpConfig const& config, CaptureEnvironment const& environment)
{
    auto recorded = read_resolved_target(environment.rootfs_target_path);
    if (!recorded.ok())
        return failed(recorded.error().message());
    if (recorded.value()) {
        log::notice("dumping to the root file system, as kdump start recorded it");
        return save_to_resolved(config, environment, *recorded.value(), environment.rootfs_lvm_volume_path);
    }
    auto cmdline = read_text_file(environment.proc_cmdline_path);
    if (!cmdline.ok())
        return failed(cmdline.error().message());
    std::string root = root_device_from_cmdline(cmdline.value());
    if (root.empty())
        return failed("the capture kernel's command line has no root=; add it (KDUMP_COMMANDLINE_APPEND) or configure a dump target in kdump.conf");
    log::notice(cat("dumping to the root file system ", root));
    auto spec = DeviceSpec::parse(root);
    if (!spec.ok())
        return failed(spec.error().message());
    return mount_and_save(config, environment, spec.value(), "");
}

CaptureOutcome run_capture(KdumpConfig const& config, CaptureEnvironment const& environment)
{
    if (::access(environment.vmcore_path.c_str(), R_OK) != 0)
        return failed(cat(environment.vmcore_path, " is not readable (", std::strerror(errno), "); this is not a capture kernel, or it was booted without elfcorehdr="));
    load_modules(environment);
    bool local = config.target.kind == TargetKind::None || config.target.kind == TargetKind::Raw
        || (config.target.kind == TargetKind::Filesystem && config.target.fs_type != "virtiofs");
    if (local) {
        auto resolved = read_resolved_target(environment.resolved_target_path);
        if (!resolved.ok())
            return failed(resolved.error().message());
        if (resolved.value())
            return save_to_resolved(config, environment, *resolved.value(), environment.lvm_volume_path);
        log::warn(cat(environment.resolved_target_path, " is missing: this initramfs was not built by 'kdump start'; using kdump.conf's target (or root=) as written"));
    }
    switch (config.target.kind) {
    case TargetKind::Filesystem:
        return mount_and_save(config, environment, config.target.device, config.target.fs_type);
    case TargetKind::None:
        return run_capture_to_rootfs(config, environment);
    case TargetKind::Raw:
        return save_to_raw(config, environment, config.target.device, announce_device_wait(config.target.device, config.disk_timeout_seconds, environment));
    case TargetKind::Ssh:
        return save_over_ssh(config, environment);
    case TargetKind::Nfs:
        return save_over_nfs(config, environment);
    }
    return failed("unknown target kind");
}

} // namespace core
