// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/vmcore/kernel_memory.h"

#include "arch/dump_arch.h"
#include "core/vmcore/physical_memory.h"
#include "core/base/strings.h"
#include "core/vmcore/vmcoreinfo.h"

#include <algorithm>

namespace core {

namespace {

template<unsigned Width>
Result<uint64_t> read_uint(KernelMemory const& kernel, uint64_t vaddr)
{
    std::array<uint8_t, Width> bytes {};
    TRY(kernel.read(vaddr, bytes));
    return ByteReader(bytes, kernel.endian(), "kernel memory").uint(0, Width);
}

class TranslatedKernelMemory final : public KernelMemory {
public:
    TranslatedKernelMemory(PhysicalMemory const& physical, arch::AddressTranslator const& translator)
        : m_physical(physical)
        , m_translator(translator)
    {
    }

    Result<void> read(uint64_t vaddr, std::span<uint8_t> out) const override
    {
        if (!checked_add(vaddr, out.size()))
            return Error::invalid(cat("kernel read of ", out.size(), " bytes at ", hex(vaddr), " wraps around the address space"));
        uint64_t page_size = m_physical.page_size();
        size_t done = 0;
        while (done < out.size()) {
            uint64_t position = vaddr + done;
            // Virtually contiguous pages need not be physically contiguous.
            size_t chunk = static_cast<size_t>(std::min<uint64_t>(out.size() - done, page_size - position % page_size));
            uint64_t paddr = TRY(m_translator.to_physical(position));
            auto read = m_physical.read(paddr, out.subspan(done, chunk));
            if (!read.ok())
                return Error::invalid(cat("kernel address ", hex(position), " (physical ", hex(paddr), "): ", read.error().message()));
            done += chunk;
        }
        return {};
    }

    Endian endian() const override { return m_physical.endian(); }

private:
    PhysicalMemory const& m_physical;
    arch::AddressTranslator const& m_translator;
};

constexpr uint64_t utsname_field_bytes = 65; // __NEW_UTS_LEN + 1
constexpr uint64_t utsname_bytes = 6 * utsname_field_bytes;

Result<Utsname> decode_utsname(std::span<uint8_t const> bytes)
{
    ByteReader reader(bytes, Endian::Little, "init_uts_ns.name");
    Utsname utsname;
    for (size_t field = 0; field < utsname.fields.size(); ++field)
        utsname.fields[field] = std::string(TRY(reader.c_string(field * utsname_field_bytes, utsname_field_bytes)));
    return utsname;
}

} // namespace

Result<uint64_t> KernelMemory::read_u64(uint64_t vaddr) const { return read_uint<8>(*this, vaddr); }
Result<uint32_t> KernelMemory::read_u32(uint64_t vaddr) const { return static_cast<uint32_t>(TRY(read_uint<4>(*this, vaddr))); }
Result<uint16_t> KernelMemory::read_u16(uint64_t vaddr) const { return static_cast<uint16_t>(TRY(read_uint<2>(*this, vaddr))); }
Result<uint8_t> KernelMemory::read_u8(uint64_t vaddr) const { return static_cast<uint8_t>(TRY(read_uint<1>(*this, vaddr))); }

std::unique_ptr<KernelMemory> make_kernel_memory(PhysicalMemory const& physical, arch::AddressTranslator const& translator)
{
    return std::make_unique<TranslatedKernelMemory>(physical, translator);
}

Result<Utsname> read_utsname(VmcoreInfo const& info, KernelMemory const& kernel)
{
    auto namespace_vaddr = info.symbol("init_uts_ns");
    if (!namespace_vaddr)
        return Error::invalid("VMCOREINFO has no SYMBOL(init_uts_ns), so the crashed kernel's utsname cannot be found");
    std::array<uint8_t, utsname_bytes> bytes {};
    if (auto name_offset = info.offset("uts_namespace.name")) {
        auto vaddr = checked_add(*namespace_vaddr, *name_offset);
        if (!vaddr)
            return Error::invalid(cat("VMCOREINFO OFFSET(uts_namespace.name)=", *name_offset, " is out of range"));
        TRY(kernel.read(*vaddr, bytes).context("init_uts_ns.name"));
        return decode_utsname(bytes);
    }
    // Kernels before 5.11 do not export the offset. The name followed a
    // 4-byte struct kref until 5.11 moved the count into ns_common and
    // put the name first; accept the layout whose sysname reads "Linux"
    // and whose release matches OSRELEASE.
    std::string failures;
    for (uint64_t name_offset : { uint64_t { 4 }, uint64_t { 0 } }) {
        auto read = kernel.read(*namespace_vaddr + name_offset, bytes);
        if (!read.ok())
            return std::move(read).error().with_context("init_uts_ns.name");
        auto utsname = TRY(decode_utsname(bytes));
        bool release_matches = info.osrelease().empty() || utsname.fields[2] == info.osrelease();
        if (utsname.fields[0] == "Linux" && release_matches)
            return utsname;
        failures += cat(failures.empty() ? "" : ", ", "at offset ", name_offset, " sysname '", utsname.fields[0], "' release '", utsname.fields[2], "'");
    }
    return Error::invalid(cat("init_uts_ns (", hex(*namespace_vaddr), ") holds no utsname for Linux ", info.osrelease(), " (", failures, "); VMCOREINFO lacks OFFSET(uts_namespace.name) and the guesses failed"));
}

} // namespace core
