// SPDX-License-Identifier: GPL-2.0-or-later
// Reads the crashed kernel's virtual addresses (struct pages through
// vmemmap, mem_section, the printk ring). An interface so that unit tests of
// the page filter and of dmesg extraction can feed it from a map of bytes.
#pragma once

#include "core/base/bytes.h"
#include "core/base/error.h"

#include <array>
#include <cstdint>
#include <string>
#include <memory>
#include <span>

namespace arch {
class AddressTranslator;
}

namespace core {

class PhysicalMemory;

class KernelMemory {
public:
    virtual ~KernelMemory() = default;

    // Exactly out.size() bytes at the kernel virtual address vaddr; an
    // unmapped or missing page is an error naming the address.
    virtual Result<void> read(uint64_t vaddr, std::span<uint8_t> out) const = 0;
    virtual Endian endian() const = 0;

    // Fixed-width reads in the crashed machine's byte order.
    Result<uint64_t> read_u64(uint64_t vaddr) const;
    Result<uint32_t> read_u32(uint64_t vaddr) const;
    Result<uint16_t> read_u16(uint64_t vaddr) const;
    Result<uint8_t> read_u8(uint64_t vaddr) const;
};

// Kernel virtual memory on top of physical memory and the architecture's
// translation (arch/dump_arch.h). Reads that cross a page are split per page.
std::unique_ptr<KernelMemory> make_kernel_memory(PhysicalMemory const& physical, arch::AddressTranslator const& translator);

} // namespace core

namespace core {

class VmcoreInfo;

struct Utsname {
    // sysname, nodename, release, version, machine, domainname
    std::array<std::string, 6> fields;
};

// init_uts_ns.name of the crashed kernel (SYMBOL(init_uts_ns), plus
// OFFSET(uts_namespace.name) where the kernel exports it).
Result<Utsname> read_utsname(VmcoreInfo const& info, KernelMemory const& kernel);

} // namespace core
