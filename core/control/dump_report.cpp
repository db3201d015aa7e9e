// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/control/dump_report.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/process.h"
#include "core/base/safe_file.h"
#include "core/base/strings.h"
#include "core/dump/collector.h"
#include "core/system/mountinfo.h"
#include "core/system/target.h"

#include <algorithm>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace core {

namespace {

constexpr uint64_t mebibyte = 1 << 20;
constexpr size_t record_limit_bytes = 4096;

uint64_t mib(uint64_t bytes) { return (bytes + mebibyte - 1) / mebibyte; }

std::optional<uint64_t> size_of(std::string const& path)
{
    struct stat status;
    if (::stat(path.c_str(), &status) != 0 || !S_ISREG(status.st_mode))
        return std::nullopt;
    return static_cast<uint64_t>(status.st_size);
}

} // namespace

FoundDump read_found_dump(std::string const& path)
{
    FoundDump found;
    found.path = path;
    std::string status_path = path_join(path, dump_status_file_name);
    if (path_exists(status_path)) {
        auto text = read_text_file(status_path, 64 << 10);
        auto parsed = text.ok() ? parse_dump_status(text.value(), status_path) : Result<DumpStatus>(text.error());
        if (parsed.ok()) {
            found.status = std::move(parsed).release_value();
            found.status.directory = path;
            found.has_status_file = true;
            return found;
        }
        log::warn(cat(parsed.error().message(), "; going by the dump's files instead"));
    }
    // No status file: an older kdumpbox's dump, or kdump-utils'.
    auto& status = found.status;
    status.directory = path;
    status.time_seconds = dump_directory_time(base_name(path));
    if ((status.vmcore_bytes = size_of(path_join(path, "vmcore")))) {
        status.outcome = DumpOutcome::Complete;
    } else if ((status.vmcore_bytes = size_of(path_join(path, "vmcore-incomplete")))) {
        status.outcome = DumpOutcome::Incomplete;
        status.reason = "vmcore-incomplete is left: the save stopped before the end";
    } else {
        status.outcome = DumpOutcome::Failed;
        status.reason = "no vmcore in the dump directory";
    }
    status.dmesg_bytes = size_of(path_join(path, "vmcore-dmesg.txt"));
    return found;
}

std::string format_report_record(ReportRecord const& record)
{
    auto line = [](std::string_view text) {
        std::string value(text.substr(0, 1024));
        std::replace_if(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }, ' ');
        return value;
    };
    return cat("# the last dump 'kdump start' reported\ndirectory=", line(record.directory), "\nsummary=", line(record.summary), "\n");
}

Result<ReportRecord> parse_report_record(std::string_view text, std::string_view name)
{
    if (text.size() > record_limit_bytes)
        return Error::invalid(cat(name, ": ", text.size(), " bytes, more than a record's ", record_limit_bytes, "; remove it"));
    ReportRecord record;
    bool has_directory = false, has_summary = false;
    unsigned number = 0;
    for (auto line : split(text, '\n')) {
        ++number;
        if (line.empty() || line.starts_with('#'))
            continue;
        size_t equals = line.find('=');
        std::string_view key = equals == std::string_view::npos ? line : line.substr(0, equals);
        std::string_view value = equals == std::string_view::npos ? std::string_view() : line.substr(equals + 1);
        bool& seen = key == "directory" ? has_directory : has_summary;
        if (equals == std::string_view::npos || (key != "directory" && key != "summary"))
            return Error::invalid(cat(name, ":", number, ": not a directory= or summary= line; remove the file"));
        if (seen)
            return Error::invalid(cat(name, ":", number, ": ", key, " is given twice; remove the file"));
        seen = true;
        (key == "directory" ? record.directory : record.summary) = std::string(value);
    }
    if (!has_directory || record.directory.empty())
        return Error::invalid(cat(name, ": no directory= line; remove the file"));
    return record;
}

Result<std::vector<FoundDump>> find_unreported_dumps(std::vector<std::string> const& parents, std::optional<ReportRecord> const& record)
{
    std::vector<std::string> paths;
    for (auto const& parent : parents) {
        if (!is_directory(parent))
            continue;
        for (auto const& name : TRY(list_dump_directories(parent)))
            paths.push_back(path_join(parent, name));
    }
    std::sort(paths.begin(), paths.end(), [](auto const& left, auto const& right) { return dump_directory_older(base_name(left), base_name(right)); });
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    if (!record) {
        if (paths.size() > 1)
            paths.erase(paths.begin(), paths.end() - 1);
    } else {
        std::string last = std::string(base_name(record->directory));
        std::erase_if(paths, [&](std::string const& path) { return path == record->directory || !dump_directory_older(last, base_name(path)); });
    }
    std::vector<FoundDump> found;
    for (auto const& path : paths)
        found.push_back(read_found_dump(path));
    return found;
}

namespace {

Result<void> run_notify(std::string const& command, FoundDump const& dump, unsigned timeout_ms)
{
    auto argv = TRY(split_command_words(command));
    if (argv.empty())
        return {};
    argv.push_back(dump.path);
    ProcessOptions options;
    options.timeout_ms = timeout_ms;
    auto const& status = dump.status;
    options.environment = {
        cat("KDUMPBOX_DUMP_DIRECTORY=", dump.path),
        cat("KDUMPBOX_DUMP_OUTCOME=", dump_outcome_name(status.outcome)),
        cat("KDUMPBOX_DUMP_REASON=", status.reason),
        cat("KDUMPBOX_DUMP_SUMMARY=", status.summary()),
        cat("KDUMPBOX_DUMP_TIME=", status.time_seconds),
        cat("KDUMPBOX_DUMP_KERNEL=", status.kernel_release),
        cat("KDUMPBOX_DUMP_PANIC=", status.panic),
        cat("KDUMPBOX_DUMP_STATUS_FILE=", dump.has_status_file ? path_join(dump.path, dump_status_file_name) : std::string()),
    };
    auto ran = TRY(run_process(argv, options).context(cat("KDUMPBOX_NOTIFY ", argv.front())));
    if (!ran.success())
        return Error::invalid(cat("KDUMPBOX_NOTIFY ", argv.front(), " ", dump.path, ": ", ran.describe(), ran.timed_out ? cat(" (", timeout_ms / 1000, " s)") : std::string()));
    return {};
}

std::string report_line(FoundDump const& dump)
{
    auto const& status = dump.status;
    std::string line = cat("crash dump: ", status.summary());
    if (!status.panic.empty())
        line += cat("; panic: ", status.panic);
    if (!dump.has_status_file)
        line += cat(" (no ", dump_status_file_name, "; going by its files)");
    return line;
}

} // namespace

std::vector<FoundDump> report_new_dumps(ReportInputs const& inputs)
{
    std::optional<ReportRecord> record;
    if (path_exists(inputs.record_path)) {
        auto text = read_text_file(inputs.record_path, record_limit_bytes + 1);
        auto parsed = text.ok() ? parse_report_record(text.value(), inputs.record_path) : Result<ReportRecord>(text.error());
        if (parsed.ok())
            record = std::move(parsed).release_value();
        else
            log::warn(cat(parsed.error().message(), "; reporting the newest dump only"));
    }
    auto found = find_unreported_dumps(inputs.dump_parents, record);
    if (!found.ok()) {
        log::warn(cat("looking for new dumps: ", found.error().message()));
        return {};
    }
    for (auto const& dump : found.value()) {
        if (dump.status.outcome == DumpOutcome::Complete)
            log::notice(report_line(dump));
        else
            log::error(report_line(dump));
        if (!inputs.notify_command.empty()) {
            if (auto notified = run_notify(inputs.notify_command, dump, inputs.notify_timeout_ms); !notified.ok())
                log::warn(notified.error().message());
        }
    }
    if (!found.value().empty()) {
        auto const& last = found.value().back();
        auto made = make_parent_directories(inputs.record_path);
        auto written = made.ok() ? write_text_atomically(inputs.record_path, format_report_record({ last.path, last.status.summary() })) : made;
        if (!written.ok())
            log::warn(cat("recording the last dump reported: ", written.error().message(), "; it will be reported again"));
    }
    return found.value();
}

std::string last_dump_line(std::string const& record_path)
{
    if (!path_exists(record_path))
        return "last dump: none reported yet ('kdump start' reports each new dump at boot)";
    auto text = read_text_file(record_path, record_limit_bytes + 1);
    auto record = text.ok() ? parse_report_record(text.value(), record_path) : Result<ReportRecord>(text.error());
    if (!record.ok())
        return cat("last dump: unknown (", record.error().message(), ")");
    return cat("last dump: ", record.value().summary.empty() ? record.value().directory : record.value().summary);
}

namespace {

// `path` below a mount point, without doubled slashes.
std::string below(std::string const& mount_point, std::string_view path)
{
    while (path.starts_with('/'))
        path.remove_prefix(1);
    return path.empty() ? mount_point : path_join(mount_point, path);
}

std::string without_trailing_slashes(std::string_view text)
{
    while (text.size() > 1 && text.ends_with('/'))
        text.remove_suffix(1);
    return std::string(text);
}

} // namespace

HostDumpPlaces host_dump_places(CapturePlan const& plan, HostPaths const& paths)
{
    HostDumpPlaces places;
    auto const& config = plan.config;
    auto add = [&](std::string path) {
        if (std::find(places.parents.begin(), places.parents.end(), path) == places.parents.end())
            places.parents.push_back(std::move(path));
    };
    std::string mountinfo_path = path_join(paths.proc, "self/mountinfo");
    auto mounts_text = read_text_file(mountinfo_path, 64 << 20);
    auto mounts = mounts_text.ok() ? parse_mountinfo(mounts_text.value(), mountinfo_path) : Result<std::vector<MountEntry>>(mounts_text.error());
    switch (config.target.kind) {
    case TargetKind::None:
    case TargetKind::Raw:
        // The default target is the file system holding `path` here; a raw
        // dump is rebuilt into `path` by kdump start.
        add(config.path);
        break;
    case TargetKind::Filesystem: {
        struct stat device {};
        bool found = false;
        if (plan.target && mounts.ok() && ::stat(plan.target->host_device.c_str(), &device) == 0) {
            for (auto const& mount : mounts.value()) {
                if (mount.major == major(device.st_rdev) && mount.minor == minor(device.st_rdev) && mount.root == "/") {
                    add(below(mount.mount_point, plan.target->target.directory));
                    found = true;
                    break;
                }
            }
        }
        if (!found)
            places.notes.push_back(cat("the dump target ", config.target.device.text(), " is not mounted on this host, so its dumps are not reported here: mount it to look, or mount it and run 'kdump restart' to have them reported"));
        break;
    }
    case TargetKind::Nfs: {
        std::string source = without_trailing_slashes(config.target.value_text());
        bool found = false;
        for (auto const& mount : mounts.ok() ? mounts.value() : std::vector<MountEntry>()) {
            if (mount.fs_type.starts_with("nfs") && without_trailing_slashes(mount.source) == source && mount.root == "/") {
                add(below(mount.mount_point, config.path));
                found = true;
                break;
            }
        }
        if (!found)
            places.notes.push_back(cat("the nfs export ", source, " is not mounted on this host, so its dumps are not reported here"));
        break;
    }
    case TargetKind::Ssh:
        places.notes.push_back(cat("dumps on the ssh target ", config.target.value_text(), " are not reported here: each has its ", dump_status_file_name, " file on the server"));
        break;
    }
    if (plan.rootfs)
        add(config.path);
    return places;
}

int effective_dump_level(KdumpConfig const& config)
{
    if (!config.core_collector)
        return 31;
    auto const& argv = config.core_collector->argv;
    for (size_t index = 0; index < argv.size(); ++index) {
        std::string_view word = argv[index];
        std::string_view value;
        if (word == "-d" && index + 1 < argv.size())
            value = argv[index + 1];
        else if (word.starts_with("-d") && word.size() > 2)
            value = word.substr(2);
        else if (word.starts_with("--dump-level="))
            value = word.substr(13);
        if (!value.empty()) {
            // makedumpfile's -d may be a comma list; the last level is the one written.
            auto levels = split(value, ',');
            auto level = parse_u64(levels.back(), "dump level");
            if (level.ok() && level.value() <= 31)
                return static_cast<int>(level.value());
        }
    }
    return 0;
}

Result<DumpSizeEstimate> estimate_dump_size(KdumpConfig const& config, std::string const& meminfo_path)
{
    auto text = TRY(read_text_file(meminfo_path));
    auto field = [&](std::string_view name) -> uint64_t {
        for (auto line : split(text, '\n')) {
            if (!line.starts_with(name) || line.size() <= name.size() || line[name.size()] != ':')
                continue;
            auto words = split(trim(line.substr(name.size() + 1)), ' ');
            auto kib = parse_u64(words.front(), name);
            return kib.ok() ? checked_mul(kib.value(), 1024).value_or(0) : 0;
        }
        return 0;
    };
    DumpSizeEstimate estimate;
    estimate.dump_level = effective_dump_level(config);
    estimate.memory_bytes = field("MemTotal");
    if (estimate.memory_bytes == 0)
        return Error::invalid(cat(meminfo_path, " has no MemTotal line"));
    uint64_t excluded = 0;
    std::vector<std::string> parts;
    if (estimate.dump_level & 16) {
        excluded += field("MemFree");
        parts.push_back("free");
    }
    if (estimate.dump_level & 8) {
        excluded += field("AnonPages");
        parts.push_back("user");
    }
    if (estimate.dump_level & (2 | 4)) {
        excluded += field("Cached") + field("Buffers");
        parts.push_back("cache");
    }
    estimate.bytes = excluded < estimate.memory_bytes ? estimate.memory_bytes - excluded : 0;
    estimate.basis = parts.empty() ? cat("dump level ", estimate.dump_level, " keeps all of MemTotal")
                                   : cat("MemTotal minus the ", join(parts, ", "), " pages dump level ", estimate.dump_level, " leaves out, as /proc/meminfo counts them now; before compression");
    return estimate;
}

std::optional<std::string> free_space_warning(std::string const& directory, DumpSizeEstimate const& estimate, FreeBytesFunction const& free_space)
{
    auto available = free_space(directory);
    if (!available.ok())
        return cat("cannot tell the free space for dumps: ", available.error().message());
    if (available.value() >= estimate.bytes)
        return std::nullopt;
    return cat("only ", mib(available.value()), " MiB free in ", directory, " for a dump of about ", mib(estimate.bytes), " MiB (", estimate.basis,
        "; all memory is ", mib(estimate.memory_bytes), " MiB): the next dump may be left incomplete; free some space or set KDUMP_NUM_DUMPS");
}

std::optional<CaptureImageFile> keep_dumps_image_file(KdumpSettings const& settings)
{
    if (settings.num_dumps == 0)
        return std::nullopt;
    CaptureImageFile file;
    file.path = std::string(capture_keep_dumps_path);
    file.data = cat(settings.num_dumps, "\n");
    file.reason = cat("KDUMP_NUM_DUMPS=", settings.num_dumps, ": the dumper keeps the newest ", settings.num_dumps);
    return file;
}

CaptureImageFile time_budgets_image_file(KdumpSettings const& settings)
{
    CaptureImageFile file;
    file.path = std::string(capture_time_budgets_path);
    file.data = format_time_budgets(settings.budgets);
    file.reason = "KDUMPBOX_HOOK_TIMEOUT, KDUMPBOX_COLLECTOR_TIMEOUT: the dumper's time budgets";
    return file;
}

void report_dumps_and_space(CapturePlan const& plan, HostPaths const& paths, FreeBytesFunction const& free_space)
{
    auto places = host_dump_places(plan, paths);
    for (auto const& note : places.notes)
        log::info(note);
    ReportInputs inputs;
    inputs.dump_parents = places.parents;
    inputs.record_path = paths.reported_record_path;
    inputs.notify_command = plan.settings.notify_command;
    report_new_dumps(inputs);

    auto estimate = estimate_dump_size(plan.config, path_join(paths.proc, "meminfo"));
    if (!estimate.ok()) {
        log::warn(cat("cannot estimate the dump's size: ", estimate.error().message()));
        return;
    }
    for (auto const& parent : places.parents) {
        // The directory may not exist yet: its nearest existing ancestor
        // is on the file system the dump goes to.
        std::string existing = parent;
        while (!is_directory(existing) && existing != "/" && existing != ".")
            existing = parent_directory(existing);
        if (auto warning = free_space_warning(existing, estimate.value(), free_space))
            log::warn(*warning);
    }
}

void write_rebuilt_raw_status(DirectoryFd const& dump_directory, std::string const& device, time_t when, Result<void> const& rebuilt, uint64_t rebuild_ms)
{
    std::string const& directory = dump_directory.path();
    DumpStatus status;
    status.time_seconds = when;
    status.target = cat("raw ", device);
    status.directory = directory;
    status.collector = "flattened stream on the raw device, rebuilt by 'kdump start'";
    status.collector_ms = rebuild_ms;
    std::string complete_path = path_join(directory, "vmcore");
    if (rebuilt.ok()) {
        status.outcome = DumpOutcome::Complete;
        status.vmcore_bytes = size_of(complete_path);
    } else if ((status.vmcore_bytes = size_of(complete_path + "-incomplete"))) {
        status.outcome = DumpOutcome::Incomplete;
        status.reason = rebuilt.error().message();
    } else {
        status.reason = rebuilt.error().message();
    }
    auto dmesg = read_dmesg(rebuilt.ok() ? complete_path : complete_path + "-incomplete");
    if (dmesg.ok()) {
        status.panic = panic_line(dmesg.value());
        status.kernel_release = kernel_release_from_dmesg(dmesg.value());
    }
    if (auto saved = write_file_safely(dump_directory, std::string(dump_status_file_name), format_dump_status(status)); !saved.ok())
        log::warn(cat(dump_status_file_name, ": ", saved.error().message()));
}

} // namespace core
