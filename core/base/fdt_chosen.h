// SPDX-License-Identifier: GPL-2.0-or-later
// The device tree a classic (kexec_load) load hands the next kernel on
// arm64: the running kernel's own tree from /sys/firmware/fdt with /chosen
// rewritten for the new kernel, as kexec-tools' arm64 loader and the
// kernel's own file loader (drivers/of/kexec.c) do.
#pragma once

#include "core/base/error.h"
#include "core/base/fdt.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace core::fdt {

// A physical memory range [start, start + size_bytes).
struct Range {
    uint64_t start { 0 };
    uint64_t size_bytes { 0 };
    bool operator==(Range const&) const = default;
};

struct ChosenRequest {
    std::string cmdline;                 // bootargs
    std::optional<Range> initrd; // where the initrd segment lies; nullopt: none
    // Crash loads only: where the ELF core header segment lies, and the
    // crashkernel= reservation(s) the capture kernel may use as its RAM.
    std::optional<Range> elfcorehdr;
    std::vector<Range> usable_memory;
};

// Fills the buffer with random bytes without blocking; false when the
// kernel's pool is not ready (getrandom(GRND_NONBLOCK) says EAGAIN).
using RandomFill = std::function<bool(std::span<uint8_t> buffer)>;
bool system_random_fill(std::span<uint8_t> buffer);

// Bytes of the rng-seed property written when the tree has none (the
// kernel's file loader writes 128, RNG_SEED_SIZE in drivers/of/kexec.c).
constexpr size_t rng_seed_bytes = 128;

// Rewrites /chosen (created if missing):
// - bootargs = cmdline;
// - linux,initrd-start/-end as 64-bit numbers, or both deleted without an
//   initrd so the new kernel does not take the old one's;
// - linux,elfcorehdr = <start size> and linux,usable-memory-range = the
//   ranges, highest first (the low one last, as kexec-tools and the kernel
//   order them), in the root's #address-cells/#size-cells, for a crash
//   load; both deleted otherwise (the running kernel may itself be a
//   capture kernel);
// - kaslr-seed, when the tree has it (the booted kernel zeroes the value it
//   consumed): 8 fresh random bytes, or 0 when no randomness is ready, which
//   leaves the new kernel unrandomised as kexec-tools does;
// - rng-seed: rng_seed_bytes fresh random bytes (the booted kernel removes
//   the one it consumed), deleted when no randomness is ready.
// Errors: an address or size that the root's cells cannot hold.
Result<void> rewrite_chosen(Tree& tree, ChosenRequest const& request, RandomFill const& random = system_random_fill);

// The running kernel's device tree (sysfs_root/firmware/fdt), parsed.
Result<Tree> read_running_device_tree(std::string const& sysfs_root);

// The DTB segment for the next kernel: read_running_device_tree,
// rewrite_chosen, serialise.
Result<std::vector<uint8_t>> build_next_device_tree(std::string const& sysfs_root, ChosenRequest const& request, RandomFill const& random = system_random_fill);

} // namespace core::fdt
