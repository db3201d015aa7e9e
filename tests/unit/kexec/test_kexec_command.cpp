// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/kexec/kexec_command.h"

#include <doctest.h>
#include <string>

using core::kexec::LoadSyscall;
using core::kexec::parse_capture_kexec_args;

TEST_CASE("KEXEC_ARGS: what maps onto kdump start's kexec_file_load is taken")
{
    auto none = parse_capture_kexec_args("");
    REQUIRE(none.ok());
    CHECK_FALSE(none->kernel_debug);
    // kdump-utils' default (-s), its -d, and options that change nothing
    // for a crash load.
    auto taken = parse_capture_kexec_args("-s -d -p --kexec-syscall-auto -x -y --hotplug");
    REQUIRE(taken.ok());
    CHECK(taken->kernel_debug);
    CHECK(parse_capture_kexec_args("--debug")->kernel_debug);
    // The system call: the last of -s, -c, -a wins, as in kexec-tools.
    CHECK(none->syscall == LoadSyscall::Auto);
    CHECK(parse_capture_kexec_args("-c")->syscall == LoadSyscall::Classic);
    CHECK(parse_capture_kexec_args("--kexec-syscall")->syscall == LoadSyscall::Classic);
    CHECK(parse_capture_kexec_args("-s")->syscall == LoadSyscall::File);
    CHECK(parse_capture_kexec_args("-c -s")->syscall == LoadSyscall::File);
    CHECK(parse_capture_kexec_args("-s -a")->syscall == LoadSyscall::Auto);
}

TEST_CASE("KEXEC_ARGS: everything else is refused, naming the option and what to do")
{
    auto error = [](std::string_view args) {
        auto parsed = parse_capture_kexec_args(args);
        REQUIRE_FALSE(parsed.ok());
        return parsed.error().message();
    };
    CHECK(error("-s --no-cma") == "unknown option '--no-cma' (see --help); remove it ('kexec --help' lists the options kdumpbox's kexec takes)");
    CHECK(error("-t bzImage") == "-t: not supported by this kexec: with kexec_file_load the kernel picks the image loader itself");
    CHECK(error("-e") == "-e: kdump start chooses the action itself: it loads the crash kernel, as -p does; remove it");
    CHECK(error("-u") == "-u: kdump start chooses the action itself: it loads the crash kernel, as -p does; remove it");
    CHECK(error("--initrd=/boot/x") == "--initrd: kdump start loads the initramfs it builds (KDUMPBOX_INITRD); remove it");
    CHECK(error("--command-line=quiet").starts_with("--append/--command-line: kdumpctl's own --command-line comes after KEXEC_ARGS"));
    CHECK(error("--reuse-cmdline").starts_with("--reuse-cmdline: the capture command line already starts from /proc/cmdline"));
    CHECK(error("--dry-run") == "--dry-run: kdump start would load nothing; remove it");
    CHECK(error("/boot/vmlinuz") == "'/boot/vmlinuz' is not an option; KEXEC_ARGS names no kernel (set KDUMPBOX_KERNEL, or KDUMP_KERNELVER)");
    CHECK(error("'-d") == "unterminated single quote");
}
