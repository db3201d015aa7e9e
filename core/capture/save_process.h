// SPDX-License-Identifier: GPL-2.0-or-later
// The save in a child of PID 1. The collector reads a crashed kernel's
// memory, the input most likely to be damaged: a fault, an abort, a failed
// allocation or the OOM killer there must end only the child. PID 1 then
// says how the child ended, runs kdump_post with the real status and goes
// on to its final or failure action.
#pragma once

#include "core/capture/dumper.h"

#include <functional>
#include <string_view>

namespace core {

// Runs save() in a forked child and returns the outcome it sends back over
// a pipe. A child that ends without sending one (killed by a signal, or an
// exit without a word) yields a failed outcome saying how it ended, with
// killed_by_signal set for a signal. One line (pid, how it ended) goes to
// the log either way. `what` names the save in that line ("the save").
// The child runs with the default signal dispositions (leave_pid1_fatal_path):
// its faults kill it, they never reboot the machine.
// With deadline_seconds (0: none), a child still running then is killed
// (SIGKILL) and waited for another 10 s at most: one stuck where no signal
// reaches it (uninterruptible I/O to a lost disk) is left behind, reaped
// later, and the outcome says the deadline passed.
CaptureOutcome run_save_in_child(std::string_view what, std::function<CaptureOutcome()> const& save, unsigned deadline_seconds = 0);

// The whole save's deadline from the budgets: the collector's, both hooks',
// the wait for the target and 15 minutes for the rest (mounting, dmesg,
// the status and log files). 0 when the collector has no budget.
unsigned save_deadline_seconds(TimeBudgets const& budgets, unsigned disk_timeout_seconds);

// A save that did not finish may leave the target mounted at mount_point
// (the child shares PID 1's mounts): detached, so that dump_to_rootfs can
// mount there. Nothing mounted: nothing done.
void detach_leftover_mounts(std::string const& mount_point);

// Fault injection for the VM tests (tests/vm/capture.sh): KDUMPBOX_FAULT
// in the environment (PID 1 gets it from the capture kernel's command
// line, KDUMP_COMMANDLINE_APPEND) makes the save process fail at its start:
// "segv" a fault, "abort" an abort, "oom" memory touched until the OOM
// killer ends it. Unset or anything else: nothing. Called in the child only.
void inject_save_fault_if_asked();

// The outcome as the child sends it, and back; exposed for tests. Parsing
// bounds every field by the text it is given.
std::string encode_capture_outcome(CaptureOutcome const& outcome);
Result<CaptureOutcome> decode_capture_outcome(std::string_view text);

} // namespace core
