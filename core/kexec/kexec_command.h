// SPDX-License-Identifier: GPL-2.0-or-later
// kexec-tools' command line: its options declared once, for the kexec
// applet and for KEXEC_ARGS, which `kdump start` adds to its crash load.
// Options kexec-tools has for the classic kexec_load path are refused by
// name with the reason, never silently ignored.
#pragma once

#include "core/base/cli.h"
#include "core/base/error.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core::kexec {

// Which system call loads: kexec -s (file), -c (classic kexec_load,
// core/kexec/classic.h), or -a, the default: file, falling back to classic
// on ENOSYS or EOPNOTSUPP (a kernel without KEXEC_FILE).
enum class LoadSyscall { Auto, File, Classic };

// The options as given, before any rule is applied.
struct KexecCommand {
    bool version { false };
    bool load { false }, panic { false }, unload { false }, exec { false }, force { false }, status { false };
    bool reuse_cmdline { false };
    LoadSyscall syscall { LoadSyscall::Auto }; // -a, -s, -c: the last one given wins
    bool debug { false };
    bool dry_run { false };
    bool no_ifdown { false }, no_sync { false }, print_reservation { false }, hotplug { false };
    std::optional<std::string> initrd;
    std::vector<std::string> append;
};

// kexec's options, declared on parser (the applet adds -h first), each
// storing into command, which must outlive the parser.
void declare_kexec_options(cli::OptionParser& parser, KexecCommand& command);

// What KEXEC_ARGS change in kdump start's crash load.
struct CaptureKexecArgs {
    bool kernel_debug { false }; // -d: KEXEC_FILE_DEBUG
    LoadSyscall syscall { LoadSyscall::Auto }; // -s, -c, -a
};
// KEXEC_ARGS (the settings file's words, kexec(8) syntax) through the same
// declarations. Taken: -d; -s, -c and -a (the system call); -p, which kdump
// start does anyway; -x, -y and --hotplug, which do nothing for a crash
// load. Everything else is an error naming the option and what to do
// instead: options that choose another action (-l, -e, -u,
// ...), or that kdump start owns (--initrd, --append, --reuse-cmdline),
// unknown options, and a kernel named here.
Result<CaptureKexecArgs> parse_capture_kexec_args(std::string_view kexec_args);

} // namespace core::kexec
