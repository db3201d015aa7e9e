// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/kexec/kexec.h"

#include "core/kexec/classic.h"

#include "core/base/bytes.h"
#include "core/config/cmdline.h"
#include "core/base/log.h"
#include "core/system/power.h"
#include "core/base/strings.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace core::kexec {

namespace {

constexpr uint64_t mebibyte = 1024 * 1024;
// What a decompressed kernel may grow to before we call it something else.
constexpr uint64_t max_unwrapped_bytes = 1024 * mebibyte;
// LINUX_REBOOT_CMD_KEXEC (linux/reboot.h), spelt out so no kernel header is needed.
constexpr int reboot_command_kexec = 0x45584543;

uint64_t mib_rounded_up(uint64_t bytes) { return (bytes + mebibyte - 1) / mebibyte; }

std::string_view errno_name(int errno_code)
{
    switch (errno_code) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    case EFBIG: return "EFBIG";
    case ETXTBSY: return "ETXTBSY";
    case ENOSYS: return "ENOSYS";
    case ENOEXEC: return "ENOEXEC";
    case ENODATA: return "ENODATA";
    case EBADMSG: return "EBADMSG";
    case ENOKEY: return "ENOKEY";
    case EKEYREJECTED: return "EKEYREJECTED";
    case ENOPKG: return "ENOPKG";
    case ELIBBAD: return "ELIBBAD";
    case EMSGSIZE: return "EMSGSIZE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    }
    return "errno";
}

std::string sysfs_kernel_file(SystemPaths const& paths, std::string_view name) { return cat(paths.sysfs, "/kernel/", name); }
std::string proc_sysctl_file(SystemPaths const& paths, std::string_view name) { return cat(paths.proc, "/sys/kernel/", name); }

Result<std::string> read_trimmed(std::string const& path)
{
    auto text = TRY(read_text_file(path, 4096));
    return std::string(trim(text));
}

// "none [integrity] confidentiality" -> "integrity".
std::string active_lockdown(std::string_view text)
{
    size_t open = text.find('[');
    size_t close = text.find(']', open == std::string_view::npos ? 0 : open);
    if (open == std::string_view::npos || close == std::string_view::npos)
        return std::string(trim(text));
    return std::string(text.substr(open + 1, close - open - 1));
}

std::string subject(FailureFacts const& facts)
{
    return cat("loading ", facts.kernel_path, " as the ", facts.target == Target::Panic ? "crash kernel" : "kexec kernel", " failed");
}

// After a failed crash load: is kdump still armed?
std::string disarm_note(FailureFacts const& facts)
{
    if (facts.target != Target::Panic || !facts.crash_loaded_after)
        return {};
    if (*facts.crash_loaded_after)
        return "; the crash kernel loaded before is still loaded, so kdump stays armed";
    if (facts.crash_loaded_before.value_or(false))
        return "; kdump is now disarmed: the kernel freed the crash kernel loaded before at the start of this attempt, so fix the cause and load again";
    return "; no crash kernel is loaded, so kdump is not armed";
}

// EPERM for loads and unloads: the causes that apply to both.
std::optional<std::string> permission_cause(FailureFacts const& facts)
{
    std::string_view limit_sysctl = facts.target == Target::Panic ? "kexec_load_limit_panic" : "kexec_load_limit_reboot";
    if (facts.has_cap_sys_boot == false)
        return std::string("this needs CAP_SYS_BOOT (in the initial user namespace); run it as root");
    if (facts.load_disabled == true)
        return std::string("kexec is disabled (sysctl kernel.kexec_load_disabled is 1, and only a reboot clears it)");
    if (facts.load_limit == 0)
        return cat("the kexec load limit is used up (sysctl kernel.", limit_sysctl, " is 0, and it can only be lowered until a reboot)");
    return std::nullopt;
}

std::string_view signature_problem(int errno_code)
{
    switch (errno_code) {
    case EKEYREJECTED: return "its signature was rejected";
    case ENOKEY: return "it is signed with a key the kernel does not have (not in the .secondary_trusted_keys or .platform keyring: UEFI db or MOK)";
    case EBADMSG: return "its signature is malformed";
    case ENODATA: return "it is not signed";
    case ENOPKG: return "its signature uses an algorithm this kernel cannot check";
    case ELIBBAD: return "its signature could not be verified";
    case EMSGSIZE: return "its signature block is damaged";
    }
    return {};
}

// What differs when classic kexec_load failed: lockdown and IMA refuse it
// outright (the file load is the way out), and its EINVAL is about our
// segments, not a flag. nullopt: the file load's explanation fits.
std::optional<std::string> classic_failure_detail(int errno_code, FailureFacts const& facts)
{
    switch (errno_code) {
    case ENOSYS:
        return std::string("this kernel has neither kexec_file_load nor classic kexec_load (built without CONFIG_KEXEC and CONFIG_KEXEC_FILE), or this build has no classic loader for the CPU (ENOSYS); boot a kernel with CONFIG_KEXEC_FILE=y or CONFIG_KEXEC=y");
    case EPERM:
        if (permission_cause(facts))
            return std::nullopt;
        if (!facts.lockdown.empty() && facts.lockdown != "none")
            return cat("the kernel is locked down ([", facts.lockdown, "], see /sys/kernel/security/lockdown), which refuses classic kexec_load outright (EPERM); use -s (kexec_file_load) with a kernel signed by a key it trusts");
        return std::string("operation not permitted (EPERM): check CAP_SYS_BOOT, /sys/kernel/security/lockdown (a locked-down kernel refuses classic kexec_load: use -s) and the sysctls kernel.kexec_load_disabled and kernel.kexec_load_limit_reboot/_panic");
    case EACCES:
        return std::string("access denied (EACCES): the integrity policy (IMA, under Secure Boot) blocks classic kexec_load because it cannot appraise the segments; use -s (kexec_file_load) with a signed kernel");
    case EINVAL:
        return cat("the kernel refused the classic load's segments (EINVAL): more than 16, unaligned, overlapping, outside the crash reservation, or an architecture (", classic_flags_text(facts.flags),
            ") it does not take; kexec -d --dry-run -c shows them, and the kernel log (dmesg) may say more");
    case EADDRNOTAVAIL:
        // The plan placed every crash segment in the highest "Crash kernel"
        // range, the one the kernel checks; the kernel disagreeing is ours to fix.
        if (facts.target == Target::Panic)
            return cat("the kernel refused a segment's address (EADDRNOTAVAIL): every crash segment must lie in its crash reservation (crashk_res, the highest \"Crash kernel\" range of /proc/iomem); kexec -d --dry-run -c shows where they went; please report it with /proc/iomem");
        break;
    }
    return std::nullopt;
}

struct Unwrapped {
    UniqueFd fd;
    arch::KernelImage image;
    uint64_t bytes { 0 };
};

Result<Unwrapped> unwrap_and_probe(int fd, StreamFormat compression, std::string const& path)
{
    int raw = ::memfd_create("kdumpbox-kexec-kernel", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (raw < 0)
        return Error::from_errno(cat("memfd_create for the decompressed ", path));
    Unwrapped result { UniqueFd(raw), {}, 0 };
    auto written = decompress_stream(fd, result.fd.get(), compression, max_unwrapped_bytes, path);
    if (!written.ok()) {
        Error error = std::move(written).error();
        if (error.errno_code() == EFBIG)
            return Error::with_code(EFBIG, cat(error.message(), "; that is not a kernel image"));
        return error;
    }
    result.bytes = written.value();
    // Nothing may change the image between our check and the kernel's read.
    (void)::fcntl(result.fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    std::vector<uint8_t> head(arch::kernel_image_probe_bytes());
    size_t got = TRY(pread_full(result.fd.get(), head, 0, "the decompressed kernel (memfd)"));
    head.resize(got);
    auto image = arch::probe_kernel_image(head);
    if (!image.ok())
        return Error::with_code(image.error().errno_code(), cat(path, ": ", stream_format_name(compression), "-compressed, but what it holds cannot be loaded: ", image.error().message()));
    result.image = std::move(image).release_value();
    return result;
}

std::string image_description(ProbedImage const& probed)
{
    if (probed.image)
        return probed.image->format;
    return cat(stream_format_name(probed.compression), "-compressed image");
}

Error open_error(std::string const& path, std::string_view what, std::string_view example)
{
    int code = errno;
    if (code == ENOENT)
        return Error::with_code(ENOENT, cat(path, ": no such file; give the path of ", what, " (for example ", example, ")"));
    if (code == EACCES)
        return Error::with_code(EACCES, cat(path, ": permission denied; reading ", what, " for kexec needs root"));
    return Error::from_errno(code, cat("open ", path));
}

Result<uint64_t> file_size(int fd, std::string const& path)
{
    struct stat status;
    if (::fstat(fd, &status) != 0)
        return Error::from_errno(cat("stat ", path));
    if (!S_ISREG(status.st_mode))
        return Error::invalid(cat(path, ": not a regular file; kexec_file_load reads kernels and initrds from regular files only"));
    return static_cast<uint64_t>(status.st_size);
}

// Records the kind of a failure for the caller that asked, and passes the
// error on.
Error failed_as(FailureKind* failure_kind, FailureKind kind, Error error)
{
    if (failure_kind)
        *failure_kind = kind;
    return error;
}

FailureFacts facts_for(LoadPlan const& plan)
{
    FailureFacts facts;
    facts.target = plan.request.target;
    facts.kernel_path = plan.request.kernel_path;
    facts.kernel_format = image_description(plan.kernel);
    facts.kernel_memory_bytes = std::max(plan.kernel.file_bytes, plan.kernel.image ? plan.kernel.image->memory_bytes : 0);
    facts.initrd_path = plan.request.initrd_path;
    facts.initrd_bytes = plan.initrd_bytes;
    facts.cmdline_bytes = plan.request.cmdline.empty() ? 0 : plan.request.cmdline.size() + 1;
    if (plan.kernel.image) {
        facts.max_cmdline_bytes = plan.kernel.image->max_cmdline_bytes;
        facts.cmdline_reserve_bytes = plan.kernel.image->cmdline_reserve_bytes;
    }
    facts.flags = plan.flags;
    facts.crash_reservation_bytes = plan.crash_reservation_bytes;
    facts.crash_loaded_before = plan.crash_loaded_before;
    return facts;
}

} // namespace

std::string_view target_name(Target target) { return target == Target::Panic ? "crash kernel" : "kernel"; }

std::string flags_text(unsigned long flags)
{
    static constexpr std::pair<unsigned long, std::string_view> names[] = {
        { file_unload, "KEXEC_FILE_UNLOAD" },
        { file_on_crash, "KEXEC_FILE_ON_CRASH" },
        { file_no_initramfs, "KEXEC_FILE_NO_INITRAMFS" },
        { file_debug, "KEXEC_FILE_DEBUG" },
    };
    std::string out;
    for (auto const& [bit, name] : names) {
        if (flags & bit) {
            out += cat(out.empty() ? "" : "|", name);
            flags &= ~bit;
        }
    }
    if (flags)
        out += cat(out.empty() ? "" : "|", hex(flags));
    return out.empty() ? std::string("0") : out;
}

Result<bool> is_loaded(Target target, SystemPaths const& paths)
{
    std::string path = sysfs_kernel_file(paths, target == Target::Panic ? "kexec_crash_loaded" : "kexec_loaded");
    auto text = read_trimmed(path);
    if (!text.ok())
        return Error::with_code(text.error().errno_code(), cat("cannot tell whether a ", target_name(target), " is loaded: ", text.error().message(), " (is sysfs mounted, and the kernel built with CONFIG_KEXEC_CORE?)"));
    if (text.value() == "0")
        return false;
    if (text.value() == "1")
        return true;
    return Error::invalid(cat(path, ": expected 0 or 1, found '", text.value(), "'"));
}

Result<uint64_t> crash_reservation_bytes(SystemPaths const& paths)
{
    std::string path = sysfs_kernel_file(paths, "kexec_crash_size");
    auto text = read_trimmed(path);
    if (!text.ok())
        return Error::with_code(text.error().errno_code(), cat("cannot read the crashkernel= reservation size: ", text.error().message(), " (is sysfs mounted, and the kernel built with CONFIG_CRASH_DUMP?)"));
    return parse_u64(text.value(), path);
}

Result<std::optional<uint64_t>> check_crash_reservation(SystemPaths const& paths)
{
    auto reservation = crash_reservation_bytes(paths);
    if (!reservation.ok())
        return std::optional<uint64_t>();
    if (reservation.value() == 0)
        return Error::with_code(ENOMEM, cat("no memory is reserved for a crash kernel (", sysfs_kernel_file(paths, "kexec_crash_size"),
            " is 0): add crashkernel=256M (or crashkernel=2G-64G:256M,64G-:512M) to the kernel command line, for example in GRUB_CMDLINE_LINUX, and reboot"));
    return std::optional<uint64_t>(reservation.value());
}

// ---- Command lines ----

Result<std::string> build_cmdline(CmdlineRequest const& request, SystemPaths const& paths)
{
    std::string base;
    std::vector<std::string> remove;
    if (request.reuse_current) {
        std::string path = cat(paths.proc, "/cmdline");
        auto text = read_text_file(path);
        if (!text.ok())
            return Error::with_code(text.error().errno_code(), cat("--reuse-cmdline: ", text.error().message()));
        base = std::move(text).release_value();
        remove.push_back("BOOT_IMAGE");
        if (request.target == Target::Panic)
            remove.push_back("crashkernel");
    }
    return edit_cmdline(base, remove, request.append);
}

// ---- Kernel images ----

Result<ProbedImage> probe_image(int fd, std::string const& path)
{
    ProbedImage probed;
    probed.file_bytes = TRY(file_size(fd, path));
    if (probed.file_bytes == 0)
        return Error::with_code(ENOEXEC, cat(path, ": the file is empty, not a kernel image"));
    std::vector<uint8_t> head(arch::kernel_image_probe_bytes());
    size_t got = TRY(pread_full(fd, head, 0, path));
    head.resize(got);
    probed.compression = detect_stream_format(head);
    if (can_decompress_stream(probed.compression)) {
        // Offered to the kernel as it is first, so IMA appraises the real
        // file; unwrapped only if the kernel refuses it.
        return probed;
    }
    if (probed.compression != StreamFormat::None) {
        std::string_view tool = stream_format_name(probed.compression);
        return Error::with_code(ENOEXEC, cat(path, ": ", tool, "-compressed, and this build has no ", tool, " decompressor; decompress it first (", tool, " -dc ", path, " > FILE, or ", tool, " -d on a copy) and load the result"));
    }
    auto image = arch::probe_kernel_image(head);
    if (!image.ok()) {
        int code = image.error().errno_code();
        if (code == ENOEXEC)
            return Error::with_code(ENOEXEC, cat(path, ": not a kernel image (", image.error().message(), ")"));
        return Error::with_code(code, cat(path, ": cannot be loaded: ", image.error().message()));
    }
    probed.image = std::move(image).release_value();
    return probed;
}

Result<UniqueFd> unwrap_image(int fd, StreamFormat compression, std::string const& path)
{
    auto unwrapped = TRY(unwrap_and_probe(fd, compression, path));
    return std::move(unwrapped.fd);
}

// ---- Loading ----

int real_kexec_file_load(int kernel_fd, int initrd_fd, std::string const& cmdline, unsigned long flags)
{
    long number = arch::kexec_file_load_syscall_number();
    if (number < 0)
        return ENOSYS;
    // The length counts the NUL; an empty line is passed as none at all.
    unsigned long length = cmdline.empty() ? 0 : cmdline.size() + 1;
    char const* text = cmdline.empty() ? nullptr : cmdline.c_str();
    if (::syscall(number, kernel_fd, initrd_fd, length, text, flags) == 0)
        return 0;
    return errno;
}

Result<LoadPlan> plan_load(LoadRequest request, SystemPaths const& paths)
{
    LoadPlan plan;
    plan.request = std::move(request);
    LoadRequest const& req = plan.request;

    if (req.target == Target::Panic) {
        plan.crash_reservation_bytes = TRY(check_crash_reservation(paths));
        auto loaded = is_loaded(Target::Panic, paths);
        if (loaded.ok())
            plan.crash_loaded_before = loaded.value();
    }

    auto kernel_fd = open_file(req.kernel_path, O_RDONLY);
    if (!kernel_fd.ok())
        return open_error(req.kernel_path, "a kernel image", "/boot/vmlinuz-$(uname -r)");
    plan.kernel_fd = std::move(kernel_fd).release_value();
    plan.kernel = TRY(probe_image(plan.kernel_fd.get(), req.kernel_path));

    if (req.initrd_path) {
        auto initrd_fd = open_file(*req.initrd_path, O_RDONLY);
        if (!initrd_fd.ok())
            return open_error(*req.initrd_path, "an initrd", "/boot/initrd.img-$(uname -r)");
        plan.initrd_fd = std::move(initrd_fd).release_value();
        plan.initrd_bytes = TRY(file_size(plan.initrd_fd.get(), *req.initrd_path));
        if (plan.initrd_bytes == 0)
            return Error::invalid(cat(*req.initrd_path, ": the initrd is empty; give a real one, or leave --initrd out"));
    }

    plan.flags = (req.target == Target::Panic ? file_on_crash : 0) | (req.initrd_path ? 0 : file_no_initramfs) | (req.kernel_debug ? file_debug : 0);

    if (plan.kernel.image && plan.kernel.image->max_cmdline_bytes && req.cmdline.size() > *plan.kernel.image->max_cmdline_bytes)
        return Error::invalid(cat("the command line is ", req.cmdline.size(), " bytes, but ", req.kernel_path, " takes at most ", *plan.kernel.image->max_cmdline_bytes, "; drop some parameters"));

    if (req.target == Target::Panic && plan.crash_reservation_bytes) {
        uint64_t kernel_bytes = facts_for(plan).kernel_memory_bytes;
        if (kernel_bytes + plan.initrd_bytes > *plan.crash_reservation_bytes)
            return Error::with_code(ENOMEM, cat(reservation_too_small_text(*plan.crash_reservation_bytes, kernel_bytes, plan.initrd_bytes), "; nothing was loaded or unloaded"));
    }
    return plan;
}

std::string describe_load(LoadPlan const& plan)
{
    LoadRequest const& req = plan.request;
    std::string initrd = req.initrd_path ? cat(plan.initrd_fd.get(), " (", *req.initrd_path, ")") : std::string("-1");
    std::string cmdline = req.cmdline.empty() ? std::string("cmdline_len=0, cmdline=NULL") : cat("cmdline_len=", req.cmdline.size() + 1, ", cmdline=\"", req.cmdline, "\"");
    std::string out = cat("kexec_file_load(kernel_fd=", plan.kernel_fd.get(), " (", req.kernel_path, ": ", image_description(plan.kernel), "), initrd_fd=", initrd, ", ", cmdline, ", flags=", flags_text(plan.flags), ")");
    if (can_decompress_stream(plan.kernel.compression))
        out += cat("; if the kernel refuses the ", stream_format_name(plan.kernel.compression), "-compressed file, the same call again with it decompressed into a memfd");
    return out;
}

Result<LoadOutcome> execute_load(LoadPlan& plan, SystemPaths const& paths, FileLoadCall const& call)
{
    LoadOutcome outcome;
    outcome.flags = plan.flags;
    int initrd_fd = plan.initrd_fd.valid() ? plan.initrd_fd.get() : -1;
    auto attempt = [&](int kernel_fd) {
        int code = call(kernel_fd, initrd_fd, plan.request.cmdline, outcome.flags);
        if (code == EINVAL && (outcome.flags & file_debug)) {
            // Flags are checked before anything else: retry without the one
            // that only kernels from 6.8 know.
            log::warn("this kernel does not know KEXEC_FILE_DEBUG (Linux 6.8 and later); loading without the kernel's debug messages");
            outcome.flags &= ~file_debug;
            outcome.dropped_debug = true;
            code = call(kernel_fd, initrd_fd, plan.request.cmdline, outcome.flags);
        }
        return code;
    };

    FailureFacts facts = facts_for(plan);
    log::debug(describe_load(plan));
    int code = attempt(plan.kernel_fd.get());
    UniqueFd unwrapped_fd;
    if (code != 0 && can_decompress_stream(plan.kernel.compression) && arch::is_image_format_rejection(code)) {
        log::debug(cat("the kernel refused the ", stream_format_name(plan.kernel.compression), "-compressed ", plan.request.kernel_path, " (", errno_name(code), "); decompressing it into a memfd"));
        auto unwrapped = unwrap_and_probe(plan.kernel_fd.get(), plan.kernel.compression, plan.request.kernel_path);
        if (!unwrapped.ok()) {
            if (plan.request.target == Target::Panic) {
                auto loaded = is_loaded(Target::Panic, paths);
                if (loaded.ok())
                    facts.crash_loaded_after = loaded.value();
            }
            // The kernel's refusal is what failed the load; ours only
            // failed to work around it.
            return Error::with_code(code, cat(unwrapped.error().message(), disarm_note(facts)));
        }
        unwrapped_fd = std::move(unwrapped.value().fd);
        facts.kernel_format = cat(unwrapped.value().image.format, " (decompressed from ", stream_format_name(plan.kernel.compression), ")");
        facts.kernel_memory_bytes = std::max(unwrapped.value().bytes, unwrapped.value().image.memory_bytes);
        facts.max_cmdline_bytes = unwrapped.value().image.max_cmdline_bytes;
        facts.cmdline_reserve_bytes = unwrapped.value().image.cmdline_reserve_bytes;
        log::debug(cat("decompressed to ", unwrapped.value().bytes, " bytes: ", unwrapped.value().image.format));
        outcome.unwrapped = true;
        code = attempt(unwrapped_fd.get());
    }
    if (code == 0) {
        log::debug(cat("loaded ", plan.request.kernel_path, " as the ", target_name(plan.request.target), " (flags ", flags_text(outcome.flags), ")"));
        return outcome;
    }
    facts.flags = outcome.flags;
    gather_permission_facts(facts, paths);
    if (plan.request.target == Target::Panic) {
        auto loaded = is_loaded(Target::Panic, paths);
        if (loaded.ok())
            facts.crash_loaded_after = loaded.value();
    }
    return explain_load_failure(code, facts);
}

Result<LoadOutcome> load(LoadRequest request, SystemPaths const& paths, FileLoadCall const& call)
{
    auto plan = TRY(plan_load(std::move(request), paths));
    return execute_load(plan, paths, call);
}

namespace {

// load_kernel's steps; `cmdline`, when given, replaces request.cmdline.
Result<LoadReport> run_load_sequence(LoadRequest request, CmdlineRequest const* cmdline, DryRun dry_run, FailureKind* failure_kind, SystemPaths const& paths, FileLoadCall const& call,
    ClassicLoadCall const& classic_call)
{
    if (request.target == Target::Panic) {
        auto reservation = check_crash_reservation(paths);
        if (!reservation.ok())
            return failed_as(failure_kind, FailureKind::NoCrashReservation, std::move(reservation).error());
    }
    if (cmdline) {
        auto built = build_cmdline(*cmdline, paths);
        if (!built.ok())
            return failed_as(failure_kind, FailureKind::Usage, std::move(built).error());
        request.cmdline = std::move(built).release_value();
    }
    if (request.syscall == LoadSyscall::Classic)
        return load_classic(request, dry_run, failure_kind, paths, classic_call);
    auto plan = plan_load(request, paths);
    if (!plan.ok())
        return failed_as(failure_kind, FailureKind::Failed, std::move(plan).error());
    LoadReport report;
    report.description = describe_load(plan.value());
    if (dry_run == DryRun::Yes) {
        if (request.syscall == LoadSyscall::Auto)
            report.description += "; if the kernel has no kexec_file_load (ENOSYS, EOPNOTSUPP), classic kexec_load instead";
        return report;
    }
    auto outcome = execute_load(plan.value(), paths, call);
    if (!outcome.ok()) {
        int code = outcome.error().errno_code();
        if (request.syscall == LoadSyscall::Auto && is_classic_fallback(code)) {
            // kexec-tools -a: a kernel without KEXEC_FILE still has kexec_load.
            log::info(cat("this kernel has no usable kexec_file_load (", errno_name(code), "); loading with classic kexec_load"));
            auto classic = load_classic(request, dry_run, failure_kind, paths, classic_call);
            if (classic.ok())
                classic.value().fallback_reason = cat("kexec_file_load: ", errno_name(code));
            return classic;
        }
        FailureKind kind = load_failure_kind(code);
        return failed_as(failure_kind, kind, std::move(outcome).error());
    }
    report.outcome = outcome.value();
    return report;
}

} // namespace

bool is_classic_fallback(int errno_code) { return errno_code == ENOSYS || errno_code == EOPNOTSUPP; }

Result<LoadReport> load_kernel(LoadRequest request, DryRun dry_run, FailureKind* failure_kind, SystemPaths const& paths, FileLoadCall const& call, ClassicLoadCall const& classic_call)
{
    return run_load_sequence(std::move(request), nullptr, dry_run, failure_kind, paths, call, classic_call);
}

Result<LoadReport> load_kernel(LoadRequest request, CmdlineRequest const& cmdline, DryRun dry_run, FailureKind* failure_kind, SystemPaths const& paths, FileLoadCall const& call,
    ClassicLoadCall const& classic_call)
{
    return run_load_sequence(std::move(request), &cmdline, dry_run, failure_kind, paths, call, classic_call);
}

namespace {
unsigned long file_unload_flags(Target target) { return file_unload | (target == Target::Panic ? file_on_crash : 0); }
}

std::string describe_unload(Target target, LoadSyscall syscall)
{
    std::string file = cat("kexec_file_load(-1, -1, 0, NULL, ", flags_text(file_unload_flags(target)), ")");
    std::string classic = cat("kexec_load(0, 0, NULL, ", classic_flags_text(target == Target::Panic ? classic_on_crash : 0), ")");
    switch (syscall) {
    case LoadSyscall::File: return file;
    case LoadSyscall::Classic: return classic;
    case LoadSyscall::Auto: break;
    }
    return cat(file, "; on ENOSYS or EOPNOTSUPP ", classic);
}

Result<void> unload(Target target, SystemPaths const& paths, FileLoadCall const& call, LoadSyscall syscall, ClassicLoadCall const& classic_call)
{
    log::debug(describe_unload(target, syscall));
    FailureFacts facts;
    facts.target = target;
    int code = 0;
    if (syscall != LoadSyscall::Classic)
        code = call(-1, -1, std::string(), file_unload_flags(target));
    if (syscall == LoadSyscall::Classic || (syscall == LoadSyscall::Auto && is_classic_fallback(code))) {
        // Either call empties the slot, whichever call filled it.
        facts.syscall = LoadSyscall::Classic;
        auto unloaded = classic_unload(target, classic_call);
        code = unloaded.ok() ? 0 : unloaded.error().errno_code();
    }
    if (code == 0)
        return {};
    gather_permission_facts(facts, paths);
    return explain_unload_failure(code, facts);
}

// ---- Starting the loaded kernel ----

std::string describe_exec(SyncFirst sync)
{
    if (sync == SyncFirst::Yes)
        return "sync, then call reboot(2) with LINUX_REBOOT_CMD_KEXEC to start the loaded kernel at once";
    return "call reboot(2) with LINUX_REBOOT_CMD_KEXEC without sync, to start the loaded kernel at once";
}

Error nothing_loaded_error(Target target)
{
    if (target == Target::Panic)
        return Error::with_code(ENOENT, "Nothing has been loaded! No crash kernel is loaded; load one with 'kexec -p KERNEL'");
    return Error::with_code(ENOENT, "Nothing has been loaded! Load a kernel with 'kexec -l KERNEL' first");
}

Result<void> require_loaded(Target target, SystemPaths const& paths, FailureKind* failure_kind)
{
    auto loaded = is_loaded(target, paths);
    if (!loaded.ok())
        return failed_as(failure_kind, FailureKind::Failed, std::move(loaded).error());
    if (!loaded.value())
        return failed_as(failure_kind, FailureKind::NothingLoaded, nothing_loaded_error(target));
    return {};
}

Result<void> exec_loaded(SyncFirst sync, DryRun dry_run, FailureKind* failure_kind, SystemPaths const& paths)
{
    TRY(require_loaded(Target::Reboot, paths, failure_kind));
    if (dry_run == DryRun::Yes)
        return {};
    log::debug(describe_exec(sync));
    if (sync == SyncFirst::Yes)
        ::sync();
    ::reboot(reboot_command_kexec);
    int code = errno;
    if (code == EPERM)
        return failed_as(failure_kind, FailureKind::Failed, Error::with_code(EPERM, "starting the loaded kernel needs CAP_SYS_BOOT; run it as root"));
    if (code == EINVAL)
        return failed_as(failure_kind, FailureKind::Failed, Error::with_code(EINVAL, "Nothing has been loaded! (the kernel says no kexec kernel is loaded; it may have been unloaded meanwhile)"));
    return failed_as(failure_kind, FailureKind::Failed, Error::from_errno(code, "reboot(2) with LINUX_REBOOT_CMD_KEXEC"));
}

// ---- Exit statuses ----

FailureKind load_failure_kind(int errno_code)
{
    // The errnos after which kexec-tools' do_kexec_file_load() returns
    // EFALLBACK instead of EFAILED.
    switch (errno_code) {
    case ENOSYS:
    case EINVAL:
    case ENOEXEC:
    case ENOTSUP:
        return FailureKind::FileLoadUnusable;
    }
    return FailureKind::Failed;
}

FailureKind unload_failure_kind(int errno_code)
{
    // kexec_file_unload(): only ENOSYS is EFALLBACK.
    return errno_code == ENOSYS ? FailureKind::FileLoadUnusable : FailureKind::Failed;
}

int status_exit_status(Result<bool> const& loaded)
{
    if (!loaded.ok())
        return 255;
    return loaded.value() ? 1 : 0;
}

// ---- Errors ----

void gather_permission_facts(FailureFacts& facts, SystemPaths const& paths)
{
    auto lockdown = read_trimmed(sysfs_kernel_file(paths, "security/lockdown"));
    if (lockdown.ok())
        facts.lockdown = active_lockdown(lockdown.value());
    PowerPlan direct_reboot;
    direct_reboot.direct = true; // what needs CAP_SYS_BOOT, as kexec does
    facts.has_cap_sys_boot = check_power_privilege(direct_reboot, paths.proc).ok();
    auto disabled = read_trimmed(proc_sysctl_file(paths, "kexec_load_disabled"));
    if (disabled.ok())
        facts.load_disabled = disabled.value() == "1";
    auto limit = read_trimmed(proc_sysctl_file(paths, facts.target == Target::Panic ? "kexec_load_limit_panic" : "kexec_load_limit_reboot"));
    if (limit.ok()) {
        auto value = parse_i64(limit.value(), "kexec load limit");
        if (value.ok())
            facts.load_limit = value.value();
    }
}

std::string reservation_too_small_text(uint64_t reservation_bytes, uint64_t kernel_bytes, uint64_t initrd_bytes)
{
    uint64_t kernel_mib = mib_rounded_up(kernel_bytes);
    uint64_t initrd_mib = mib_rounded_up(initrd_bytes);
    // Room to unpack the initrd and run the capture environment too, in
    // the spirit of kdumpctl estimate; rounded to 64 MiB.
    uint64_t suggestion_mib = align_up(std::max(kernel_mib + 2 * initrd_mib + 64, mib_rounded_up(reservation_bytes) + 64), 64);
    return cat("crashkernel reservation ", mib_rounded_up(reservation_bytes), " MiB too small for kernel (", kernel_mib, " MiB) + initrd (", initrd_mib,
        " MiB); raise crashkernel= on the kernel command line (for example crashkernel=", suggestion_mib, "M) and reboot, or use a smaller initrd");
}

Error explain_load_failure(int errno_code, FailureFacts const& facts)
{
    std::string what = subject(facts);
    std::string note = disarm_note(facts);
    auto fail = [&](std::string detail) { return Error::with_code(errno_code, cat(what, ": ", detail, note)); };
    if (facts.syscall == LoadSyscall::Classic) {
        if (auto classic = classic_failure_detail(errno_code, facts))
            return fail(*classic);
    }
    switch (errno_code) {
    case ENOSYS:
        return fail("this kernel has no kexec_file_load (it was built without CONFIG_KEXEC_FILE, or the architecture lacks the system call) (ENOSYS); leave out -s so that classic kexec_load is used, or boot a kernel with CONFIG_KEXEC_FILE=y");
    case EPERM: {
        if (auto cause = permission_cause(facts))
            return fail(cat("permission denied (EPERM): ", *cause));
        if (!facts.lockdown.empty() && facts.lockdown != "none")
            return fail(cat("the kernel is locked down ([", facts.lockdown, "], see /sys/kernel/security/lockdown) and did not accept ", facts.kernel_path,
                "'s signature (EPERM); use a kernel signed by a key it trusts (your distribution's, or one enrolled with mokutil)"));
        return fail("operation not permitted (EPERM): check CAP_SYS_BOOT, /sys/kernel/security/lockdown and the sysctls kernel.kexec_load_disabled and kernel.kexec_load_limit_reboot/_panic");
    }
    case EACCES:
        return fail(cat("access denied (EACCES): the integrity policy (IMA appraisal) rejected ", facts.kernel_path, "; sign it (evmctl ima_sign) or check the IMA policy"));
    case EKEYREJECTED:
    case ENOKEY:
    case EBADMSG:
    case ENODATA:
    case ENOPKG:
    case ELIBBAD:
    case EMSGSIZE:
        return fail(cat(facts.kernel_path, " is not signed by a key the kernel trusts: ", signature_problem(errno_code), " (", errno_name(errno_code), "), and signature enforcement is on",
            facts.lockdown.empty() ? std::string() : cat(" (lockdown: ", facts.lockdown, ")"), "; kexec never falls back to an unchecked load: use a kernel signed by your distribution, or enroll its key with mokutil"));
    case ENOEXEC:
        return fail(cat("the kernel's loader does not accept ", facts.kernel_format.empty() ? std::string("this image") : facts.kernel_format,
            " (ENOEXEC); use an uncompressed kernel image for this architecture", arch::kernel_image_hint().empty() ? std::string() : cat(" (", arch::kernel_image_hint(), ")")));
    case EINVAL: {
        uint64_t needed = facts.cmdline_bytes + facts.cmdline_reserve_bytes;
        if (facts.max_cmdline_bytes && facts.cmdline_bytes > 0 && needed > *facts.max_cmdline_bytes)
            return fail(cat("the command line is too long (EINVAL): ", facts.cmdline_bytes, " bytes with its NUL, plus ", facts.cmdline_reserve_bytes, " the kernel keeps for elfcorehdr=, is more than the ",
                *facts.max_cmdline_bytes, " this kernel image takes; drop some parameters"));
        return fail(cat("the kernel refused the request as invalid (EINVAL): the image may be damaged, the command line (", facts.cmdline_bytes, " bytes) too long, or a flag (", flags_text(facts.flags),
            ") unknown to this kernel; the kernel log (dmesg) names the reason"));
    }
    case EBUSY:
        return fail("another kexec load or unload is in progress, or a crash is being handled (EBUSY); try again in a moment");
    case ENOMEM:
    case EADDRNOTAVAIL:
        if (facts.target == Target::Panic && facts.crash_reservation_bytes)
            return fail(cat(reservation_too_small_text(*facts.crash_reservation_bytes, facts.kernel_memory_bytes, facts.initrd_bytes), " (", errno_name(errno_code), ")"));
        if (facts.target == Target::Panic)
            return fail(cat("the crash kernel reservation has no room for kernel (", mib_rounded_up(facts.kernel_memory_bytes), " MiB) + initrd (", mib_rounded_up(facts.initrd_bytes), " MiB) (",
                errno_name(errno_code), "); raise crashkernel= on the kernel command line and reboot"));
        return fail(cat("not enough free memory to stage kernel (", mib_rounded_up(facts.kernel_memory_bytes), " MiB) + initrd (", mib_rounded_up(facts.initrd_bytes), " MiB) (", errno_name(errno_code), "); free some memory and try again"));
    case EFBIG:
        return fail("the kernel image or initrd is larger than the kernel will read (EFBIG); use a smaller initrd");
    case ETXTBSY:
        return fail("the kernel image or initrd is open for writing by another process (ETXTBSY); wait until it is completely written");
    case ENOENT:
        return fail(cat("no such file (ENOENT): ", facts.kernel_path, facts.initrd_path ? cat(" or ", *facts.initrd_path) : std::string(), " went away"));
    }
    return fail(cat(std::strerror(errno_code), " (", errno_name(errno_code), ")"));
}

Error explain_unload_failure(int errno_code, FailureFacts const& facts)
{
    std::string what = cat("unloading the ", facts.target == Target::Panic ? "crash kernel" : "kexec kernel", " failed");
    auto fail = [&](std::string detail) { return Error::with_code(errno_code, cat(what, ": ", detail)); };
    if (facts.syscall == LoadSyscall::Classic) {
        if (auto classic = classic_failure_detail(errno_code, facts))
            return fail(*classic);
    }
    switch (errno_code) {
    case ENOSYS:
        return fail("this kernel has no kexec_file_load (built without CONFIG_KEXEC_FILE) and no kexec_load (ENOSYS)");
    case EPERM:
        if (auto cause = permission_cause(facts))
            return fail(cat("permission denied (EPERM): ", *cause));
        return fail("operation not permitted (EPERM): check CAP_SYS_BOOT and the sysctls kernel.kexec_load_disabled and kernel.kexec_load_limit_reboot/_panic");
    case EBUSY:
        return fail("another kexec load or unload is in progress, or a crash is being handled (EBUSY); try again in a moment");
    }
    return fail(cat(std::strerror(errno_code), " (", errno_name(errno_code), ")"));
}

} // namespace core::kexec
