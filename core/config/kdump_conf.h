// SPDX-License-Identifier: GPL-2.0-or-later
// The one parser for kdump's two configuration files, shared by every applet
// that needs them (kdump control, the initramfs builder, the capture side):
//
// - kdump.conf, in kdump-utils' syntax and with kdumpctl's strictness: what
//   to dump where, and what to do afterwards;
// - kdumpbox's settings file, in /etc/sysconfig/kdump's KEY="value" syntax
//   (read as text, never run by a shell): which kernel, initramfs and command
//   line the capture kernel gets.
//
// Parsing is pure text: no file system or network look-ups, so errors are
// about syntax and consistency only. Every error and warning is one line,
// "FILE:LINE: what is wrong; how to fix it". conf/README.md is the user's
// reference for both files.
#pragma once

#include "arch/host.h"
#include "core/base/error.h"
#include "core/base/power_action.h"
#include "core/config/device_spec.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core {

// ---- kdump.conf ----

// What happens when saving the dump failed (failure_action, or its old name
// `default`).
enum class FailureAction { Reboot, Halt, Poweroff, Shell, DumpToRootfs };
// What happens after the dump, saved or not (final_action).
// (final_action): a PowerAction, named as the reboot commands name it.
using FinalAction = PowerAction;
std::string_view failure_action_name(FailureAction action); // "dump_to_rootfs"
std::string_view final_action_name(FinalAction action);     // "poweroff"

enum class TargetKind {
    // No target line: dump to `path` on the file system that holds it on
    // the host, as kdump-utils does (findmnt --target); `kdump start`
    // resolves and records it (core/control resolve_local_target).
    None,
    Raw,        // raw <dev>: the dump is written onto the partition itself
    Filesystem, // <fstype> <dev>: mounted, then written to <mnt>/<path>/
    Nfs,        // nfs host:/export
    Ssh,        // ssh user@host
};
std::string_view target_kind_name(TargetKind kind); // "none", "raw", "file system", "nfs", "ssh"

// The file systems a `<fstype> <dev>` line may name.
bool is_target_fs_type(std::string_view word);


struct DumpTarget {
    TargetKind kind { TargetKind::None };
    std::string fs_type; // Filesystem: "ext4", "xfs", ..., "virtiofs"
    DeviceSpec device;   // Raw and Filesystem; for virtiofs a Path holding the tag
    // Nfs: the host (IPv6 without its brackets) and the exported directory.
    // Ssh: the host (as written, brackets included) and the user.
    std::string host;
    std::string nfs_export;
    std::string ssh_user;
    unsigned line { 0 }; // where the target line is; 0 for None
    // The target line's value as written back: "/dev/sda3", "host:/exp",
    // "[fd00::1]:/exp", "user@host".
    std::string value_text() const;
    // The directive: "raw", "ext4", "nfs", "ssh"; empty for None.
    std::string directive() const;
};

struct CoreCollector {
    std::string command;           // the directive's value, as written
    std::vector<std::string> argv; // split at blanks; '…' and "…" group, \ escapes
    unsigned line { 0 };           // where in kdump.conf; 0 when not read from one
};

constexpr std::string_view default_dump_path = "/var/crash";
constexpr std::string_view default_sshkey = "/root/.ssh/kdump_id_rsa";
constexpr unsigned default_disk_timeout_seconds = 180;
constexpr std::string_view default_kdump_conf_path = "/etc/kdump.conf";

struct KdumpConfig {
    std::string file_name; // what errors and warnings are prefixed with

    DumpTarget target;
    // Relative to the target's root; with no target, the host's directory,
    // on whatever file system holds it; not used by raw.
    std::string path { default_dump_path };
    // nullopt: kdumpbox's built-in collector (makedumpfile -z -d 31
    // --num-threads=<CPUs>, run in process). Otherwise the command runs with
    // makedumpfile's calling convention (see conf/README.md).
    std::optional<CoreCollector> core_collector;
    std::string sshkey { default_sshkey };
    // kdumpbox's own: the ssh target's port. kdump-utils takes it from
    // ssh_config, which the capture side has no ssh(1) to read.
    uint16_t ssh_port { 22 };
    std::optional<std::string> kdump_pre;
    std::optional<std::string> kdump_post;
    std::vector<std::string> extra_bins;
    std::vector<std::string> extra_modules;
    FailureAction failure_action { FailureAction::Reboot };
    FinalAction final_action { FinalAction::Reboot };
    // How long the capture side waits for the target's device to appear.
    // kdump-utils rejects the directive (systemd waits there); kdumpbox has
    // no systemd in its initramfs and honours it. 0: do not wait.
    unsigned disk_timeout_seconds { default_disk_timeout_seconds };
    bool force_rebuild { false };
    bool force_no_rebuild { false };

    // "FILE:LINE: ..." lines about accepted but discouraged input (`default`,
    // auto_reset_crashkernel). The parser never prints them.
    std::vector<std::string> warnings;
};

// An `nfs` line's value alone ("host:/export", "[fd00::1]:/export"), as
// mount-and-save takes it: a Nfs target, or the line's error without its
// FILE:LINE prefix.
Result<DumpTarget> parse_nfs_target(std::string_view value);

// The first error found, as "FILE:LINE: what; how to fix" (EINVAL).
Result<KdumpConfig> parse_kdump_conf(std::string_view text, std::string_view file_name);

// Whether a missing file is an error, or means "all defaults".
enum class IfMissing { Error, UseDefaults };
Result<KdumpConfig> read_kdump_conf(std::string const& path, IfMissing if_missing = IfMissing::Error);

// What `kdump show` prints: every directive with the defaults filled in, in
// kdump.conf syntax (parse_kdump_conf reads it back to the same settings).
// Directives with no value (no target, no hooks, the built-in collector) are
// comment lines saying what happens instead.
std::string format_effective_config(KdumpConfig const& config);

// Splits a command the way a shell would split words, without expanding
// anything: blanks separate, '…' and "…" group, a backslash escapes the next
// character (outside single quotes). An unterminated quote is an error.
Result<std::vector<std::string>> split_command_words(std::string_view command);
// The words joined with blanks, each quoted only when it needs it, so that
// split_command_words reads back the same words.
std::string join_command_words(std::vector<std::string> const& words);

// ---- Settings (/etc/sysconfig/kdump's variables, plus kdumpbox's own) ----

constexpr std::string_view default_settings_path = "/etc/sysconfig/kdumpbox";
constexpr std::string_view default_initrd_directory = "/var/lib/kdumpbox";

// The capture side's time budgets, in seconds (0: no limit). When one runs
// out the child is killed (its process group), the failure recorded and
// failure_action run. kdump start carries them into the capture initramfs
// as KEY=value lines at capture_time_budgets_path, which the dumper reads
// with the same parser.
struct TimeBudgets {
    // KDUMPBOX_HOOK_TIMEOUT: each run of kdump_pre and kdump_post.
    unsigned hook_seconds { 300 };
    // KDUMPBOX_COLLECTOR_TIMEOUT: the collector, built-in or an external
    // core_collector, from start to end, on every target (the producer of
    // an ssh target's stream too);
    // generous, since a large machine's dump takes hours.
    unsigned collector_seconds { 21600 };
};
inline constexpr std::string_view capture_time_budgets_path = "/etc/kdumpbox/time-budgets";
// The KEY=value lines for capture_time_budgets_path.
std::string format_time_budgets(TimeBudgets const& budgets);

struct KdumpSettings {
    std::string file_name;

    // KDUMP_KERNELVER: the capture kernel's release; empty: the running one.
    std::string kernel_version;
    // KDUMP_COMMANDLINE: replaces /proc/cmdline as the starting point; empty:
    // /proc/cmdline.
    std::string commandline;
    // KDUMP_COMMANDLINE_REMOVE / _APPEND (space-separated).
    std::string commandline_remove { arch::capture_cmdline_remove_default() };
    std::string commandline_append { arch::capture_cmdline_append_default() };
    // KEXEC_ARGS: extra options for the capture kernel's load, in kexec(8)
    // syntax; kept as written here, applied or refused by kdump start
    // (core/kexec/kexec_command.h).
    std::string kexec_args;
    unsigned kexec_args_line { 0 }; // where it was set; 0: not set
    // KDUMP_BOOTDIR, KDUMP_IMG, KDUMP_IMG_EXT: the capture kernel is
    // BOOTDIR/IMG-VERSION+EXT unless KDUMPBOX_KERNEL says otherwise.
    std::string boot_dir { "/boot" };
    std::string image { "vmlinuz" };
    std::string image_ext;
    // KDUMPBOX_KERNEL: the capture kernel's path; empty: as above.
    std::string kernel_path;
    // KDUMPBOX_INITRD: where the capture initramfs is built; empty:
    // /var/lib/kdumpbox/initramfs-VERSION.img.
    std::string initrd_path;
    // KDUMPBOX_CONF: the kdump.conf to read.
    std::string conf_path { default_kdump_conf_path };
    // KDUMP_NUM_DUMPS (Debian's name): the dumper keeps the newest N dumps
    // on a local or nfs target, removing older ones before it writes; 0
    // keeps them all.
    unsigned num_dumps { 0 };
    // KDUMPBOX_NOTIFY: a program (absolute path, then arguments; split as
    // kdump.conf's commands, no shell) that `kdump start` runs for each new
    // dump it reports, with the dump directory as its last argument.
    std::string notify_command;
    TimeBudgets budgets;

    // "FILE:LINE: ..." lines for /etc/sysconfig/kdump variables kdumpbox
    // accepts but does not use.
    std::vector<std::string> warnings;
};

// KEY="value" / KEY='value' / KEY=value lines, `#` comments (also after the
// value), an optional leading `export`. Nothing is expanded or run: `$` and
// backquotes outside single quotes are errors. Unknown keys are errors.
Result<KdumpSettings> parse_kdump_settings(std::string_view text, std::string_view file_name);
Result<KdumpSettings> read_kdump_settings(std::string const& path, IfMissing if_missing = IfMissing::Error);

// The settings in effect, every variable with its value (defaults filled
// in), as KEY='value' lines parse_kdump_settings reads back the same.
std::string format_effective_settings(KdumpSettings const& settings);

// The capture kernel's release: KDUMP_KERNELVER, else running_release
// (uname -r).
std::string capture_kernel_version(KdumpSettings const& settings, std::string_view running_release);
// KDUMPBOX_KERNEL, else KDUMP_BOOTDIR/KDUMP_IMG-VERSION+KDUMP_IMG_EXT.
std::string capture_kernel_path(KdumpSettings const& settings, std::string_view running_release);
// KDUMPBOX_INITRD, else /var/lib/kdumpbox/initramfs-VERSION.img.
std::string capture_initrd_path(KdumpSettings const& settings, std::string_view running_release);

// The capture kernel's command line: KDUMP_COMMANDLINE if set, else
// proc_cmdline; minus the KDUMP_COMMANDLINE_REMOVE keys and the ones that
// never belong there (BOOT_IMAGE, crashkernel, panic_on_warn); plus
// KDUMP_COMMANDLINE_APPEND. Words after "--" (init's) are kept as they are.
std::string build_capture_cmdline(std::string_view proc_cmdline, KdumpSettings const& settings);

} // namespace core
