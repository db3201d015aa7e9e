// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/vmcore/kernel_memory.h"

#include "arch/dump_arch.h"
#include "core/base/strings.h"
#include "core/vmcore/vmcore_file.h"
#include "core/vmcore/vmcoreinfo.h"
#include "tests/unit/synthetic_vmcore.h"

#include <doctest.h>

#include <functional>
#include <map>

using core::Endian;

namespace {

bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

// Maps chosen virtual pages to physical pages, like a tiny page table, so
// KernelMemory is tested apart from any architecture.
class PageMapTranslator final : public arch::AddressTranslator {
public:
    void map(uint64_t vaddr_page, uint64_t paddr_page) { m_pages[vaddr_page] = paddr_page; }
    core::Result<uint64_t> to_physical(uint64_t vaddr) const override
    {
        auto found = m_pages.find(vaddr & ~0xfffull);
        if (found == m_pages.end())
            return core::Error::invalid(core::cat("test translator: ", core::hex(vaddr), " is not mapped"));
        return found->second + (vaddr & 0xfff);
    }
    uint64_t phys_base() const override { return 0; }

private:
    std::map<uint64_t, uint64_t> m_pages;
};

constexpr uint64_t base_vaddr = 0xffffffff81000000;

struct Fixture {
    test::TempFile file;
    std::unique_ptr<core::VmcoreFile> memory;
    PageMapTranslator translator;
};

// Physical pages 0..7; virtual pages base+0.. map to physical 5, 2, 7, so a
// virtually contiguous read is physically scattered.
std::unique_ptr<Fixture> make_fixture(Endian endian, std::function<void(test::SyntheticVmcore&)> const& fill = {})
{
    test::SyntheticVmcore vmcore(endian);
    vmcore.add_load(0, 8 * 4096);
    for (uint64_t page = 0; page < 8; ++page) {
        for (uint64_t offset = 0; offset < 4096; offset += 8)
            vmcore.write_u64(page * 4096 + offset, (page << 32) | offset);
    }
    if (fill)
        fill(vmcore);
    auto fixture = std::unique_ptr<Fixture>(new Fixture { vmcore.write_file(), nullptr, {} });
    auto opened = core::VmcoreFile::open(fixture->file.path());
    REQUIRE(opened.ok());
    fixture->memory = std::move(opened).release_value();
    fixture->translator.map(base_vaddr, 5 * 4096);
    fixture->translator.map(base_vaddr + 4096, 2 * 4096);
    fixture->translator.map(base_vaddr + 8192, 7 * 4096);
    return fixture;
}

} // namespace

TEST_CASE("kernel_memory: reads split at page boundaries follow the translation")
{
    auto fixture = make_fixture(Endian::Little);
    auto kernel = core::make_kernel_memory(*fixture->memory, fixture->translator);
    CHECK(kernel->endian() == Endian::Little);

    std::vector<uint8_t> bytes(3 * 4096 - 16);
    REQUIRE(kernel->read(base_vaddr + 8, bytes).ok());
    CHECK(core::load_uint(bytes.data(), 8, Endian::Little) == ((5ull << 32) | 8));
    CHECK(core::load_uint(bytes.data() + 4088, 8, Endian::Little) == (2ull << 32));
    CHECK(core::load_uint(bytes.data() + 8184, 8, Endian::Little) == (7ull << 32));
    CHECK(core::load_uint(bytes.data() + bytes.size() - 8, 8, Endian::Little) == ((7ull << 32) | 0xff0));

    // A word straddling two virtual pages: low half from physical page 5's
    // end, high half from physical page 2's start.
    auto straddling = kernel->read_u64(base_vaddr + 4092);
    REQUIRE(straddling.ok());
    CHECK(straddling.value() == ((0ull << 32) | 5));
    CHECK(kernel->read_u32(base_vaddr + 4096 + 16).value() == 16);
    CHECK(kernel->read_u32(base_vaddr + 4096 + 20).value() == 2);
    CHECK(kernel->read_u16(base_vaddr + 8192 + 20).value() == 7);
    CHECK(kernel->read_u8(base_vaddr + 8).value() == 8);

    CHECK(kernel->read(base_vaddr, std::span<uint8_t>()).ok());
}

TEST_CASE("kernel_memory: fixed-width reads use the crashed machine's byte order")
{
    auto fixture = make_fixture(Endian::Big);
    auto kernel = core::make_kernel_memory(*fixture->memory, fixture->translator);
    CHECK(kernel->endian() == Endian::Big);
    CHECK(kernel->read_u64(base_vaddr + 16).value() == ((5ull << 32) | 16));
    // The high half of a big-endian u64 comes first.
    CHECK(kernel->read_u32(base_vaddr + 16).value() == 5);
    CHECK(kernel->read_u32(base_vaddr + 20).value() == 16);
    CHECK(kernel->read_u16(base_vaddr + 22).value() == 16);
}

TEST_CASE("kernel_memory: unmapped and missing memory are errors naming the address")
{
    auto fixture = make_fixture(Endian::Little);
    PageMapTranslator& translator = fixture->translator;
    translator.map(base_vaddr + 3 * 4096, 0x100000); // mapped, but not in the dump
    auto kernel = core::make_kernel_memory(*fixture->memory, translator);

    std::vector<uint8_t> bytes(64);
    auto unmapped = kernel->read(base_vaddr + 4 * 4096 + 0x10, bytes);
    REQUIRE_FALSE(unmapped.ok());
    CHECK(contains(unmapped.error().message(), core::hex(base_vaddr + 4 * 4096 + 0x10)));

    // Starts in the dump, runs into the page that is not.
    auto partly = kernel->read(base_vaddr + 3 * 4096 - 8, bytes);
    REQUIRE_FALSE(partly.ok());
    CHECK(contains(partly.error().message(), core::hex(base_vaddr + 3 * 4096)));

    auto missing = kernel->read_u32(base_vaddr + 3 * 4096 + 4);
    REQUIRE_FALSE(missing.ok());
    CHECK(contains(missing.error().message(), core::hex(base_vaddr + 3 * 4096 + 4)));
    CHECK(contains(missing.error().message(), "0x100004"));

    auto wrap = kernel->read(~0ull - 8, bytes);
    REQUIRE_FALSE(wrap.ok());
    CHECK(contains(wrap.error().message(), "wraps"));
}

namespace {

constexpr uint64_t uts_paddr = 3 * 4096 + 0x100;
constexpr uint64_t uts_vaddr = base_vaddr + 0x3000 + 0x100;

void write_utsname(test::SyntheticVmcore& vmcore, uint64_t paddr, std::string_view release)
{
    std::vector<uint8_t> zeros(6 * 65 + 16);
    vmcore.write(paddr, zeros);
    std::array<std::string_view, 6> fields { "Linux", "crashed-host", release, "#1 SMP PREEMPT_DYNAMIC Debian 6.1.0-1", "x86_64", "(none)" };
    for (size_t index = 0; index < fields.size(); ++index)
        vmcore.write_string(paddr + index * 65, fields[index]);
}

} // namespace

TEST_CASE("kernel_memory: read_utsname with and without OFFSET(uts_namespace.name)")
{
    SUBCASE("the kernel exports the offset")
    {
        auto fixture = make_fixture(Endian::Little, [](test::SyntheticVmcore& vmcore) { write_utsname(vmcore, uts_paddr + 8, "6.1.0-18-cloud-amd64"); });
        fixture->translator.map(base_vaddr + 0x3000, 3 * 4096);
        auto kernel = core::make_kernel_memory(*fixture->memory, fixture->translator);
        auto info = core::VmcoreInfo::parse(core::cat("OSRELEASE=6.1.0-18-cloud-amd64\nSYMBOL(init_uts_ns)=", core::hex(uts_vaddr).substr(2), "\nOFFSET(uts_namespace.name)=8\n")).value();
        auto utsname = core::read_utsname(info, *kernel);
        REQUIRE(utsname.ok());
        CHECK(utsname->fields[0] == "Linux");
        CHECK(utsname->fields[1] == "crashed-host");
        CHECK(utsname->fields[2] == "6.1.0-18-cloud-amd64");
        CHECK(utsname->fields[3] == "#1 SMP PREEMPT_DYNAMIC Debian 6.1.0-1");
        CHECK(utsname->fields[4] == "x86_64");
        CHECK(utsname->fields[5] == "(none)");
    }
    SUBCASE("old kernels: the name follows a 4-byte kref")
    {
        auto fixture = make_fixture(Endian::Little, [](test::SyntheticVmcore& vmcore) { write_utsname(vmcore, uts_paddr + 4, "4.19.0-26-amd64"); });
        fixture->translator.map(base_vaddr + 0x3000, 3 * 4096);
        auto kernel = core::make_kernel_memory(*fixture->memory, fixture->translator);
        auto info = core::VmcoreInfo::parse(core::cat("OSRELEASE=4.19.0-26-amd64\nSYMBOL(init_uts_ns)=", core::hex(uts_vaddr).substr(2), "\n")).value();
        auto utsname = core::read_utsname(info, *kernel);
        REQUIRE(utsname.ok());
        CHECK(utsname->fields[2] == "4.19.0-26-amd64");
    }
    SUBCASE("5.11 to 5.x: the name comes first, without an exported offset")
    {
        auto fixture = make_fixture(Endian::Little, [](test::SyntheticVmcore& vmcore) { write_utsname(vmcore, uts_paddr, "5.12.0"); });
        fixture->translator.map(base_vaddr + 0x3000, 3 * 4096);
        auto kernel = core::make_kernel_memory(*fixture->memory, fixture->translator);
        auto info = core::VmcoreInfo::parse(core::cat("OSRELEASE=5.12.0\nSYMBOL(init_uts_ns)=", core::hex(uts_vaddr).substr(2), "\n")).value();
        auto utsname = core::read_utsname(info, *kernel);
        REQUIRE(utsname.ok());
        CHECK(utsname->fields[2] == "5.12.0");
        CHECK(utsname->fields[0] == "Linux");
    }
    SUBCASE("no layout matches OSRELEASE")
    {
        auto fixture = make_fixture(Endian::Little, [](test::SyntheticVmcore& vmcore) { write_utsname(vmcore, uts_paddr, "5.12.0"); });
        fixture->translator.map(base_vaddr + 0x3000, 3 * 4096);
        auto kernel = core::make_kernel_memory(*fixture->memory, fixture->translator);
        auto info = core::VmcoreInfo::parse(core::cat("OSRELEASE=6.6.6\nSYMBOL(init_uts_ns)=", core::hex(uts_vaddr).substr(2), "\n")).value();
        auto utsname = core::read_utsname(info, *kernel);
        REQUIRE_FALSE(utsname.ok());
        CHECK(contains(utsname.error().message(), "6.6.6"));
        CHECK(contains(utsname.error().message(), "5.12.0"));
    }
    SUBCASE("missing symbol or unreadable memory")
    {
        auto fixture = make_fixture(Endian::Little);
        auto kernel = core::make_kernel_memory(*fixture->memory, fixture->translator);
        auto no_symbol = core::read_utsname(core::VmcoreInfo::parse("OSRELEASE=6.1.0\n").value(), *kernel);
        REQUIRE_FALSE(no_symbol.ok());
        CHECK(contains(no_symbol.error().message(), "SYMBOL(init_uts_ns)"));
        auto unmapped = core::read_utsname(core::VmcoreInfo::parse("SYMBOL(init_uts_ns)=ffffffff82000000\nOFFSET(uts_namespace.name)=0\n").value(), *kernel);
        REQUIRE_FALSE(unmapped.ok());
        CHECK(contains(unmapped.error().message(), "init_uts_ns"));
        CHECK(contains(unmapped.error().message(), "0xffffffff82000000"));
    }
}
