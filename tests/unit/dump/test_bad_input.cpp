// SPDX-License-Identifier: GPL-2.0-or-later
// The bad-input suite (#14): crafted vmcores that used to abort (bad_alloc),
// hang (walks of 2^40 pfns) or save nothing (one bad VMCOREINFO line, no
// VMCOREINFO, a CPU without a translator, an unreadable page) now finish
// within their caps, and each case says which level was applied, how many
// pages were lost, or which cap was hit.
#include "core/dump/collector.h"

#include "core/base/fd.h"
#include "core/base/log.h"
#include "core/base/strings.h"
#include "core/dump/dump_output.h"
#include "core/dump/kdump_format.h"
#include "core/dump/lost_pages.h"
#include "core/vmcore/vmcore_file.h"
#include "tests/unit/synthetic_vmcore.h"
#include "tests/unit/test_support.h"

#include <chrono>
#include <csignal>
#include <doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using test_support::ScratchDir;
namespace layout = core::kdump_layout;

bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

// What the collector says on stderr, captured in a file (a pipe could fill).
struct CapturedLog {
    ScratchDir dir { "kdumpbox-log" };
    std::string path { dir / "log" };
    int fd { -1 };
    CapturedLog()
    {
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        core::log::set_console_for_testing(fd, nullptr);
    }
    ~CapturedLog()
    {
        core::log::set_console_for_testing(STDERR_FILENO, nullptr);
        if (fd >= 0)
            ::close(fd);
    }
    std::string text() const { return test_support::run_output(core::cat("cat ", path)); }
};

// 8 MiB of RAM at 0 with a direct map and translation VMCOREINFO, as the
// dumper's tests use; `extra` is appended to VMCOREINFO.
test::SyntheticVmcore x86_64_vmcore(std::string const& extra = {})
{
    test::SyntheticVmcore vmcore;
    vmcore.add_load(0, 8 << 20);
    test::X86_64PageTables tables(vmcore, 0x100000, 0x100000);
    tables.map_range(0xffff888000000000, 0, 8 << 20);
    vmcore.write_string(0x400000, "some kernel data that is not all zeros");
    vmcore.set_vmcoreinfo(test::x86_64_vmcoreinfo(tables, 0) + "OSRELEASE=6.1.0\n" + extra);
    vmcore.add_prstatus(1);
    return vmcore;
}

core::CollectorOptions options_for(std::string const& input, std::string const& output, int dump_level)
{
    core::CollectorOptions options;
    options.input_path = input;
    options.output_path = output;
    options.dump_level = dump_level;
    options.message_level = core::message_level::error;
    return options;
}

uint32_t header_u32(std::string const& path, uint64_t offset)
{
    auto fd = core::open_file(path, O_RDONLY);
    REQUIRE(fd.ok());
    uint8_t bytes[4] = {};
    REQUIRE(::pread(fd.value().get(), bytes, 4, static_cast<off_t>(offset)) == 4);
    return core::load_uint(bytes, 4, core::Endian::Little);
}

void patch(std::string const& path, uint64_t offset, std::span<uint8_t const> bytes)
{
    auto fd = core::open_file(path, O_WRONLY);
    REQUIRE(fd.ok());
    REQUIRE(::pwrite(fd.value().get(), bytes.data(), bytes.size(), static_cast<off_t>(offset)) == static_cast<ssize_t>(bytes.size()));
}

} // namespace

TEST_CASE("bad input: no VMCOREINFO at -d 31 falls back to -d 1, says so, and records it")
{
    ScratchDir dir;
    test::SyntheticVmcore vmcore;
    vmcore.add_load(0, 4 << 20);
    vmcore.write_string(0x200000, "data");
    auto input = vmcore.write_file();

    auto strict = options_for(input.path(), dir / "strict", 31);
    strict.allow_fallback = false;
    auto refused = core::collect(strict);
    REQUIRE_FALSE(refused.ok());
    CHECK(contains(refused.error().message(), "has no VMCOREINFO note"));

    CapturedLog log;
    auto report = core::collect(options_for(input.path(), dir / "vmcore", 31));
    REQUIRE_MESSAGE(report.ok(), report.error().message());
    CHECK(report.value().requested_dump_level == 31);
    CHECK(report.value().applied_dump_level == 1);
    CHECK(contains(report.value().fallback_reason, "has no VMCOREINFO note"));
    CHECK(contains(log.text(), "saving with dump level 1 instead of 31"));
    CHECK(contains(core::collector_report_note(report.value()), "dump level 1 applied instead of 31"));
    CHECK(header_u32(dir / "vmcore", 4096 + layout::dump_level_at) == 1);
    auto dump = core::KdumpFile::open(dir / "vmcore");
    REQUIRE(dump.ok());
    std::vector<uint8_t> page(4096);
    REQUIRE(dump.value()->read(0x200000, page).ok());
    CHECK(std::string(reinterpret_cast<char const*>(page.data()), 4) == "data");
}

TEST_CASE("bad input: a CPU with no translator and no VMCOREINFO still gets its memory saved")
{
    ScratchDir dir;
    // EM_S390, big-endian: this build has no dump support for it at all.
    test::SyntheticVmcore vmcore(core::Endian::Big, core::elf::machine_s390);
    vmcore.add_load(0, 1 << 20);
    vmcore.write_string(0x3000, "s390 page");
    auto input = vmcore.write_file();
    CapturedLog log;
    auto report = core::collect(options_for(input.path(), dir / "vmcore", 31));
    REQUIRE_MESSAGE(report.ok(), report.error().message());
    CHECK(report.value().applied_dump_level == 1);
    CHECK(report.value().page_size_bytes == 4096);
    CHECK(contains(log.text(), "assuming 4096-byte pages"));
    auto dump = core::KdumpFile::open(dir / "vmcore");
    REQUIRE(dump.ok());
    std::vector<uint8_t> page(4096);
    REQUIRE(dump.value()->read(0x3000, page).ok());
    CHECK(std::string(reinterpret_cast<char const*>(page.data()), 9) == "s390 page");
}

TEST_CASE("bad input: a damaged VMCOREINFO line costs only its entry")
{
    ScratchDir dir;
    // An unrelated line: level 31 still applies, with a warning naming it.
    auto unrelated = x86_64_vmcore("SIZE(garbage)=not-a-number\nno equals sign here\n").write_file();
    {
        CapturedLog log;
        auto report = core::collect(options_for(unrelated.path(), dir / "unrelated", 31));
        REQUIRE_MESSAGE(report.ok(), report.error().message());
        CHECK(report.value().applied_dump_level == 31);
        CHECK(contains(log.text(), "SIZE(garbage)"));
        CHECK(contains(log.text(), "'no equals sign here' is not KEY=VALUE; skipping it"));
    }
    // The translator's own entry: -d 31 cannot start, -d 1 saves the dump.
    test::SyntheticVmcore vmcore;
    vmcore.add_load(0, 8 << 20);
    test::X86_64PageTables tables(vmcore, 0x100000, 0x100000);
    std::string text = test::x86_64_vmcoreinfo(tables, 0);
    size_t at = text.find("SYMBOL(init_top_pgt)=");
    REQUIRE(at != std::string::npos);
    text.replace(at + 21, 4, "zzzz");
    vmcore.set_vmcoreinfo(text);
    auto damaged = vmcore.write_file();
    auto report = core::collect(options_for(damaged.path(), dir / "damaged", 31));
    REQUIRE_MESSAGE(report.ok(), report.error().message());
    CHECK(report.value().applied_dump_level == 1);
    CHECK(contains(report.value().fallback_reason, "dump level 31 cannot be applied"));
    CHECK(core::KdumpFile::open(dir / "damaged").ok());
}

TEST_CASE("bad input: an implausible VMCOREINFO PAGESIZE gives way to the CPU's page size")
{
    ScratchDir dir;
    test::SyntheticVmcore vmcore;
    vmcore.add_load(0, 1 << 20);
    vmcore.set_vmcoreinfo("PAGESIZE=3000\n");
    auto odd = vmcore.write_file();
    auto strict = options_for(odd.path(), dir / "strict", 1);
    strict.allow_fallback = false;
    CHECK_FALSE(core::collect(strict).ok());
    auto report = core::collect(options_for(odd.path(), dir / "vmcore", 31));
    REQUIRE_MESSAGE(report.ok(), report.error().message());
    CHECK(report.value().page_size_bytes == 4096);
    CHECK(report.value().applied_dump_level == 1);
}

TEST_CASE("bad input: a corrupt note header costs its PT_NOTE's notes, not the dump")
{
    ScratchDir dir;
    auto bytes = x86_64_vmcore().build();
    auto header = core::elf::parse_header(bytes, bytes.size()).value();
    core::store_uint(bytes.data() + header.notes[0].file_offset + 4, 4, 0x10000000, core::Endian::Little); // descsz past the segment
    auto input = test::write_temp_file(bytes);
    CapturedLog log;
    auto report = core::collect(options_for(input.path(), dir / "vmcore", 31));
    REQUIRE_MESSAGE(report.ok(), report.error().message());
    CHECK(report.value().applied_dump_level == 1);
    CHECK(contains(log.text(), "PT_NOTE 0: "));
    CHECK(contains(log.text(), "ignoring the notes in it"));
    CHECK(core::KdumpFile::open(dir / "vmcore").ok());
}

TEST_CASE("bad input: a PT_LOAD at a huge physical address is jumped, and the pfn limit capped")
{
    // One page at 2^50 would make max_mapnr 2^38: 2^38 pfns to walk and
    // 32 GiB bitmaps. The holes are skipped; the limit is capped by the
    // input's size and the page above it left out, marked.
    ScratchDir dir;
    auto vmcore = x86_64_vmcore();
    vmcore.add_load(uint64_t(1) << 50, 4096);
    auto input = vmcore.write_file();
    for (int level : { 1, 31 }) {
        CAPTURE(level);
        auto options = options_for(input.path(), dir / core::cat("vmcore-", level), level);
        options.dry_run = true;
        auto started = std::chrono::steady_clock::now();
        auto report = core::collect(options);
        REQUIRE_MESSAGE(report.ok(), report.error().message());
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(60));
        CHECK(report.value().memory_left_out);
        CHECK(report.value().pfn_limit == (uint64_t(64) << 20) * 8); // the 64 MiB floor per bitmap
        CHECK(contains(core::collector_report_note(report.value()), "left out (dump marked incomplete)"));
    }
    // -E holds its bitmap in memory: refused with the cap named.
    auto elf = options_for(input.path(), dir / "elf", 1);
    elf.format = core::DumpFormat::Elf;
    auto refused = core::collect(elf);
    REQUIRE_FALSE(refused.ok());
    CHECK(contains(refused.error().message(), "ELF output (-E) needs a bitmap of"));
}

TEST_CASE("bad input: sparsemem geometry claiming 2^37 sections reads only the sections with memory")
{
    // Non-extreme mem_section (LENGTH 1) with 8 KiB sections up to 2^60:
    // the old code allocated 2^37 x 16 bytes at once.
    ScratchDir dir;
    auto vmcore = x86_64_vmcore("SYMBOL(mem_section)=ffff888000500000\nSIZE(mem_section)=16\nOFFSET(mem_section.section_mem_map)=0\nLENGTH(mem_section)=1\n"
                                "NUMBER(SECTION_SIZE_BITS)=13\nNUMBER(MAX_PHYSMEM_BITS)=60\nSIZE(page)=64\nOFFSET(page.flags)=0\n");
    vmcore.add_load(uint64_t(1) << 50, 4096);
    auto input = vmcore.write_file();
    auto options = options_for(input.path(), dir / "vmcore", 31);
    options.dry_run = true;
    CapturedLog log;
    auto report = core::collect(options);
    REQUIRE_MESSAGE(report.ok(), report.error().message());
    CHECK(report.value().applied_dump_level == 31);
    // No section is marked present there: the filter keeps every page.
    CHECK(contains(log.text(), "no valid mem_section"));
}

TEST_CASE("bad input: a kdump file whose header claims huge bitmaps in a sparse file is refused")
{
    ScratchDir dir;
    auto input = x86_64_vmcore().write_file();
    REQUIRE(core::collect(options_for(input.path(), dir / "dump", 1)).ok());
    // 2 x 2^27 bitmap blocks of 4 KiB (1 TiB), max_mapnr 2^42; then the
    // file is stretched, sparse, to hold them.
    uint8_t blocks[4];
    core::store_uint(blocks, 4, uint64_t(1) << 28, core::Endian::Little);
    patch(dir / "dump", layout::bitmap_blocks_at, blocks);
    uint8_t mapnr[8];
    core::store_uint(mapnr, 8, uint64_t(1) << 42, core::Endian::Little);
    patch(dir / "dump", 4096 + layout::max_mapnr_64_at, mapnr);
    if (::truncate((dir / "dump").c_str(), static_cast<off_t>(uint64_t(1) << 41)) != 0)
        SKIP_TEST("this file system cannot hold a 2 TiB sparse file");
    auto opened = core::KdumpFile::open(dir / "dump");
    REQUIRE_FALSE(opened.ok());
    CHECK(contains(opened.error().message(), "refusing to load bitmaps larger than the file"));
}

namespace {

// Memory whose listed pfns fail to read, as pread does with EIO.
class FailingMemory final : public core::PhysicalMemory {
public:
    std::vector<uint64_t> bad_pfns;
    core::Result<void> read(uint64_t paddr, std::span<uint8_t> out) const override
    {
        for (uint64_t pfn = paddr / 4096; pfn < (paddr + out.size() + 4095) / 4096; ++pfn) {
            if (std::find(bad_pfns.begin(), bad_pfns.end(), pfn) != bad_pfns.end())
                return core::Error::with_code(EIO, core::cat("pread: Input/output error at pfn ", pfn));
        }
        std::fill(out.begin(), out.end(), uint8_t(0xab));
        return {};
    }
    bool has_page(uint64_t pfn) const override { return pfn < 16; }
    uint64_t page_size() const override { return 4096; }
    uint64_t pfn_limit() const override { return 16; }
    core::Endian endian() const override { return core::Endian::Little; }
};

} // namespace

TEST_CASE("lost pages: an unreadable page costs that page only, zero-filled and listed")
{
    FailingMemory memory;
    memory.bad_pfns = { 3, 5 };
    std::vector<uint8_t> out(8 * 4096);
    std::vector<uint64_t> lost;
    core::read_pages_keeping_lost(memory, 0, out, lost);
    CHECK(lost == std::vector<uint64_t> { 3, 5 });
    CHECK(out[3 * 4096] == 0);
    CHECK(out[5 * 4096 + 4095] == 0);
    CHECK(out[4 * 4096] == 0xab);
    CHECK(out[0] == 0xab);
}

namespace {

// A kdump file of the small x86_64 vmcore whose first stored page's
// descriptor is zeroed: reading that pfn fails ("lost"), as an EIO would.
std::string dump_with_a_lost_page(ScratchDir const& dir)
{
    auto input = x86_64_vmcore().write_file();
    std::string path = dir / "with-lost-page";
    auto options = options_for(input.path(), path, 0);
    options.no_page_sharing = true;
    REQUIRE(core::collect(options).ok());
    uint32_t sub_header_blocks = header_u32(path, layout::sub_header_blocks_at);
    uint32_t bitmap_blocks = header_u32(path, layout::bitmap_blocks_at);
    uint64_t desc_table = (1 + sub_header_blocks + uint64_t(bitmap_blocks)) * 4096;
    uint8_t zeros[layout::page_desc_bytes] = {};
    patch(path, desc_table, zeros);
    return path;
}

} // namespace

TEST_CASE("lost pages: the dump goes on, counts them, and is marked incomplete (file, and a flattened stream whose flag -R keeps)")
{
    ScratchDir dir;
    std::string input = dump_with_a_lost_page(dir);

    CapturedLog log;
    auto report = core::collect(options_for(input, dir / "vmcore", 1));
    REQUIRE_MESSAGE(report.ok(), report.error().message());
    CHECK(report.value().lost_pages == 1);
    CHECK(contains(log.text(), "page frame 0x0 (physical address 0x0) cannot be read; saved as zeros"));
    CHECK(contains(core::collector_report_note(report.value()), "1 pages unreadable, saved as zeros"));
    auto dump = core::KdumpFile::open(dir / "vmcore");
    REQUIRE(dump.ok());
    CHECK(dump.value()->incomplete());

    // -F: the stream carries the flag, and -R keeps it.
    auto flattened = options_for(input, dir / "stream", 1);
    flattened.format = core::DumpFormat::KdumpFlattened;
    auto streamed = core::collect(flattened);
    REQUIRE_MESSAGE(streamed.ok(), streamed.error().message());
    CHECK(streamed.value().lost_pages == 1);
    auto stream = core::open_file(dir / "stream", O_RDONLY);
    REQUIRE(stream.ok());
    auto rebuilt = core::rebuild_flattened_file(stream.value().get(), "stream", dir / "rebuilt", false);
    REQUIRE_MESSAGE(rebuilt.ok(), rebuilt.error().message());
    auto rebuilt_dump = core::KdumpFile::open(dir / "rebuilt");
    REQUIRE(rebuilt_dump.ok());
    CHECK(rebuilt_dump.value()->incomplete());

}

TEST_CASE("lost pages: a page that faults under mmap (SIGBUS) is read again with pread, never a crash")
{
    auto vmcore = x86_64_vmcore();
    auto file = vmcore.write_file();
    auto opened = core::VmcoreFile::open(file.path());
    REQUIRE(opened.ok());
    auto& memory = *opened.value();
    std::vector<uint8_t> page(4096);
    REQUIRE(memory.read(0x400000, page).ok());
    // The file shrinks under the mapping: touching the cut pages raises
    // SIGBUS, which the copy catches; pread then reports the short file.
    auto const* load = memory.load_for(0x600000);
    REQUIRE(load);
    uint64_t cut_at = load->file_offset + 0x600000;
    REQUIRE(::truncate(file.path().c_str(), static_cast<off_t>(cut_at)) == 0);
    auto faulted = memory.read(0x600000, page);
    REQUIRE_FALSE(faulted.ok());
    std::vector<uint64_t> lost;
    std::vector<uint8_t> run(4 * 4096);
    core::read_pages_keeping_lost(memory, 0x5fe000, run, lost);
    CHECK(lost == std::vector<uint64_t> { 0x600, 0x601 });
    // A page before the cut still reads.
    CHECK(memory.read(0x400000, page).ok());
}

TEST_CASE("lost pages: the SIGBUS handler lives only as long as an mmap'd vmcore, then the previous one is back")
{
    struct sigaction before {};
    REQUIRE(::sigaction(SIGBUS, nullptr, &before) == 0);
    auto file = x86_64_vmcore().write_file();
    {
        auto opened = core::VmcoreFile::open(file.path());
        REQUIRE(opened.ok());
        struct sigaction during {};
        REQUIRE(::sigaction(SIGBUS, nullptr, &during) == 0);
        CHECK(reinterpret_cast<uintptr_t>(during.sa_sigaction) != reinterpret_cast<uintptr_t>(before.sa_sigaction));
        CHECK((during.sa_flags & SA_ONSTACK) != 0); // PID 1's alternate stack
        auto pread_only = core::VmcoreFile::open(file.path(), core::VmcoreFile::Access::PreadOnly);
        REQUIRE(pread_only.ok());
    }
    struct sigaction after {};
    REQUIRE(::sigaction(SIGBUS, nullptr, &after) == 0);
    CHECK(reinterpret_cast<uintptr_t>(after.sa_sigaction) == reinterpret_cast<uintptr_t>(before.sa_sigaction));
    CHECK(after.sa_flags == before.sa_flags);
}
