// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/control/start_checks.h"

#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/strings.h"
#include "core/dump/makedumpfile.h"
#include "core/kexec/kexec_command.h"
#include "initramfs/modules.h"

#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

namespace core {

namespace {

bool same_file(std::string const& a, std::string const& b)
{
    struct stat first {}, second {};
    return ::stat(a.c_str(), &first) == 0 && ::stat(b.c_str(), &second) == 0 && first.st_dev == second.st_dev && first.st_ino == second.st_ino;
}

// A bare program name as the shell would find it in search_path; empty
// when no directory has an executable file of that name.
std::string find_in_search_path(std::string_view name, std::string const& search_path)
{
    for (auto directory : split(search_path, ':')) {
        if (directory.empty())
            continue;
        std::string candidate = path_join(directory, name);
        if (is_regular_file(candidate) && ::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return {};
}

} // namespace

Result<CollectorPlan> plan_core_collector(KdumpConfig const& config, std::string const& search_path, std::string const& self_binary)
{
    CollectorPlan plan;
    if (!config.core_collector)
        return plan;
    auto const& written = *config.core_collector;
    std::string where = cat(config.file_name, ":", written.line, ": core_collector ", written.command);
    auto argv = written.argv;
    if (argv.empty())
        return Error::invalid(cat(where, ": no command; name the collector (e.g. `core_collector makedumpfile -l --message-level 7 -d 31`) or remove the line for the built-in one"));
    std::string& program = argv.front();
    if (program.find('/') != std::string::npos) {
        if (!program.starts_with('/'))
            return Error::invalid(cat(where, ": '", program, "' is a relative path; write the absolute path (it is run at that path in the capture initramfs)"));
        if (!is_regular_file(program))
            return Error::with_code(ENOENT, cat(where, ": '", program, "' does not exist on this host; install it or fix the path (kdump start copies the collector into the capture initramfs)"));
        if (::access(program.c_str(), X_OK) != 0)
            return Error::with_code(EACCES, cat(where, ": '", program, "' is not executable; chmod +x it"));
        // The host link to kdumpbox itself: the applet the image has anyway.
        if (base_name(program) == "makedumpfile" && !self_binary.empty() && same_file(program, self_binary))
            program = "makedumpfile";
    } else if (program != "makedumpfile") {
        std::string found = find_in_search_path(program, search_path);
        if (found.empty())
            return Error::with_code(ENOENT, cat(where, ": '", program, "' is not found on this host (searched ", search_path, "); install it, or write its absolute path, so that kdump start can put it in the capture initramfs"));
        program = found;
    }

    bool stream = config.target.kind == TargetKind::Raw || config.target.kind == TargetKind::Ssh;
    auto output = stream ? CollectorOutput::Stream : CollectorOutput::File;
    auto effective = collector_argv_for(argv, output);
    if (runs_builtin_makedumpfile(effective)) {
        TRY(check_makedumpfile_command(effective, output).context(where));
        // dump_to_rootfs runs the same line into a file (the dumper applies
        // collector_argv_for there too).
        if (stream && config.failure_action == FailureAction::DumpToRootfs)
            TRY(check_makedumpfile_command(collector_argv_for(argv, CollectorOutput::File), CollectorOutput::File).context(cat(where, " (for failure_action dump_to_rootfs)")));
    } else {
        plan.program = effective.front();
        if (config.target.kind == TargetKind::Raw)
            plan.warnings.push_back(cat(where, ": not makedumpfile, so its stream on the raw device is not rebuilt at the next start (kdump-utils says the same); recover it by hand"));
    }
    plan.effective = CoreCollector { join_command_words(effective), effective, written.line };
    return plan;
}

Result<void> apply_start_checks(CapturePlan& plan, HostPaths const& paths)
{
    auto kexec_args = kexec::parse_capture_kexec_args(plan.settings.kexec_args);
    if (!kexec_args.ok())
        return std::move(kexec_args).error().with_context(cat(plan.settings.file_name, ":", plan.settings.kexec_args_line, ": KEXEC_ARGS '", plan.settings.kexec_args, "'"));
    plan.kexec_args = kexec_args.value();

    auto collector = TRY(plan_core_collector(plan.config, paths.program_search_path, plan.spec.kdumpbox_binary));
    for (auto const& warning : collector.warnings)
        log::warn(warning);
    if (collector.effective) {
        plan.config.core_collector = std::move(collector.effective);
        plan.spec.kdump_conf = format_effective_config(plan.config);
    }
    if (collector.program)
        plan.spec.collectors.push_back(*collector.program);

    if (!plan.spec.modules.empty()) {
        auto kernel = TRY(initramfs::module_decompression_for_config_file(cat(plan.settings.boot_dir, "/config-", plan.kernel_release)));
        TRY(initramfs::choose_module_storage(plan.spec.modules, kernel));
    }
    return {};
}

} // namespace core
