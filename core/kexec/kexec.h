// SPDX-License-Identifier: GPL-2.0-or-later
// Loading, unloading and starting kernels with kexec_file_load(2), for the
// kexec applet and, in-process, the kdump control applet. Only the file
// syscall is used: it is the one that works under lockdown and Secure Boot,
// and the kernel builds boot_params, the purgatory and the crash ELF header
// itself. Deciding (plan_*) is separate from doing (execute_*), so --dry-run
// prints the exact system call and the tests run the whole flow against a
// fake system call and a fake sysfs.
#pragma once

#include "arch/host.h"
#include "core/compress/compress.h"
#include "core/base/error.h"
#include "core/base/fd.h"
#include "core/kexec/kexec_command.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace core::kexec {

// Which kernel slot: the one `kexec -e` (or a reboot) starts, or the crash
// kernel a panic starts.
enum class Target { Reboot, Panic };
// --dry-run: plan and describe, change nothing.
enum class DryRun { No, Yes };
// Why a kexec step failed, for kexec(8)'s exit status (see "Exit statuses").
enum class FailureKind;
std::string_view target_name(Target target); // "kernel", "crash kernel"

// kexec_file_load flags (linux/kexec.h).
constexpr unsigned long file_unload = 0x1;
constexpr unsigned long file_on_crash = 0x2;
constexpr unsigned long file_no_initramfs = 0x4;
constexpr unsigned long file_debug = 0x8; // 6.8+; older kernels say EINVAL
std::string flags_text(unsigned long flags); // "KEXEC_FILE_ON_CRASH|KEXEC_FILE_NO_INITRAMFS", or "0"

// Where the kernel's interfaces live; tests point these at a temporary tree.
struct SystemPaths {
    std::string sysfs { "/sys" }; // kernel/kexec_loaded, kernel/kexec_crash_size, kernel/security/lockdown
    std::string proc { "/proc" }; // cmdline, sys/kernel/kexec_load_*, self/status
};

// kexec_loaded or kexec_crash_loaded.
Result<bool> is_loaded(Target target, SystemPaths const& paths = {});
// kexec_crash_size: the crashkernel= reservation in bytes, 0 when there is none.
Result<uint64_t> crash_reservation_bytes(SystemPaths const& paths = {});
// Before a crash load: an error saying how to reserve memory when
// kexec_crash_size is 0; the reservation otherwise, or nullopt when it
// cannot be read (the kernel then has the last word).
Result<std::optional<uint64_t>> check_crash_reservation(SystemPaths const& paths = {});

// ---- Command lines ----

struct CmdlineRequest {
    Target target { Target::Reboot };
    // Start from /proc/cmdline minus BOOT_IMAGE= (and, for the crash kernel,
    // crashkernel=, which would make it reserve memory inside its own).
    bool reuse_current { false };
    std::vector<std::string> append;
};
Result<std::string> build_cmdline(CmdlineRequest const& request, SystemPaths const& paths = {});

// ---- Kernel images ----

struct ProbedImage {
    // How the file is compressed (core/compress detects it).
    StreamFormat compression { StreamFormat::None };
    // Set when the file itself is an image this CPU's loader takes.
    std::optional<arch::KernelImage> image;
    uint64_t file_bytes { 0 };
};
// Reads the head of the file and decides: a loadable image, a gzip/zstd
// wrapped one (unwrapped only if the kernel refuses it), or an error naming
// the file and the problem (xz and friends: how to decompress it).
Result<ProbedImage> probe_image(int fd, std::string const& path);
// Decompresses a gzip or zstd image into a memfd (sealed size, at most
// 1 GiB) and checks that what comes out is a kernel image.
Result<UniqueFd> unwrap_image(int fd, StreamFormat compression, std::string const& path);

// ---- Loading ----

// A kexec_file_load call: returns 0 or the errno. Tests substitute their own.
using FileLoadCall = std::function<int(int kernel_fd, int initrd_fd, std::string const& cmdline, unsigned long flags)>;
int real_kexec_file_load(int kernel_fd, int initrd_fd, std::string const& cmdline, unsigned long flags);
// A classic kexec_load call (core/kexec/classic.h): returns 0 or the errno.
// The flags are passed as given (with the KEXEC_ARCH_* bits); unload is
// entry 0 with no segments. Tests substitute their own.
using ClassicLoadCall = std::function<int(uint64_t entry, std::span<arch::ClassicSegment const> segments, unsigned long flags)>;
int real_kexec_load(uint64_t entry, std::span<arch::ClassicSegment const> segments, unsigned long flags);

struct LoadRequest {
    std::string kernel_path;
    std::optional<std::string> initrd_path;
    std::string cmdline;
    Target target { Target::Reboot };
    bool kernel_debug { false }; // KEXEC_FILE_DEBUG: the kernel logs the load
    LoadSyscall syscall { LoadSyscall::Auto };
};

struct LoadPlan {
    LoadRequest request;
    UniqueFd kernel_fd;
    UniqueFd initrd_fd;
    ProbedImage kernel;
    uint64_t initrd_bytes { 0 };
    unsigned long flags { 0 };
    std::optional<uint64_t> crash_reservation_bytes; // Panic only; nullopt if unreadable
    std::optional<bool> crash_loaded_before;         // Panic only
};

// Opens and probes the files and checks what can be checked without
// touching the loaded kernels: the crashkernel= reservation exists and is
// big enough, the command line fits the image's limit. A failed crash load
// frees the loaded crash kernel first, so every refusal here keeps kdump armed.
Result<LoadPlan> plan_load(LoadRequest request, SystemPaths const& paths = {});
// The system call(s) the plan makes, on one line (for --dry-run and -d).
std::string describe_load(LoadPlan const& plan);

struct LoadOutcome {
    bool unwrapped { false };   // the kernel refused the compressed file; a memfd was loaded
    bool dropped_debug { false }; // the kernel did not know KEXEC_FILE_DEBUG
    unsigned long flags { 0 };  // as finally passed
};
// Its errors carry the errno of the kexec_file_load call that failed (see
// load_failure_kind), also when the kernel refused a compressed image and
// decompressing it failed too.
Result<LoadOutcome> execute_load(LoadPlan& plan, SystemPaths const& paths = {}, FileLoadCall const& call = real_kexec_file_load);
// plan_load + execute_load.
Result<LoadOutcome> load(LoadRequest request, SystemPaths const& paths = {}, FileLoadCall const& call = real_kexec_file_load);

// ---- The load sequence `kexec -l/-p/-f` and `kdump start` share ----

struct LoadReport {
    std::string description;            // the system call(s), as describe_load says
    std::optional<LoadOutcome> outcome; // nullopt after a dry run: nothing was loaded
    LoadSyscall syscall_used { LoadSyscall::File }; // File or Classic: which one loaded (or would)
    std::optional<std::string> fallback_reason;     // Auto fell back to classic: the file load's refusal
};
// For the crash kernel, the crashkernel= reservation first (kexec-tools
// checks it before it opens the image); then plan_load, and execute_load
// unless this is a dry run. On failure, *failure_kind (when given) says
// which step failed, as kexec(8)'s exit status does: NoCrashReservation,
// Failed for the plan, load_failure_kind of the system call's errno.
// request.syscall chooses the system call: Classic goes to load_classic
// (classic.h); Auto tries kexec_file_load and, when the kernel answers
// ENOSYS or EOPNOTSUPP, loads again with kexec_load.
Result<LoadReport> load_kernel(LoadRequest request, DryRun dry_run, FailureKind* failure_kind = nullptr, SystemPaths const& paths = {}, FileLoadCall const& call = real_kexec_file_load,
    ClassicLoadCall const& classic_call = real_kexec_load);
// kexec -l/-p/-f: the same, with request.cmdline built from `cmdline`
// (build_cmdline) right after the reservation check; a /proc/cmdline it
// cannot read is a Usage failure (kexec-tools die()s).
Result<LoadReport> load_kernel(LoadRequest request, CmdlineRequest const& cmdline, DryRun dry_run, FailureKind* failure_kind = nullptr, SystemPaths const& paths = {},
    FileLoadCall const& call = real_kexec_file_load, ClassicLoadCall const& classic_call = real_kexec_load);

// Whether Auto loads again with kexec_load after the file load's errno:
// ENOSYS (no CONFIG_KEXEC_FILE, or no syscall) and EOPNOTSUPP.
bool is_classic_fallback(int errno_code);

// kexec_file_load(-1, -1, 0, NULL, KEXEC_FILE_UNLOAD[|KEXEC_FILE_ON_CRASH]),
// or with Classic kexec_load(0, 0, NULL, [KEXEC_ON_CRASH]); Auto falls back
// to the classic call on ENOSYS. Either call unloads the slot's image
// however it was loaded. Its errors carry the kernel's errno.
std::string describe_unload(Target target, LoadSyscall syscall = LoadSyscall::Auto);
Result<void> unload(Target target, SystemPaths const& paths = {}, FileLoadCall const& call = real_kexec_file_load, LoadSyscall syscall = LoadSyscall::Auto,
    ClassicLoadCall const& classic_call = real_kexec_load);

// ---- Starting the loaded kernel ----

// "Nothing has been loaded!" (kexec-tools' words), and how to load one.
Error nothing_loaded_error(Target target);
// nothing_loaded_error when the slot is empty. On failure, *failure_kind
// (when given) is NothingLoaded for an empty slot, Failed when sysfs
// cannot tell.
Result<void> require_loaded(Target target, SystemPaths const& paths = {}, FailureKind* failure_kind = nullptr);

enum class SyncFirst { No, Yes };
std::string describe_exec(SyncFirst sync);
// `kexec -e`, and `kexec -f` after its load: require_loaded, then, unless a
// dry run, sync (unless told not to) and reboot(LINUX_REBOOT_CMD_KEXEC).
// Returns only on failure, or after a dry run. On failure, *failure_kind
// (when given) is require_loaded's kind, or Failed when reboot(2) came back.
Result<void> exec_loaded(SyncFirst sync, DryRun dry_run = DryRun::No, FailureKind* failure_kind = nullptr, SystemPaths const& paths = {});

// ---- Exit statuses ----

// Why kexec(8) failed, in the classes kexec-tools' exit status tells apart
// (kexec/kexec.c and kexec.h): main() returns the result of the step that
// failed, die() calls exit(1), and a negative result leaves as 256 + n.
enum class FailureKind {
    // usage() and die(): bad options, an unreadable /proc/cmdline...
    Usage,
    // -p with no crashkernel= reservation: kexec-tools checks before loading
    // and die()s ("Memory for crashkernel is not reserved").
    NoCrashReservation,
    // -e, or -f after its load, with no kernel loaded: die("Nothing has
    // been loaded!\n").
    NothingLoaded,
    // EFAILED (-1): a load, unload or reboot(2) that failed.
    Failed,
    // EFALLBACK (-3): the kernel has no kexec_file_load (ENOSYS), or refused
    // the image the way kexec-tools -a answers by retrying with classic
    // kexec_load (EINVAL, ENOEXEC, ENOTSUP; for unloads only ENOSYS). This
    // kexec has no kexec_load, so it always behaves as kexec-tools -s, which
    // exits with it.
    FileLoadUnusable,
};
// ENOCRASHKERNEL (-2, exit 254) has no kind: only kexec-tools' classic
// loaders return it, when the crash region they look up in /proc/iomem is
// missing after the reservation check passed.
constexpr int exit_status(FailureKind kind)
{
    switch (kind) {
    case FailureKind::Usage:
    case FailureKind::NoCrashReservation:
    case FailureKind::NothingLoaded:
        return 1;
    case FailureKind::Failed:
        return 255;
    case FailureKind::FileLoadUnusable:
        return 253;
    }
    return 255;
}
// The kind of a failed execute_load or unload, from the errno it carries.
FailureKind load_failure_kind(int errno_code);
FailureKind unload_failure_kind(int errno_code);
// -S: 1 when the kernel is loaded, 0 when not, 255 when sysfs cannot tell
// (kexec-tools' kexec_loaded() returns -1 then).
int status_exit_status(Result<bool> const& loaded);

// ---- Errors ----

// Everything the explanation of a failed load uses; the loader fills it in.
struct FailureFacts {
    Target target { Target::Reboot };
    LoadSyscall syscall { LoadSyscall::File }; // File or Classic: the call that failed
    std::string kernel_path;
    std::string kernel_format; // "bzImage, boot protocol 2.15 (decompressed from gzip)"
    uint64_t kernel_memory_bytes { 0 };
    std::optional<std::string> initrd_path;
    uint64_t initrd_bytes { 0 };
    uint64_t cmdline_bytes { 0 }; // with the NUL
    std::optional<uint64_t> max_cmdline_bytes;
    uint64_t cmdline_reserve_bytes { 0 };
    unsigned long flags { 0 };
    std::optional<uint64_t> crash_reservation_bytes;
    std::string lockdown;                  // the active mode: "none", "integrity", "confidentiality"; empty: unknown
    std::optional<bool> has_cap_sys_boot;
    std::optional<bool> load_disabled;     // kernel.kexec_load_disabled
    std::optional<int64_t> load_limit;     // kernel.kexec_load_limit_{reboot,panic}
    std::optional<bool> crash_loaded_before;
    std::optional<bool> crash_loaded_after;
};
// Reads lockdown, CapEff and the sysctls into facts.
void gather_permission_facts(FailureFacts& facts, SystemPaths const& paths);
// One line: what failed, why, and what to do. The errno is kept.
Error explain_load_failure(int errno_code, FailureFacts const& facts);
Error explain_unload_failure(int errno_code, FailureFacts const& facts);
// "crashkernel reservation N MiB too small for kernel (A MiB) + initrd (B MiB)..."
std::string reservation_too_small_text(uint64_t reservation_bytes, uint64_t kernel_bytes, uint64_t initrd_bytes);

} // namespace core::kexec
