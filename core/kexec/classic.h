// SPDX-License-Identifier: GPL-2.0-or-later
// Classic kexec_load(2): the generic machinery every CPU's classic loader
// shares. The kernel does nothing for us in this mode, so user space reads
// the memory map (/proc/iomem), places the segments, builds the crash ELF
// core header (crash_notes, vmcoreinfo, the crash memory ranges) and hands
// a purgatory the SHA-256 of what it loaded. The CPU's boot protocol
// (bzImage + boot_params, arm64 Image + DTB) is arch::plan_classic_load's.
// Everything reads below SystemPaths, and the system call is a
// ClassicLoadCall, so the tests run it all against a fake tree.
#pragma once

#include "arch/host.h"
#include "core/kexec/kexec.h"

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace core::kexec {

using Segment = arch::ClassicSegment;
using arch::IomemEntry;
using arch::PhysicalRange;

// kexec_load flags (linux/kexec.h); the CPU's KEXEC_ARCH_* goes in bits
// 16-31 (arch::kexec_load_arch_flags).
constexpr unsigned long classic_on_crash = 0x1;
constexpr size_t classic_max_segments = 16; // KEXEC_SEGMENT_MAX
std::string classic_flags_text(unsigned long flags); // "KEXEC_ON_CRASH|KEXEC_ARCH_X86_64"

// ---- The system call ----

// ClassicLoadCall and real_kexec_load are declared in kexec.h, with the
// file load's call.

// ---- /proc/iomem ----

// "start-last : name" lines, two spaces of indent per level. Lines it cannot
// read are errors naming the line (root sees real addresses; a non-root
// reader sees zeros, which is an error too: "run as root").
Result<std::vector<IomemEntry>> parse_iomem(std::string_view text);
Result<std::vector<IomemEntry>> read_iomem(SystemPaths const& paths = {});
// Every entry named exactly `name`, at any depth, in address order.
std::vector<PhysicalRange> iomem_ranges(std::span<IomemEntry const> iomem, std::string_view name);
// [a] minus every range of `holes`, in address order.
std::vector<PhysicalRange> subtract_ranges(std::vector<PhysicalRange> ranges, std::span<PhysicalRange const> holes);
// What a crash dump contains: System RAM (top-level entries and RAM nested
// below others, like "System RAM (kmem)") minus the "Crash kernel"
// reservation(s) and arch::crash_dump_excluded_ranges().
std::vector<PhysicalRange> crash_memory_ranges(std::span<IomemEntry const> iomem);

// ---- Placing segments ----

// Free memory, handed out by HoleRequest (arch/host.h): for -l the System
// RAM ranges, for -p the crash reservation(s). An address it returns is
// taken, so segments never overlap; it fails with ENOMEM (EADDRNOTAVAIL for
// -p: "crash reservation too small") naming the segment and the biggest hole.
class HoleFinder {
public:
    HoleFinder(std::vector<PhysicalRange> free_ranges, bool crash);
    Result<uint64_t> find(arch::HoleRequest const& request);
    arch::FindHole as_function();

private:
    std::vector<PhysicalRange> m_free;
    bool m_crash;
};

// ---- The crash ELF core header (what /proc/vmcore is built from) ----

struct NoteLocation {
    uint64_t physical { 0 };
    uint64_t bytes { 0 };
};
struct CrashHeaderFacts {
    uint16_t e_machine { 0 };
    std::vector<NoteLocation> cpu_notes; // one per present CPU: cpuN/crash_notes (+ crash_notes_size)
    NoteLocation vmcoreinfo;             // /sys/kernel/vmcoreinfo: "addr size"
    std::vector<PhysicalRange> memory;   // crash_memory_ranges
    // Kernel virtual addresses from /proc/kcore's PT_LOADs, when it can be read:
    // the linear map's vaddr - paddr (PAGE_OFFSET with KASLR), and the kernel
    // text's (vaddr of _text, its physical range).
    std::optional<uint64_t> linear_map_offset;
    std::optional<uint64_t> kernel_text_vaddr;
    std::optional<PhysicalRange> kernel_text;
};
// Reads the facts from sysfs, /proc/iomem (already parsed) and /proc/kcore.
// A CPU without crash_notes, or no vmcoreinfo, is an error naming the file.
Result<CrashHeaderFacts> read_crash_header_facts(std::span<IomemEntry const> iomem, SystemPaths const& paths = {});
// ELF64, little-endian, ET_CORE: one PT_NOTE per CPU note, one for
// VMCOREINFO, the kernel text PT_LOAD (when known), one PT_LOAD per memory
// range (vaddr from linear_map_offset, or 0). Padded to crash_header_bytes.
std::vector<uint8_t> build_crash_elf_header(CrashHeaderFacts const& facts);
// The header's size before building it (for placing it): page-rounded.
uint64_t crash_header_bytes(CrashHeaderFacts const& facts);

// ---- The purgatory ----

struct PurgatoryLayout {
    uint64_t entry_offset { 0 };
    uint64_t params_offset { 0 };
    uint64_t memory_bytes { 0 };
};
// Checks the blob's header (purgatory/purgatory.h): magic, version, the
// parameter block inside the blob.
Result<PurgatoryLayout> read_purgatory_layout(std::span<uint8_t const> blob);
// SHA-256 of the segments' bytes in order, as the purgatory computes it
// (purgatory/sha256.c, the one implementation, compiled into both).
std::array<uint8_t, 32> segments_digest(std::span<Segment const> segments);
// A copy of the blob with its parameter block filled: the regions and digest
// of `verified`, the registers, and PURGATORY_FLAG_SKIP_CHECK if asked.
Result<std::vector<uint8_t>> fill_purgatory(std::span<uint8_t const> blob, std::span<Segment const> verified, arch::PurgatoryRegisters const& registers, bool skip_check);

// ---- The whole classic load ----

struct ClassicLoadRequest {
    Target target { Target::Reboot };
    std::vector<uint8_t> kernel; // uncompressed
    std::vector<uint8_t> initrd;
    std::string cmdline;
    bool skip_check { false }; // kexec -i
};
struct ClassicPlan {
    std::vector<Segment> segments; // page-aligned, sorted, non-overlapping, at most 16
    uint64_t entry { 0 };          // the purgatory's entry
    unsigned long flags { 0 };     // with the KEXEC_ARCH_* bits
    std::string description;       // "kexec_load(entry 0x..., 5 segments: kernel 0x...+..., ..., KEXEC_ON_CRASH|...)"
};
// Reads /proc/iomem (and for -p the crash facts), places the ELF core header,
// asks arch::plan_classic_load for the CPU's segments, then places and fills
// the purgatory. Changes nothing on the system.
Result<ClassicPlan> plan_classic(ClassicLoadRequest request, SystemPaths const& paths = {});
// kexec_load(plan.entry, plan.segments, plan.flags); the error carries the errno.
Result<void> execute_classic(ClassicPlan const& plan, ClassicLoadCall const& call = real_kexec_load);
// kexec_load(0, 0, NULL, [KEXEC_ON_CRASH]): unloads whatever is loaded, by
// either system call (the kernel keeps one image per slot).
Result<void> classic_unload(Target target, ClassicLoadCall const& call = real_kexec_load);

// The load sequence's classic branch (load_kernel with LoadSyscall::Classic,
// or Auto after the file load's ENOSYS/EOPNOTSUPP): reads the kernel
// (unwrapping gzip/zstd) and initrd, plan_classic, then, unless a dry run,
// execute_classic; a failure is explained as for the file load
// (explain_load_failure with FailureFacts::syscall Classic).
Result<LoadReport> load_classic(LoadRequest const& request, DryRun dry_run, FailureKind* failure_kind, SystemPaths const& paths, ClassicLoadCall const& call);

} // namespace core::kexec
