// SPDX-License-Identifier: GPL-2.0-or-later
// What `kdump start` checks beyond the dump target, so that a capture that
// is certain to fail is refused at start, with the file and line to fix:
// core_collector (makedumpfile's own option parser, kdump-utils' -F rule,
// an external program found on the host and put in the image), KEXEC_ARGS
// (applied, or each option refused by name), and compressed modules (the
// capture kernel or kdumpbox must be able to decompress each one).
#pragma once

#include "core/base/error.h"
#include "core/config/kdump_conf.h"
#include "core/control/kdump_control.h"

#include <optional>
#include <string>
#include <vector>

namespace core {

// core_collector as the capture side runs it.
struct CollectorPlan {
    // nullopt: the built-in collector. Otherwise the line the image's
    // kdump.conf carries (and `kdump show` prints): -F added or removed for
    // the target (collector_argv_for), an external program by the absolute
    // path it has on the host.
    std::optional<CoreCollector> effective;
    // An external collector's host path, for the image (with its libraries).
    std::optional<std::string> program;
    std::vector<std::string> warnings;
};
// Checks config's core_collector: makedumpfile through its own parser
// (check_makedumpfile_command) for the target's way of saving and, with
// failure_action dump_to_rootfs, for a file as well; any other program
// found on the host (a bare name in search_path, ':'-separated) or refused.
// A path to self_binary itself (the host link /usr/sbin/makedumpfile) runs
// as makedumpfile. Errors start with "FILE:LINE: core_collector ...".
Result<CollectorPlan> plan_core_collector(KdumpConfig const& config, std::string const& search_path, std::string const& self_binary);

// Every check above on a plan plan_capture has made, applying what they
// decide: the effective core_collector in plan.config and the image's
// kdump.conf, the external collector in the image, KEXEC_ARGS in
// plan.kexec_args, each module's storage (initramfs::choose_module_storage
// against BOOTDIR/config-RELEASE).
Result<void> apply_start_checks(CapturePlan& plan, HostPaths const& paths);

} // namespace core
