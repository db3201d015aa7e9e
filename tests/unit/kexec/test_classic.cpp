// SPDX-License-Identifier: GPL-2.0-or-later
// Classic kexec_load: the generic machinery (iomem, holes, the crash ELF
// core header, the purgatory's parameter block and SHA-256) on any host,
// and the whole x86_64 plan against a fake /sys and /proc.
#include "core/kexec/classic.h"

#include "arch/host.h"
#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/strings.h"
#include "core/vmcore/elf.h"
#include "purgatory/purgatory.h"
#include "purgatory/sha256.h"

#include <cerrno>
#include <cstring>
#include <doctest.h>
#include "tests/unit/test_support.h"
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

// purgatory/check.c, compiled into the tests as it is into the purgatory.
extern "C" {
extern uint8_t purgatory_params[PURGATORY_PARAMS_BYTES];
int purgatory_check(void);
}

using namespace core::kexec;

namespace {

constexpr uint64_t mib = 1024 * 1024;

bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

std::string hex_digest(uint8_t const* digest)
{
    std::string out;
    for (int i = 0; i < 32; i++) {
        char two[3];
        std::snprintf(two, sizeof two, "%02x", digest[i]);
        out += two;
    }
    return out;
}

std::string sha256_hex(std::string_view data, size_t chunk = SIZE_MAX)
{
    sha256_state state;
    sha256_init(&state);
    for (size_t at = 0; at < data.size(); at += std::min(chunk, data.size() - at))
        sha256_update(&state, data.data() + at, std::min(chunk, data.size() - at));
    uint8_t digest[32];
    sha256_final(&state, digest);
    return hex_digest(digest);
}

void put(std::string const& path, std::string_view text)
{
    auto parent = path.substr(0, path.rfind('/'));
    std::string command = "mkdir -p '" + parent + "'";
    REQUIRE(std::system(command.c_str()) == 0);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(core::write_all(fd, text, path).ok());
    ::close(fd);
}

// A 2 GiB x86 machine's /proc/iomem with 256 MiB reserved at 0x2b000000.
constexpr std::string_view machine_iomem = R"(00000000-00000fff : Reserved
00001000-0009fbff : System RAM
0009fc00-0009ffff : Reserved
000f0000-000fffff : Reserved
  000f0000-000fffff : System ROM
00100000-7ffdffff : System RAM
  0b000000-0bffffff : Kernel code
  0c000000-0c5fffff : Kernel rodata
  2b000000-3affffff : Crash kernel
7ffe0000-7fffffff : Reserved
b0000000-bfffffff : PCI MMIO
  b0000000-bfffffff : Reserved
fed00000-fed003ff : ACPI Tables
feffc000-feffffff : ACPI Non-volatile Storage
100000000-13fffffff : System RAM
  138000000-13fffffff : System RAM (kmem)
)";

struct FakeMachine {
    test_support::ScratchDir dir;
    SystemPaths paths { dir / "sys", dir / "proc" };
    FakeMachine()
    {
        put(paths.proc + "/iomem", machine_iomem);
        put(paths.sysfs + "/devices/system/cpu/cpu0/crash_notes", "3fc19000\n");
        put(paths.sysfs + "/devices/system/cpu/cpu0/crash_notes_size", "360\n");
        put(paths.sysfs + "/devices/system/cpu/cpu1/crash_notes", "3fc39000\n");
        put(paths.sysfs + "/devices/system/cpu/cpu1/crash_notes_size", "360\n");
        put(paths.sysfs + "/devices/system/cpu/online", "0-1\n"); // not a CPU directory
        put(paths.sysfs + "/kernel/vmcoreinfo", "0x000000000a8c1000 1024\n");
        put(paths.sysfs + "/kernel/kexec_crash_size", "268435456\n");
        put(paths.sysfs + "/kernel/kexec_crash_loaded", "0\n");
        put(paths.sysfs + "/kernel/kexec_loaded", "0\n");
        put(paths.sysfs + "/kernel/security/lockdown", "[none] integrity confidentiality\n");
        put(paths.proc + "/cmdline", "root=/dev/vda ro crashkernel=256M\n");
        put(paths.proc + "/self/status", "Name:\tkexec\nCapEff:\t000001ffffffffff\n");
        firmware_entry(0, 0, 0x9fbff, "System RAM");
        firmware_entry(1, 0x9fc00, 0x9ffff, "Reserved");
        firmware_entry(2, 0x100000, 0x7ffdffff, "System RAM");
        firmware_entry(3, 0x7ffe0000, 0x7fffffff, "Reserved");
        firmware_entry(4, 0x100000000, 0x13fffffff, "System RAM");
    }
    void firmware_entry(int index, uint64_t start, uint64_t last, std::string_view type)
    {
        std::string directory = core::cat(paths.sysfs, "/firmware/memmap/", index);
        put(directory + "/start", core::cat(core::hex(start), "\n"));
        put(directory + "/end", core::cat(core::hex(last), "\n"));
        put(directory + "/type", core::cat(type, "\n"));
    }
    // /proc/kcore's headers: the text mapping at __START_KERNEL_map and the
    // linear map at a KASLR'd PAGE_OFFSET.
    void kcore(uint64_t page_offset)
    {
        core::ByteWriter out(core::Endian::Little);
        out.put_bytes(0, std::span<uint8_t const>(reinterpret_cast<uint8_t const*>("\x7f" "ELF\x02\x01\x01"), 7));
        out.put_u16(16, 4);
        out.put_u16(18, 62);
        out.put_u32(20, 1);
        out.put_u64(32, 64);
        out.put_u16(52, 64);
        out.put_u16(54, 56);
        struct Load {
            uint64_t vaddr, paddr, bytes;
        };
        Load const loads[] = {
            { 0xffffffff8b000000, 0x0b000000, 0x2000000 },         // _text.._end
            { page_offset + 0x100000, 0x100000, 0x7fee0000 },      // RAM
            { 0xffffc90000000000, UINT64_MAX, 0x1000000000 },      // vmalloc: no paddr
            { page_offset + 0x100000000, 0x100000000, 0x40000000 }, // RAM above 4 GiB
        };
        out.put_u16(56, 4);
        uint64_t at = 64;
        for (auto const& load : loads) {
            out.put_u32(at, 1);
            out.put_u64(at + 8, 0x1000 + at);
            out.put_u64(at + 16, load.vaddr);
            out.put_u64(at + 24, load.paddr);
            out.put_u64(at + 32, load.bytes);
            out.put_u64(at + 40, load.bytes);
            out.put_u64(at + 48, 0x1000);
            at += 56;
        }
        put(paths.proc + "/kcore", std::string_view(reinterpret_cast<char const*>(out.bytes().data()), out.bytes().size()));
    }
};

} // namespace

TEST_CASE("classic: SHA-256 (purgatory/sha256.c) gives the FIPS 180-4 digests, however the data is split")
{
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK(sha256_hex(two_blocks) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256_hex(two_blocks, 1) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256_hex(two_blocks, 7) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    std::string million(1000000, 'a');
    CHECK(sha256_hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    CHECK(sha256_hex(million, 4099) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

    // segments_digest hashes the segments' bytes as one stream.
    std::vector<Segment> segments { { { 'a', 'b' }, 0x1000, 0x1000, "one" }, { { 'c' }, 0x2000, 0x1000, "two" } };
    auto digest = segments_digest(segments);
    CHECK(hex_digest(digest.data()) == sha256_hex("abc"));
}

TEST_CASE("classic: /proc/iomem keeps nesting, and the crash memory leaves out the reservation and the low 1 MiB")
{
    auto iomem = parse_iomem(machine_iomem);
    REQUIRE(iomem.ok());
    CHECK(iomem->size() == 16);
    CHECK(iomem->at(4).name == "System ROM");
    CHECK(iomem->at(4).depth == 1);
    CHECK(iomem->at(5).depth == 0);
    CHECK(iomem->at(14).range == PhysicalRange { 0x100000000, 0x13fffffff });

    auto crash = iomem_ranges(*iomem, "Crash kernel");
    REQUIRE(crash.size() == 1);
    CHECK(crash[0] == PhysicalRange { 0x2b000000, 0x3affffff });

    auto memory = crash_memory_ranges(*iomem);
#if defined(__x86_64__)
    // The kmem child of the RAM above 4 GiB is not counted twice.
    REQUIRE(memory.size() == 3);
    CHECK(memory[0] == PhysicalRange { 0x100000, 0x2affffff });
    CHECK(memory[1] == PhysicalRange { 0x3b000000, 0x7ffdffff });
    CHECK(memory[2] == PhysicalRange { 0x100000000, 0x13fffffff });
#endif

    CHECK(subtract_ranges({ { 0, 99 } }, std::vector<PhysicalRange> { { 10, 19 }, { 90, 120 } }) == std::vector<PhysicalRange> { { 0, 9 }, { 20, 89 } });

    // What a non-root reader sees, and lines that are not iomem.
    auto zeros = parse_iomem("00000000-00000000 : System RAM\n00000000-00000000 : Crash kernel\n");
    REQUIRE_FALSE(zeros.ok());
    CHECK(zeros.error().errno_code() == EPERM);
    CHECK(contains(zeros.error().message(), "run as root"));
    CHECK_FALSE(parse_iomem("00001000 System RAM\n").ok());
    CHECK(contains(parse_iomem("2000-1000 : System RAM\n").error().message(), "ends before it starts"));
    CHECK_FALSE(parse_iomem("").ok());
}

TEST_CASE("classic: the hole finder aligns, never overlaps, and says how big the biggest hole was")
{
    HoleFinder finder({ { 0x2b000000, 0x3affffff } }, true);
    auto top = finder.find({ .bytes = 0x3000, .top_down = true, .what = "ELF core header" });
    REQUIRE(top.ok());
    CHECK(top.value() == 0x3affd000);
    auto kernel = finder.find({ .bytes = 0x2400000, .alignment = 0x1000000, .what = "kernel" });
    REQUIRE(kernel.ok());
    CHECK(kernel.value() == 0x2b000000);
    auto next = finder.find({ .bytes = 0x1000, .alignment = 0x1000000, .what = "second" });
    REQUIRE(next.ok());
    CHECK(next.value() == 0x2e000000); // past the kernel's 36 MiB, at the next 16 MiB
    auto limited = finder.find({ .bytes = 0x1000, .min_physical = 0x30000000, .max_physical = 0x30000fff, .what = "fixed" });
    REQUIRE(limited.ok());
    CHECK(limited.value() == 0x30000000);
    CHECK_FALSE(finder.find({ .bytes = 0x1000, .min_physical = 0x30000000, .max_physical = 0x30000fff, .what = "fixed again" }).ok());

    auto too_big = finder.find({ .bytes = 512 * mib, .what = "initrd" });
    REQUIRE_FALSE(too_big.ok());
    CHECK(too_big.error().errno_code() == EADDRNOTAVAIL);
    CHECK(contains(too_big.error().message(), "no room in the crash kernel reservation for the initrd"));
    CHECK(contains(too_big.error().message(), "make crashkernel= bigger"));

    HoleFinder ram({ { 0x100000, 0x1fffff } }, false);
    auto none = ram.find({ .bytes = 2 * mib, .what = "kernel" });
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().errno_code() == ENOMEM);
    CHECK_FALSE(ram.find({ .bytes = 0, .what = "nothing" }).ok());
    CHECK_FALSE(ram.find({ .bytes = 0x1000, .alignment = 0x3000, .what = "odd alignment" }).ok());
}

TEST_CASE("classic: the crash ELF core header has a note per CPU, VMCOREINFO, the kernel text and the RAM, read back by our ELF reader")
{
    FakeMachine machine;
    machine.kcore(0xff11000000000000);
    auto iomem = read_iomem(machine.paths);
    REQUIRE(iomem.ok());
    auto facts = read_crash_header_facts(*iomem, machine.paths);
    REQUIRE(facts.ok());
    CHECK(facts->cpu_notes.size() == 2);
    CHECK(facts->cpu_notes[1].physical == 0x3fc39000);
    CHECK(facts->cpu_notes[1].bytes == 360);
    CHECK(facts->vmcoreinfo.physical == 0xa8c1000);
    CHECK(facts->vmcoreinfo.bytes == 0x1024);
    REQUIRE(facts->linear_map_offset);
    CHECK(*facts->linear_map_offset == 0xff11000000000000);
    REQUIRE(facts->kernel_text);
    CHECK(*facts->kernel_text_vaddr == 0xffffffff8b000000);
    CHECK(facts->kernel_text->start == 0x0b000000);

    auto header = build_crash_elf_header(*facts);
    CHECK(header.size() == crash_header_bytes(*facts));
    CHECK(header.size() % 4096 == 0);
    auto parsed = core::elf::parse_header(header, UINT64_MAX);
    REQUIRE(parsed.ok());
    CHECK(parsed->type == 4);
    CHECK(parsed->machine == arch::host_elf_machine());
    REQUIRE(parsed->notes.size() == 3);
    CHECK(parsed->notes[0].file_offset == 0x3fc19000);
    CHECK(parsed->notes[2].file_offset == 0xa8c1000);
    CHECK(parsed->notes[2].file_size == 0x1024);
    REQUIRE(parsed->loads.size() == 1 + facts->memory.size());
    CHECK(parsed->loads[0].virt_start == 0xffffffff8b000000);
    CHECK(parsed->loads[0].phys_start == 0x0b000000);
    CHECK(parsed->loads[0].mem_size == 0x2000000);
    for (size_t i = 0; i < facts->memory.size(); i++) {
        CAPTURE(i);
        auto const& load = parsed->loads[i + 1];
        CHECK(load.phys_start == facts->memory[i].start);
        CHECK(load.file_offset == facts->memory[i].start);
        CHECK(load.mem_size == facts->memory[i].bytes());
        CHECK(load.virt_start == 0xff11000000000000 + facts->memory[i].start);
    }

    // Without /proc/kcore: no vaddrs and no text segment, still a header.
    ::unlink((machine.paths.proc + "/kcore").c_str());
    auto bare = read_crash_header_facts(*iomem, machine.paths);
    REQUIRE(bare.ok());
    CHECK_FALSE(bare->linear_map_offset);
    CHECK_FALSE(bare->kernel_text);
    auto bare_header = core::elf::parse_header(build_crash_elf_header(*bare), UINT64_MAX);
    REQUIRE(bare_header.ok());
    CHECK(bare_header->loads.size() == bare->memory.size());
    CHECK(bare_header->loads[0].virt_start == 0);

    // A kernel without CONFIG_CRASH_DUMP has no crash_notes; a broken vmcoreinfo is named.
    put(machine.paths.sysfs + "/kernel/vmcoreinfo", "nonsense\n");
    CHECK(contains(read_crash_header_facts(*iomem, machine.paths).error().message(), "vmcoreinfo"));
    ::unlink((machine.paths.sysfs + "/devices/system/cpu/cpu0/crash_notes").c_str());
    ::unlink((machine.paths.sysfs + "/devices/system/cpu/cpu1/crash_notes").c_str());
    CHECK(contains(read_crash_header_facts(*iomem, machine.paths).error().message(), "CONFIG_CRASH_DUMP"));
}

TEST_CASE("classic: the purgatory's parameter block, filled here, is what its C check accepts, and a changed byte fails it")
{
    // A blob with the contract's header and a parameter block; on x86_64
    // the built-in one is checked too.
    std::vector<uint8_t> blob(1024, 0x90);
    std::memcpy(blob.data(), PURGATORY_MAGIC, 8);
    core::store_uint(blob.data() + PURGATORY_HEADER_VERSION, 4, PURGATORY_VERSION, core::Endian::Little);
    core::store_uint(blob.data() + PURGATORY_HEADER_ENTRY_OFFSET, 4, 0x40, core::Endian::Little);
    core::store_uint(blob.data() + PURGATORY_HEADER_PARAMS_OFFSET, 4, 0x100, core::Endian::Little);
    core::store_uint(blob.data() + PURGATORY_HEADER_MEMORY_BYTES, 4, 0x2000, core::Endian::Little);
    auto layout = read_purgatory_layout(blob);
    REQUIRE(layout.ok());
    CHECK(layout->entry_offset == 0x40);
    CHECK(layout->params_offset == 0x100);

    // Segments whose "physical" addresses are this process's buffers: the
    // purgatory reads physical memory as its own.
    std::vector<uint8_t> kernel(10000), initrd(777);
    for (size_t i = 0; i < kernel.size(); i++)
        kernel[i] = static_cast<uint8_t>(i * 7);
    for (size_t i = 0; i < initrd.size(); i++)
        initrd[i] = static_cast<uint8_t>(i ^ 0x5a);
    std::vector<Segment> segments { { kernel, 0, kernel.size(), "kernel" }, { initrd, 0, initrd.size(), "initrd" } };
    segments[0].dest_physical = reinterpret_cast<uintptr_t>(kernel.data());
    segments[1].dest_physical = reinterpret_cast<uintptr_t>(initrd.data());
    arch::PurgatoryRegisters registers { 0x1000200, 0x7000 };
    auto filled = fill_purgatory(blob, segments, registers, false);
    REQUIRE(filled.ok());
    uint8_t const* params = filled->data() + 0x100;
    CHECK(core::load_uint(params + PURGATORY_PARAMS_REGIONS + 8, 8, core::Endian::Little) == kernel.size());
    CHECK(core::load_uint(params + PURGATORY_PARAMS_REGIONS + PURGATORY_REGION_BYTES + 8, 8, core::Endian::Little) == initrd.size());
    CHECK(core::load_uint(params + PURGATORY_PARAMS_REGIONS + 2 * PURGATORY_REGION_BYTES + 8, 8, core::Endian::Little) == 0);
    CHECK(core::load_uint(params + PURGATORY_PARAMS_REGISTERS, 8, core::Endian::Little) == 0x1000200);
    CHECK(core::load_uint(params + PURGATORY_PARAMS_REGISTERS + 8, 8, core::Endian::Little) == 0x7000);
    CHECK(std::memcmp(filled->data(), blob.data(), 0x100) == 0); // only the block changed

    std::memcpy(purgatory_params, params, PURGATORY_PARAMS_BYTES);
    CHECK(purgatory_check() == 0);
    kernel[5000] ^= 1;
    CHECK(purgatory_check() != 0);
    kernel[5000] ^= 1;
    initrd.back() ^= 0x80;
    CHECK(purgatory_check() != 0);
    auto skipping = fill_purgatory(blob, segments, registers, true);
    REQUIRE(skipping.ok());
    std::memcpy(purgatory_params, skipping->data() + 0x100, PURGATORY_PARAMS_BYTES);
    CHECK(purgatory_check() == 0); // kexec -i

    // Headers that do not hold together.
    auto broken = blob;
    broken[0] = 'X';
    CHECK(contains(read_purgatory_layout(broken).error().message(), "no KDBXPURG header"));
    broken = blob;
    core::store_uint(broken.data() + PURGATORY_HEADER_PARAMS_OFFSET, 4, 1000, core::Endian::Little);
    CHECK(contains(read_purgatory_layout(broken).error().message(), "inconsistent"));
    CHECK_FALSE(read_purgatory_layout(std::span<uint8_t const>(blob.data(), 10)).ok());
    std::vector<Segment> seventeen(17, segments[0]);
    CHECK_FALSE(fill_purgatory(blob, seventeen, registers, false).ok());

    auto built_in = arch::purgatory_blob();
    if (built_in.empty())
        return; // no classic loader on this CPU
    auto built_layout = read_purgatory_layout(built_in);
    REQUIRE(built_layout.ok());
    CHECK(built_layout->memory_bytes > built_in.size()); // its stack
}

#if defined(__x86_64__)
namespace {

// A bzImage with the header fields the classic loader reads.
std::vector<uint8_t> classic_bzimage(bool relocatable = true, uint64_t pref_address = 0x1000000)
{
    core::ByteWriter writer(core::Endian::Little);
    size_t total = 64 * 1024;
    writer.resize(total);
    for (size_t at = 0x1000; at < total; ++at)
        writer.put_u8(at, static_cast<uint8_t>(at * 31));
    writer.put_u8(0x1f1, 3); // setup_sects: 4 * 512 bytes of setup
    writer.put_u16(0x1fe, 0xaa55);
    writer.put_u8(0x201, 0x66); // the header ends at 0x268
    writer.put_string(0x202, "HdrS");
    writer.put_u16(0x206, 0x020f);
    writer.put_u8(0x211, 0x01);
    writer.put_u32(0x230, 0x1000000); // kernel_alignment 16 MiB
    writer.put_u8(0x234, relocatable ? 1 : 0);
    writer.put_u16(0x236, 0x0003);
    writer.put_u32(0x238, 2047);
    writer.put_u64(0x258, pref_address);
    writer.put_u32(0x260, 40 * mib);
    auto bytes = writer.bytes();
    return { bytes.begin(), bytes.end() };
}

Segment const* segment_named(ClassicPlan const& plan, std::string_view what)
{
    for (auto const& segment : plan.segments)
        if (segment.what == what)
            return &segment;
    return nullptr;
}

struct E820 {
    uint64_t start, bytes;
    uint32_t type;
    bool operator==(E820 const&) const = default;
};

std::vector<E820> e820_of(Segment const& boot_params)
{
    std::vector<E820> map;
    for (unsigned i = 0; i < boot_params.bytes[0x1e8]; i++) {
        uint8_t const* entry = boot_params.bytes.data() + 0x2d0 + 20 * i;
        map.push_back({ core::load_uint(entry, 8, core::Endian::Little), core::load_uint(entry + 8, 8, core::Endian::Little), static_cast<uint32_t>(core::load_uint(entry + 16, 4, core::Endian::Little)) });
    }
    return map;
}

std::string cmdline_of(Segment const& boot_params) { return std::string(reinterpret_cast<char const*>(boot_params.bytes.data()) + 4096); }

uint64_t u32_at(Segment const& segment, uint64_t offset) { return core::load_uint(segment.bytes.data() + offset, 4, core::Endian::Little); }

} // namespace

TEST_CASE("classic x86_64: -p places everything in the crash reservation, with e820, elfcorehdr= and a purgatory that checks it all")
{
    FakeMachine machine;
    std::vector<uint8_t> initrd(300000, 0xab);
    auto plan = plan_classic({ .target = Target::Panic, .kernel = classic_bzimage(), .initrd = initrd, .cmdline = "irqpoll nr_cpus=1" }, machine.paths);
    REQUIRE(plan.ok());
    CHECK(plan->flags == (classic_on_crash | (62ul << 16)));
    CHECK(classic_flags_text(plan->flags) == "KEXEC_ON_CRASH|KEXEC_ARCH_X86_64");
    REQUIRE(plan->segments.size() == 5);
    for (size_t i = 0; i < plan->segments.size(); i++) {
        auto const& segment = plan->segments[i];
        CAPTURE(segment.what);
        CHECK(segment.dest_physical >= 0x2b000000);
        CHECK(segment.dest_physical + segment.memory_bytes - 1 <= 0x3affffff);
        CHECK(segment.dest_physical % 4096 == 0);
        CHECK(segment.memory_bytes % 4096 == 0);
        CHECK(segment.bytes.size() <= segment.memory_bytes);
        if (i > 0)
            CHECK(plan->segments[i - 1].dest_physical + plan->segments[i - 1].memory_bytes <= segment.dest_physical);
    }
    auto const* kernel = segment_named(*plan, "kernel");
    auto const* params = segment_named(*plan, "boot_params");
    auto const* header = segment_named(*plan, "elfcorehdr");
    auto const* purgatory = segment_named(*plan, "purgatory");
    auto const* ramdisk = segment_named(*plan, "initrd");
    REQUIRE((kernel && params && header && purgatory && ramdisk));
    CHECK(kernel->dest_physical == 0x2b000000); // 16 MiB-aligned, the bottom of the reservation
    CHECK(kernel->memory_bytes == 40 * mib);    // init_size
    CHECK(kernel->bytes.size() == 64 * 1024 - 2048);
    CHECK(kernel->bytes[0] == static_cast<uint8_t>(2048 * 31));

    // The command line: the caller's, then elfcorehdr= in KiB, as kexec-tools writes it.
    CHECK(cmdline_of(*params) == core::cat("irqpoll nr_cpus=1 elfcorehdr=", header->dest_physical / 1024, "K"));
    CHECK(u32_at(*params, 0x228) == params->dest_physical + 4096);
    CHECK(u32_at(*params, 0x218) == ramdisk->dest_physical);
    CHECK(u32_at(*params, 0x21c) == initrd.size());
    CHECK(std::memcmp(params->bytes.data() + 0x202, "HdrS", 4) == 0);
    CHECK(params->bytes[0x210] == 0xff);

    // e820: RAM below 1 MiB, the reserved and ACPI ranges (the nested
    // "Reserved" of PCI MMIO too), and the reservation minus the header.
    auto map = e820_of(*params);
    std::vector<E820> expected {
        { 0x0, 0x1000, 2 },
        { 0x1000, 0x9ec00, 1 },
        { 0x9fc00, 0x400, 2 },
        { 0xf0000, 0x10000, 2 },
        { 0x2b000000, header->dest_physical - 0x2b000000, 1 },
        { 0x7ffe0000, 0x20000, 2 },
        { 0xb0000000, 0x10000000, 2 },
        { 0xfed00000, 0x400, 3 },
        { 0xfeffc000, 0x4000, 4 },
    };
    if (header->dest_physical + header->memory_bytes <= 0x3affffff)
        expected.insert(expected.begin() + 5, { header->dest_physical + header->memory_bytes, 0x3b000000 - header->dest_physical - header->memory_bytes, 1 });
    CHECK(map == expected);

    // The header the capture kernel gets.
    auto elf = core::elf::parse_header(header->bytes, UINT64_MAX);
    REQUIRE(elf.ok());
    CHECK(elf->notes.size() == 3);

    // The purgatory: entered at its entry, with the digest of every other
    // segment and the kernel's 64-bit entry and boot_params in its registers.
    auto layout = read_purgatory_layout(purgatory->bytes);
    REQUIRE(layout.ok());
    CHECK(plan->entry == purgatory->dest_physical + layout->entry_offset);
    uint8_t const* block = purgatory->bytes.data() + layout->params_offset;
    CHECK(core::load_uint(block + PURGATORY_PARAMS_REGISTERS, 8, core::Endian::Little) == kernel->dest_physical + 0x200);
    CHECK(core::load_uint(block + PURGATORY_PARAMS_REGISTERS + 8, 8, core::Endian::Little) == params->dest_physical);
    std::vector<Segment> checked;
    for (unsigned i = 0; i < PURGATORY_MAX_REGIONS; i++) {
        uint64_t start = core::load_uint(block + PURGATORY_PARAMS_REGIONS + i * PURGATORY_REGION_BYTES, 8, core::Endian::Little);
        uint64_t bytes = core::load_uint(block + PURGATORY_PARAMS_REGIONS + i * PURGATORY_REGION_BYTES + 8, 8, core::Endian::Little);
        if (bytes == 0)
            break;
        for (auto const& segment : plan->segments)
            if (segment.dest_physical == start && segment.bytes.size() == bytes)
                checked.push_back(segment);
    }
    CHECK(checked.size() == 4); // all but the purgatory itself
    auto digest = segments_digest(checked);
    CHECK(std::memcmp(block + PURGATORY_PARAMS_DIGEST, digest.data(), 32) == 0);
    CHECK(contains(plan->description, "kexec_load(entry="));
    CHECK(contains(plan->description, "bzImage, boot protocol 2.15 at 0x2b000000"));
}

TEST_CASE("classic x86_64: -l takes the firmware's memory map, and its errors name the problem")
{
    FakeMachine machine;
    auto plan = plan_classic({ .target = Target::Reboot, .kernel = classic_bzimage(), .initrd = {}, .cmdline = "root=/dev/vda" }, machine.paths);
    REQUIRE(plan.ok());
    CHECK(plan->flags == (62ul << 16));
    REQUIRE(plan->segments.size() == 3);
    auto const* params = segment_named(*plan, "boot_params");
    REQUIRE(params);
    CHECK(cmdline_of(*params) == "root=/dev/vda");
    CHECK(u32_at(*params, 0x218) == 0); // no initrd
    CHECK(e820_of(*params) == std::vector<E820> { { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0x100000, 0x7fee0000, 1 }, { 0x7ffe0000, 0x20000, 2 }, { 0x100000000, 0x40000000, 1 } });
    CHECK(segment_named(*plan, "kernel")->dest_physical == 0x1000000);

    // A relocatable kernel with a small alignment still goes no lower than
    // its pref_address: below it, it would decompress outside its segment.
    auto low = classic_bzimage(true, 0x1000000);
    low[0x230] = 0x00;
    low[0x231] = 0x00;
    low[0x232] = 0x20; // kernel_alignment 2 MiB
    low[0x233] = 0x00;
    auto low_plan = plan_classic({ .target = Target::Reboot, .kernel = low, .initrd = {}, .cmdline = "" }, machine.paths);
    REQUIRE(low_plan.ok());
    CHECK(segment_named(*low_plan, "kernel")->dest_physical == 0x1000000);

    // A kernel that cannot be moved goes to its pref_address, not where
    // the alignment would put a relocatable one.
    auto fixed = plan_classic({ .target = Target::Reboot, .kernel = classic_bzimage(false, 0x3000000), .initrd = {}, .cmdline = "" }, machine.paths);
    REQUIRE(fixed.ok());
    CHECK(segment_named(*fixed, "kernel")->dest_physical == 0x3000000);

    // Too long a command line, not a bzImage, a reservation too small.
    CHECK(contains(plan_classic({ .target = Target::Reboot, .kernel = classic_bzimage(), .initrd = {}, .cmdline = std::string(3000, 'x') }, machine.paths).error().message(), "takes at most 2047"));
    auto garbage = plan_classic({ .target = Target::Reboot, .kernel = std::vector<uint8_t>(8192, 0), .initrd = {}, .cmdline = "" }, machine.paths);
    REQUIRE_FALSE(garbage.ok());
    CHECK(garbage.error().errno_code() == ENOEXEC);
    auto huge = plan_classic({ .target = Target::Panic, .kernel = classic_bzimage(), .initrd = std::vector<uint8_t>(250 * mib), .cmdline = "" }, machine.paths);
    REQUIRE_FALSE(huge.ok());
    CHECK(huge.error().errno_code() == EADDRNOTAVAIL);
    put(machine.paths.proc + "/iomem", "00001000-7ffdffff : System RAM\n");
    auto unreserved = plan_classic({ .target = Target::Panic, .kernel = classic_bzimage(), .initrd = {}, .cmdline = "" }, machine.paths);
    REQUIRE_FALSE(unreserved.ok());
    CHECK(contains(unreserved.error().message(), "no \"Crash kernel\" range"));
}

TEST_CASE("classic x86_64: load_kernel falls back from the file load on ENOSYS/EOPNOTSUPP only, and -c/-s choose")
{
    FakeMachine machine;
    std::string kernel_path = machine.dir / "vmlinuz";
    auto image = classic_bzimage();
    put(kernel_path, std::string_view(reinterpret_cast<char const*>(image.data()), image.size()));
    int file_calls = 0;
    int file_errno = ENOSYS;
    auto file = [&](int, int, std::string const&, unsigned long) { ++file_calls; return file_errno; };
    std::vector<std::pair<uint64_t, unsigned long>> classic_calls;
    int classic_errno = 0;
    auto classic = [&](uint64_t entry, std::span<Segment const> segments, unsigned long flags) {
        classic_calls.emplace_back(entry, flags);
        CHECK(segments.size() <= 16);
        return classic_errno;
    };
    LoadRequest request { .kernel_path = kernel_path, .initrd_path = {}, .cmdline = "ro", .target = Target::Panic, .kernel_debug = false };

    auto fell_back = load_kernel(request, DryRun::No, nullptr, machine.paths, file, classic);
    REQUIRE(fell_back.ok());
    CHECK(fell_back->syscall_used == LoadSyscall::Classic);
    CHECK(fell_back->fallback_reason == "kexec_file_load: ENOSYS");
    CHECK(file_calls == 1);
    REQUIRE(classic_calls.size() == 1);
    CHECK(classic_calls[0].second == (classic_on_crash | (62ul << 16)));

    file_errno = EOPNOTSUPP;
    CHECK(load_kernel(request, DryRun::No, nullptr, machine.paths, file, classic).ok());
    CHECK(classic_calls.size() == 2);

    // A refusal that is not "no file load" is final: no classic attempt.
    file_errno = EKEYREJECTED;
    FailureKind kind = FailureKind::Usage;
    CHECK_FALSE(load_kernel(request, DryRun::No, &kind, machine.paths, file, classic).ok());
    CHECK(kind == FailureKind::Failed);
    CHECK(classic_calls.size() == 2);

    // -s: never classic. -c: never the file load.
    file_errno = ENOSYS;
    request.syscall = LoadSyscall::File;
    CHECK_FALSE(load_kernel(request, DryRun::No, &kind, machine.paths, file, classic).ok());
    CHECK(kind == FailureKind::FileLoadUnusable);
    CHECK(classic_calls.size() == 2);
    request.syscall = LoadSyscall::Classic;
    int before = file_calls;
    auto forced = load_kernel(request, DryRun::Yes, nullptr, machine.paths, file, classic);
    REQUIRE(forced.ok());
    CHECK(forced->description.starts_with("kexec_load(entry="));
    CHECK_FALSE(forced->outcome);
    CHECK(file_calls == before);
    CHECK(classic_calls.size() == 2); // a dry run makes no call

    // The kernel's refusals, explained for classic loading.
    auto explained = [&](int code, std::string_view lockdown = "[none] integrity confidentiality") {
        put(machine.paths.sysfs + "/kernel/security/lockdown", core::cat(lockdown, "\n"));
        classic_errno = code;
        auto failed = load_kernel(request, DryRun::No, nullptr, machine.paths, file, classic);
        REQUIRE_FALSE(failed.ok());
        CHECK(failed.error().errno_code() == code);
        return failed.error().message();
    };
    CHECK(contains(explained(EPERM, "none [integrity] confidentiality"), "refuses classic kexec_load outright (EPERM); use -s"));
    CHECK(contains(explained(EACCES), "blocks classic kexec_load"));
    CHECK(contains(explained(EINVAL), "refused the classic load's segments (EINVAL)"));
    CHECK(contains(explained(EBUSY), "try again"));
    CHECK(contains(explained(ENOMEM), "crashkernel reservation 256 MiB too small"));
    CHECK(contains(explained(ENOSYS), "neither kexec_file_load nor classic kexec_load"));

    // Unload: the file call, then classic on ENOSYS; -c goes straight to kexec_load.
    classic_calls.clear();
    classic_errno = 0;
    REQUIRE(unload(Target::Panic, machine.paths, file, LoadSyscall::Auto, classic).ok());
    REQUIRE(classic_calls.size() == 1);
    CHECK(classic_calls[0] == std::pair<uint64_t, unsigned long> { 0, classic_on_crash });
    before = file_calls;
    REQUIRE(unload(Target::Reboot, machine.paths, file, LoadSyscall::Classic, classic).ok());
    CHECK(file_calls == before);
    CHECK(classic_calls[1].second == 0);
    file_errno = 0;
    REQUIRE(unload(Target::Reboot, machine.paths, file, LoadSyscall::Auto, classic).ok());
    CHECK(classic_calls.size() == 2);
}

TEST_CASE("classic: crash segments go to the high crash reservation alone; -l keeps out of firmware's and the crash kernel's memory")
{
    FakeMachine machine;
    // crashkernel=X,high: crashk_low_res below 4 GiB, crashk_res above it,
    // both named "Crash kernel"; the kernel takes crash segments only in
    // crashk_res. UEFI's reservations sit inside System RAM.
    put(machine.paths.proc + "/iomem", R"(00001000-0009fbff : System RAM
00100000-7ffdffff : System RAM
  01000000-01ffffff : reserved
  2b000000-2cffffff : Crash kernel
100000000-17fffffff : System RAM
  160000000-16fffffff : Crash kernel
)");
    auto crash = plan_classic({ .target = Target::Panic, .kernel = classic_bzimage(), .initrd = std::vector<uint8_t>(1 * mib), .cmdline = "" }, machine.paths);
    REQUIRE(crash.ok());
    for (auto const& segment : crash->segments) {
        INFO(segment.what);
        CHECK(segment.dest_physical >= 0x160000000);
        CHECK(segment.dest_physical + segment.memory_bytes - 1 <= 0x16fffffff);
    }
    auto reboot = plan_classic({ .target = Target::Reboot, .kernel = classic_bzimage(), .initrd = std::vector<uint8_t>(1 * mib), .cmdline = "" }, machine.paths);
    REQUIRE(reboot.ok());
    for (auto const& segment : reboot->segments) {
        INFO(segment.what);
        uint64_t last = segment.dest_physical + segment.memory_bytes - 1;
        CHECK((last < 0x1000000 || segment.dest_physical > 0x1ffffff));
        CHECK((last < 0x2b000000 || segment.dest_physical > 0x2cffffff));
        CHECK((last < 0x160000000 || segment.dest_physical > 0x16fffffff));
    }
}

TEST_CASE("classic x86_64: a machine in 5-level paging refuses a bzImage without XLF_5LEVEL")
{
    FakeMachine machine;
    put(machine.paths.proc + "/cpuinfo", "processor\t: 0\nflags\t\t: fpu vme la57 pae\n");
    auto refused = plan_classic({ .target = Target::Reboot, .kernel = classic_bzimage(), .initrd = {}, .cmdline = "" }, machine.paths);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().errno_code() == ENOEXEC);
    CHECK(contains(refused.error().message(), "XLF_5LEVEL"));
    auto image = classic_bzimage();
    image[0x236] |= 0x20; // XLF_5LEVEL
    CHECK(plan_classic({ .target = Target::Reboot, .kernel = image, .initrd = {}, .cmdline = "" }, machine.paths).ok());
    put(machine.paths.proc + "/cpuinfo", "processor\t: 0\nflags\t\t: fpu vme pae la57x\n");
    CHECK(plan_classic({ .target = Target::Reboot, .kernel = classic_bzimage(), .initrd = {}, .cmdline = "" }, machine.paths).ok());
}
#endif
