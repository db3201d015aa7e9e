// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/kexec/kexec_command.h"

#include "core/base/strings.h"
#include "core/config/kdump_conf.h"

#include <cerrno>

namespace core::kexec {

namespace {

constexpr cli::RefusedOption refused_options[] = {
    { 't', "type", cli::Arity::Required, "with kexec_file_load the kernel picks the image loader itself" },
    { 'i', "no-checks", cli::Arity::None, "purgatory checksums belong to classic kexec_load; the kernel does them for kexec_file_load" },
    { 0, "mem-min", cli::Arity::Required, "placement limits belong to classic kexec_load; the kernel places kexec_file_load segments" },
    { 0, "mem-max", cli::Arity::Required, "placement limits belong to classic kexec_load; the kernel places kexec_file_load segments" },
    { 0, "entry", cli::Arity::Required, "the entry point is the kernel's choice with kexec_file_load" },
    { 0, "load-preserve-context", cli::Arity::None, "preserving context (KEXEC_PRESERVE_CONTEXT) is not supported by kdumpbox's classic loader" },
    { 0, "load-jump-back-helper", cli::Arity::None, "jump-back is not supported by kdumpbox's classic loader" },
    { 0, "reuseinitrd", cli::Arity::None, "reusing the running kernel's initrd is not supported; give --initrd" },
    { 0, "elf32-core-headers", cli::Arity::None, "the kernel builds the crash ELF header itself with kexec_file_load" },
    { 0, "elf64-core-headers", cli::Arity::None, "the kernel builds the crash ELF header itself with kexec_file_load" },
    { 0, "dtb", cli::Arity::Required, "with kexec_file_load the kernel passes its own device tree" },
};

} // namespace

void declare_kexec_options(cli::OptionParser& parser, KexecCommand& command)
{
    parser.flag('v', "version", &command.version, "print the version and exit");
    parser.flag('l', "load", &command.load, "load KERNEL, to be started by 'kexec -e' (or a reboot)");
    parser.flag('p', "load-panic", &command.panic, "load KERNEL as the crash kernel (with -u, -S: act on the crash kernel)");
    parser.flag('u', "unload", &command.unload, "unload the kernel (with -p: the crash kernel)");
    parser.flag('e', "exec", &command.exec, "start the loaded kernel now");
    parser.flag('f', "force", &command.force, "load KERNEL and start it at once, without a shutdown");
    parser.value(0, "initrd", "FILE", &command.initrd, "the initrd (initramfs) for KERNEL");
    parser.value(0, "ramdisk", "FILE", &command.initrd, "the same as --initrd");
    parser.list(0, "append", "TEXT", &command.append, "add TEXT to the new kernel's command line (repeatable)");
    parser.list(0, "command-line", "TEXT", &command.append, "the same as --append");
    parser.flag(0, "reuse-cmdline", &command.reuse_cmdline, "start from this kernel's /proc/cmdline, without BOOT_IMAGE= (and, with -p, crashkernel=)");
    auto choose = [&command](LoadSyscall syscall) {
        return [&command, syscall](auto) -> Result<void> {
            command.syscall = syscall;
            return {};
        };
    };
    parser.custom('s', "kexec-file-syscall", cli::Arity::None, {}, choose(LoadSyscall::File), "load with kexec_file_load only (the kernel checks signatures; works under lockdown)");
    parser.custom('c', "kexec-syscall", cli::Arity::None, {}, choose(LoadSyscall::Classic), "load with classic kexec_load only (kdumpbox's own loader and purgatory)");
    parser.custom('a', "kexec-syscall-auto", cli::Arity::None, {}, choose(LoadSyscall::Auto), "kexec_file_load, and classic kexec_load if the kernel has no file load (the default)");
    parser.flag('S', "status", &command.status, "exit 1 if the crash kernel (with -l: the kexec kernel) is loaded, 0 if not");
    parser.flag('d', "debug", &command.debug, "print what is done, and ask the kernel to log the load (KEXEC_FILE_DEBUG)");
    parser.flag(0, "dry-run", &command.dry_run, "print the system call that would be made, and make none");
    parser.flag('x', "no-ifdown", &command.no_ifdown, "accepted: -e never takes network interfaces down");
    parser.flag('y', "no-sync", &command.no_sync, "do not sync file systems before -e or -f");
    parser.flag(0, "print-ckr-size", &command.print_reservation, "print the crashkernel= reservation size in bytes");
    parser.flag(0, "hotplug", &command.hotplug, "accepted: the kernel updates a kexec_file_load crash kernel on hotplug by itself");
    cli::add_refused_options(parser, refused_options, "kexec");
}

Result<CaptureKexecArgs> parse_capture_kexec_args(std::string_view kexec_args)
{
    auto words = TRY(split_command_words(kexec_args));
    KexecCommand command;
    cli::OptionParser parser;
    declare_kexec_options(parser, command);
    std::vector<std::string_view> views(words.begin(), words.end());
    auto parsed = parser.parse(views);
    if (!parsed.ok()) {
        if (parsed.error().errno_code() == ENOTSUP)
            return std::move(parsed).error();
        return Error::invalid(cat(parsed.error().message(), "; remove it ('kexec --help' lists the options kdumpbox's kexec takes)"));
    }
    if (!parsed.value().empty())
        return Error::invalid(cat("'", parsed.value().front(), "' is not an option; KEXEC_ARGS names no kernel (set KDUMPBOX_KERNEL, or KDUMP_KERNELVER)"));
    struct Owned {
        bool given;
        std::string_view option;
        std::string_view why;
    };
    Owned const owned[] = {
        { command.load || command.exec || command.force || command.unload || command.status,
            command.load ? "-l" : command.exec ? "-e" : command.force ? "-f" : command.unload ? "-u" : "-S",
            "kdump start chooses the action itself: it loads the crash kernel, as -p does" },
        { command.initrd.has_value(), "--initrd", "kdump start loads the initramfs it builds (KDUMPBOX_INITRD)" },
        { !command.append.empty(), "--append/--command-line", "kdumpctl's own --command-line comes after KEXEC_ARGS, so kexec-tools never used it; put the words in KDUMP_COMMANDLINE_APPEND" },
        { command.reuse_cmdline, "--reuse-cmdline", "the capture command line already starts from /proc/cmdline (KDUMP_COMMANDLINE replaces it)" },
        { command.dry_run, "--dry-run", "kdump start would load nothing" },
        { command.print_reservation || command.version, command.version ? "-v" : "--print-ckr-size", "it prints and loads nothing ('kdump showmem' shows the reservation)" },
    };
    for (auto const& option : owned) {
        if (option.given)
            return Error::invalid(cat(option.option, ": ", option.why, "; remove it"));
    }
    CaptureKexecArgs result;
    result.kernel_debug = command.debug;
    result.syscall = command.syscall;
    return result;
}

} // namespace core::kexec
