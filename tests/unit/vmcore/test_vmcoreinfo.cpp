// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/vmcore/vmcoreinfo.h"

#include <doctest.h>

TEST_CASE("VMCOREINFO keys of every form")
{
    auto info = core::VmcoreInfo::parse("OSRELEASE=6.1.0-28-cloud-amd64\n"
                                        "BUILD-ID=0a1b2c\n"
                                        "PAGESIZE=4096\n"
                                        "SYMBOL(init_uts_ns)=ffffffff82a12440\n"
                                        "SIZE(page)=64\n"
                                        "OFFSET(page.flags)=0\n"
                                        "OFFSET(page._mapcount)=48\n"
                                        "LENGTH(mem_section)=2048\n"
                                        "NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129\n"
                                        "NUMBER(PG_lru)=4\n"
                                        "NUMBER(VA_BITS)=0x30\n"
                                        "NUMBER(VMALLOC_START)=0xff4edd39c0000000\n"
                                        "KERNELOFFSET=1e000000\n"
                                        "CRASHTIME=1732300000\n"
                                        "\0\0\0")
                    .value();
    CHECK(info.osrelease() == "6.1.0-28-cloud-amd64");
    CHECK(info.value("BUILD-ID") == "0a1b2c");
    CHECK(info.page_size() == 4096u);
    CHECK(info.symbol("init_uts_ns") == 0xffffffff82a12440ull);
    CHECK(info.size("page") == 64u);
    CHECK(info.offset("page.flags") == 0u);
    CHECK(info.offset("page._mapcount") == 48u);
    CHECK(info.length("mem_section") == 2048u);
    CHECK(info.number("PAGE_BUDDY_MAPCOUNT_VALUE") == -129);
    CHECK(info.number("PG_lru") == 4);
    CHECK(info.number("VA_BITS") == 0x30);
    CHECK(static_cast<uint64_t>(info.number("VMALLOC_START").value()) == 0xff4edd39c0000000ull);
    CHECK(info.kernel_offset() == 0x1e000000u);
    CHECK(info.crash_time() == 1732300000);
    CHECK_FALSE(info.symbol("nonexistent").has_value());
    CHECK_FALSE(info.number("PG_hugetlb").has_value());
}

TEST_CASE("a malformed VMCOREINFO line costs only its entry, with a warning naming the line")
{
    auto info = core::VmcoreInfo::parse("OSRELEASE=6.1\nSYMBOL(mem_section)=zz\ngarbage\nSIZE(page)=\n=5\nPAGESIZE=4096\n");
    REQUIRE(info.ok());
    CHECK(info.value().osrelease() == "6.1");
    CHECK(info.value().page_size() == 4096u);
    CHECK_FALSE(info.value().symbol("mem_section").has_value());
    CHECK_FALSE(info.value().size("page").has_value());
    REQUIRE(info.value().warnings().size() == 4);
    CHECK(info.value().warnings()[0] == "VMCOREINFO line 2: SYMBOL(mem_section): 'zz' is not a hexadecimal number; skipping the entry");
    CHECK(info.value().warnings()[1] == "VMCOREINFO line 3: 'garbage' is not KEY=VALUE; skipping it");
    CHECK(info.value().warnings()[3] == "VMCOREINFO line 5: '=5' is not KEY=VALUE; skipping it");
    // A bad first definition does not hide a good later one.
    auto later = core::VmcoreInfo::parse("PAGESIZE=big\nPAGESIZE=65536\n").value();
    CHECK(later.page_size() == 65536u);
}

TEST_CASE("the first definition of a key wins; an empty note is empty")
{
    auto info = core::VmcoreInfo::parse("PAGESIZE=4096\nPAGESIZE=65536\n").value();
    CHECK(info.page_size() == 4096u);
    auto empty = core::VmcoreInfo::parse("").value();
    CHECK(empty.osrelease() == "");
    CHECK_FALSE(empty.kernel_offset().has_value());
}
