// SPDX-License-Identifier: GPL-2.0-or-later
// Test oracle helper, not part of the product:
//   dumpcompare pages SOURCE DUMP   every page DUMP keeps is byte-identical
//                                   to SOURCE's page at the same address
//   dumpcompare kept A B            A and B keep the same set of pfns
//   dumpcompare kept-subset A B     every pfn A keeps, B keeps too
//   dumpcompare slab-kept VMCORE A B
//                                   every pfn A keeps and B drops is a slab
//                                   page in VMCORE (6.12+ page_type; see
//                                   tests/interop/run.sh)
//   dumpcompare incomplete SOURCE DUMP
//                                   DUMP (kdump-compressed) is flagged
//                                   incomplete, and every page it can still
//                                   give is byte-identical to SOURCE's
// SOURCE and DUMP may each be an ELF vmcore or a kdump-compressed file.
#include "arch/dump_arch.h"
#include "core/base/fd.h"
#include "core/vmcore/kernel_memory.h"
#include "core/vmcore/vmcoreinfo.h"
#include "core/dump/kdump_format.h"
#include "core/base/strings.h"
#include "core/vmcore/vmcore_file.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <string>
#include <vector>

namespace {

core::Result<std::unique_ptr<core::PhysicalMemory>> open_any(std::string const& path)
{
    auto fd = TRY(core::open_file(path, O_RDONLY));
    uint8_t head[64] = {};
    size_t got = TRY(core::pread_full(fd.get(), head, 0, path));
    if (got >= 4 && head[0] == 0x7f && head[1] == 'E')
        return std::unique_ptr<core::PhysicalMemory>(TRY(core::VmcoreFile::open(path)));
    if (core::is_kdump_header(std::span<uint8_t const>(head, got)))
        return std::unique_ptr<core::PhysicalMemory>(TRY(core::KdumpFile::open(path)));
    return core::Error::invalid(core::cat(path, ": neither ELF nor kdump-compressed"));
}

int fail(core::Error const& error)
{
    std::fprintf(stderr, "dumpcompare: %s\n", error.message().c_str());
    return 2;
}

int compare_pages(std::string const& source_path, std::string const& dump_path)
{
    auto source = open_any(source_path);
    if (!source.ok())
        return fail(source.error());
    auto dump = open_any(dump_path);
    if (!dump.ok())
        return fail(dump.error());
    uint64_t page_size = dump.value()->page_size();
    std::vector<uint8_t> expected(page_size), actual(page_size);
    uint64_t compared = 0, mismatched = 0, missing_in_source = 0;
    for (uint64_t pfn = 0; pfn < dump.value()->pfn_limit(); ++pfn) {
        if (!dump.value()->has_page(pfn))
            continue;
        if (!source.value()->has_page(pfn)) {
            ++missing_in_source;
            continue;
        }
        auto read_actual = dump.value()->read(pfn * page_size, actual);
        auto read_expected = source.value()->read(pfn * page_size, expected);
        if (!read_actual.ok())
            return fail(read_actual.error());
        if (!read_expected.ok())
            return fail(read_expected.error());
        ++compared;
        if (std::memcmp(expected.data(), actual.data(), page_size) != 0) {
            if (mismatched < 5)
                std::printf("pfn %s differs\n", core::hex(pfn).c_str());
            ++mismatched;
        }
    }
    std::printf("compared %llu pages: %llu differ, %llu kept pages missing from the source\n", (unsigned long long)compared, (unsigned long long)mismatched,
        (unsigned long long)missing_in_source);
    return mismatched == 0 && missing_in_source == 0 && compared > 0 ? 0 : 1;
}

int compare_kept(std::string const& a_path, std::string const& b_path, bool subset_only)
{
    auto a = open_any(a_path);
    if (!a.ok())
        return fail(a.error());
    auto b = open_any(b_path);
    if (!b.ok())
        return fail(b.error());
    uint64_t limit = std::max(a.value()->pfn_limit(), b.value()->pfn_limit());
    uint64_t only_a = 0, only_b = 0, both = 0;
    for (uint64_t pfn = 0; pfn < limit; ++pfn) {
        bool in_a = pfn < a.value()->pfn_limit() && a.value()->has_page(pfn);
        bool in_b = pfn < b.value()->pfn_limit() && b.value()->has_page(pfn);
        if (in_a && in_b)
            ++both;
        else if (in_a || in_b) {
            uint64_t& count = in_a ? only_a : only_b;
            if (count < (getenv("DUMPCOMPARE_ALL") ? UINT64_MAX : 5))
                std::printf("pfn %s kept only by %s\n", core::hex(pfn).c_str(), in_a ? a_path.c_str() : b_path.c_str());
            ++count;
        }
    }
    std::printf("kept by both: %llu, only by the first: %llu, only by the second: %llu\n", (unsigned long long)both, (unsigned long long)only_a,
        (unsigned long long)only_b);
    if (subset_only)
        return only_a == 0 ? 0 : 1;
    return only_a == 0 && only_b == 0 ? 0 : 1;
}

// makedumpfile 1.7.2 predates 6.12, where a slab page's type moved into
// page_type (_mapcount) and struct slab reuses page->mapping: it can read
// a slab's list pointer as an anonymous mapping and drop the page as user
// data. Slab pages are kernel data; we keep them. This checks that each
// page A keeps and B drops is such a slab page.
int check_slab_kept(std::string const& vmcore_path, std::string const& a_path, std::string const& b_path)
{
    auto vmcore = core::VmcoreFile::open(vmcore_path);
    if (!vmcore.ok())
        return fail(vmcore.error());
    auto text = vmcore.value()->vmcoreinfo_text();
    if (!text)
        return fail(core::Error::invalid(vmcore_path + ": no VMCOREINFO"));
    auto info = core::VmcoreInfo::parse(*text);
    if (!info.ok())
        return fail(info.error());
    auto vmemmap = info.value().symbol("vmemmap");
    auto page_bytes = info.value().size("page");
    auto mapcount_at = info.value().offset("page._mapcount");
    auto slab_value = info.value().number("PAGE_SLAB_MAPCOUNT_VALUE");
    if (!vmemmap || !page_bytes || !mapcount_at || !slab_value)
        return fail(core::Error::invalid(vmcore_path + ": VMCOREINFO lacks vmemmap, SIZE(page), OFFSET(page._mapcount) or NUMBER(PAGE_SLAB_MAPCOUNT_VALUE)"));
    auto dump_arch = arch::dump_arch_for_elf_machine(vmcore.value()->header().machine);
    if (!dump_arch.ok())
        return fail(dump_arch.error());
    auto translator = dump_arch.value()->make_translator(info.value(), *vmcore.value());
    if (!translator.ok())
        return fail(translator.error());
    auto kernel = core::make_kernel_memory(*vmcore.value(), *translator.value());
    auto a = open_any(a_path);
    if (!a.ok())
        return fail(a.error());
    auto b = open_any(b_path);
    if (!b.ok())
        return fail(b.error());
    uint64_t slab = 0, other = 0;
    for (uint64_t pfn = 0; pfn < a.value()->pfn_limit(); ++pfn) {
        if (!a.value()->has_page(pfn) || (pfn < b.value()->pfn_limit() && b.value()->has_page(pfn)))
            continue;
        auto page_type = kernel->read_u32(*vmemmap + pfn * *page_bytes + *mapcount_at);
        if (!page_type.ok())
            return fail(page_type.error());
        // 6.12: the type is the top byte; the low bits may carry data.
        if ((page_type.value() >> 24) == (static_cast<uint32_t>(*slab_value) >> 24)) {
            ++slab;
        } else {
            if (other < 5)
                std::printf("pfn %s kept only by %s is not a slab page (page_type %s)\n", core::hex(pfn).c_str(), a_path.c_str(), core::hex(page_type.value()).c_str());
            ++other;
        }
    }
    std::printf("kept only by the first: %llu slab pages, %llu others\n", (unsigned long long)slab, (unsigned long long)other);
    return other == 0 ? 0 : 1;
}

int check_incomplete(std::string const& source_path, std::string const& dump_path)
{
    auto source = open_any(source_path);
    if (!source.ok())
        return fail(source.error());
    auto dump = core::KdumpFile::open(dump_path);
    if (!dump.ok())
        return fail(dump.error());
    auto const& file = *dump.value();
    uint64_t page_size = file.page_size();
    std::vector<uint8_t> expected(page_size), actual(page_size);
    uint64_t readable = 0, lost = 0, mismatched = 0;
    for (uint64_t pfn = 0; pfn < file.pfn_limit(); ++pfn) {
        if (!file.has_page(pfn) || !source.value()->has_page(pfn))
            continue;
        if (!file.read(pfn * page_size, actual).ok()) {
            ++lost;
            continue;
        }
        auto read_expected = source.value()->read(pfn * page_size, expected);
        if (!read_expected.ok())
            return fail(read_expected.error());
        ++readable;
        if (std::memcmp(expected.data(), actual.data(), page_size) != 0)
            ++mismatched;
    }
    std::printf("incomplete flag: %s; %llu pages readable (%llu differ), %llu lost\n", file.incomplete() ? "set" : "not set", (unsigned long long)readable,
        (unsigned long long)mismatched, (unsigned long long)lost);
    return file.incomplete() && readable > 0 && mismatched == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc == 4 && std::string(argv[1]) == "pages")
        return compare_pages(argv[2], argv[3]);
    if (argc == 4 && std::string(argv[1]) == "kept")
        return compare_kept(argv[2], argv[3], false);
    if (argc == 4 && std::string(argv[1]) == "kept-subset")
        return compare_kept(argv[2], argv[3], true);
    if (argc == 5 && std::string(argv[1]) == "slab-kept")
        return check_slab_kept(argv[2], argv[3], argv[4]);
    if (argc == 4 && std::string(argv[1]) == "incomplete")
        return check_incomplete(argv[2], argv[3]);
    std::fprintf(stderr, "usage: dumpcompare pages SOURCE DUMP | kept A B | kept-subset A B | slab-kept VMCORE A B | incomplete SOURCE DUMP\n");
    return 2;
}
