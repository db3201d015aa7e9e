// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/kexec/kexec.h"

#include "arch/host.h"
#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/strings.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <doctest.h>
#include "tests/unit/test_support.h"
#include <fcntl.h>
#include <glob.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>
#include <zlib.h>
#include <zstd.h>

using namespace core::kexec;
using core::StreamFormat;

namespace {

constexpr uint64_t mib = 1024 * 1024;

using TempDir = test_support::ScratchDir;

void write_file(std::string const& path, std::string_view text)
{
    std::system(("mkdir -p \"$(dirname '" + path + "')\"").c_str());
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(core::write_all(fd, text, path).ok());
    ::close(fd);
}

void write_file(std::string const& path, std::vector<uint8_t> const& bytes)
{
    write_file(path, std::string_view(reinterpret_cast<char const*>(bytes.data()), bytes.size()));
}

std::vector<uint8_t> read_fd(int fd)
{
    std::vector<uint8_t> out;
    uint8_t chunk[65536];
    uint64_t offset = 0;
    while (true) {
        ssize_t got = ::pread(fd, chunk, sizeof chunk, static_cast<off_t>(offset));
        REQUIRE(got >= 0);
        if (got == 0)
            return out;
        out.insert(out.end(), chunk, chunk + got);
        offset += static_cast<uint64_t>(got);
    }
}

struct BzImageFields {
    uint16_t version = 0x020f;
    uint8_t loadflags = 0x01;      // LOADED_HIGH
    uint16_t xloadflags = 0x0003;  // XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
    uint32_t cmdline_size = 2047;
    uint32_t init_size = 32 * mib;
    size_t total_bytes = 256 * 1024;
};

// A synthetic bzImage: the setup header fields the probe reads, then a
// patterned payload (so compression has something to chew on).
std::vector<uint8_t> bzimage(BzImageFields const& fields = {})
{
    core::ByteWriter writer(core::Endian::Little);
    writer.resize(fields.total_bytes);
    for (size_t at = 0x1000; at < fields.total_bytes; ++at)
        writer.put_u8(at, static_cast<uint8_t>((at * 2654435761u) >> 13));
    writer.put_u8(0x1f1, 27);
    writer.put_u16(0x1fe, 0xaa55);
    writer.put_string(0x202, "HdrS");
    writer.put_u16(0x206, fields.version);
    writer.put_u8(0x211, fields.loadflags);
    writer.put_u16(0x236, fields.xloadflags);
    writer.put_u32(0x238, fields.cmdline_size);
    writer.put_u32(0x260, fields.init_size);
    auto bytes = writer.bytes();
    return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

// A fake /sys and /proc: nothing loaded, 256 MiB reserved, root.
struct FakeSystem {
    TempDir dir;
    SystemPaths paths { dir / "sys", dir / "proc" };
    FakeSystem()
    {
        set_sys("kernel/kexec_loaded", "0\n");
        set_sys("kernel/kexec_crash_loaded", "0\n");
        set_sys("kernel/kexec_crash_size", "268435456\n");
        set_sys("kernel/security/lockdown", "[none] integrity confidentiality\n");
        set_proc("cmdline", "BOOT_IMAGE=/boot/vmlinuz-6.1.0-13-amd64 root=UUID=1234 ro crashkernel=256M quiet\n");
        set_proc("self/status", "Name:\tunit-tests\nCapEff:\t000001ffffffffff\n");
        set_proc("sys/kernel/kexec_load_disabled", "0\n");
        set_proc("sys/kernel/kexec_load_limit_panic", "-1\n");
        set_proc("sys/kernel/kexec_load_limit_reboot", "-1\n");
    }
    void set_sys(std::string_view name, std::string_view text) const { write_file(paths.sysfs + "/" + std::string(name), text); }
    void set_proc(std::string_view name, std::string_view text) const { write_file(paths.proc + "/" + std::string(name), text); }
    std::string file(std::string_view name, std::vector<uint8_t> const& bytes) const
    {
        std::string path = dir / name;
        write_file(path, bytes);
        return path;
    }
};

struct RecordedCall {
    int kernel_fd;
    int initrd_fd;
    std::string cmdline;
    unsigned long flags;
    std::vector<uint8_t> kernel_bytes;
};

bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

FailureFacts crash_facts()
{
    FailureFacts facts;
    facts.target = Target::Panic;
    facts.kernel_path = "/boot/vmlinuz";
    facts.kernel_format = "bzImage, boot protocol 2.15";
    facts.kernel_memory_bytes = 60 * mib;
    facts.initrd_path = "/boot/initrd.img";
    facts.initrd_bytes = 90 * mib;
    facts.cmdline_bytes = 100;
    facts.max_cmdline_bytes = 2047;
    facts.cmdline_reserve_bytes = 30;
    facts.flags = file_on_crash;
    facts.crash_reservation_bytes = 128 * mib;
    facts.lockdown = "none";
    facts.has_cap_sys_boot = true;
    facts.load_disabled = false;
    facts.load_limit = -1;
    return facts;
}

} // namespace

TEST_SUITE("kexec")
{

TEST_CASE("kexec: --reuse-cmdline drops BOOT_IMAGE, and crashkernel for the crash kernel")
{
    FakeSystem system;
    CmdlineRequest reboot { .target = Target::Reboot, .reuse_current = true, .append = {} };
    CHECK(build_cmdline(reboot, system.paths).value() == "root=UUID=1234 ro crashkernel=256M quiet");

    CmdlineRequest panic { .target = Target::Panic, .reuse_current = true, .append = { "irqpoll nr_cpus=1 reset_devices" } };
    CHECK(build_cmdline(panic, system.paths).value() == "root=UUID=1234 ro quiet irqpoll nr_cpus=1 reset_devices");

    CmdlineRequest fresh { .target = Target::Panic, .reuse_current = false, .append = { "root=/dev/vda", "console=ttyS0" } };
    CHECK(build_cmdline(fresh, system.paths).value() == "root=/dev/vda console=ttyS0");

    ::unlink((system.paths.proc + "/cmdline").c_str());
    auto missing = build_cmdline(reboot, system.paths);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().errno_code() == ENOENT);
    CHECK(contains(missing.error().message(), "--reuse-cmdline: open "));
}

TEST_CASE("kexec: status comes from kexec_loaded and kexec_crash_loaded")
{
    FakeSystem system;
    CHECK(is_loaded(Target::Reboot, system.paths).value() == false);
    CHECK(is_loaded(Target::Panic, system.paths).value() == false);
    system.set_sys("kernel/kexec_crash_loaded", "1\n");
    CHECK(is_loaded(Target::Panic, system.paths).value() == true);
    CHECK(is_loaded(Target::Reboot, system.paths).value() == false);
    system.set_sys("kernel/kexec_loaded", "1");
    CHECK(is_loaded(Target::Reboot, system.paths).value() == true);
    CHECK(require_loaded(Target::Reboot, system.paths).ok());

    system.set_sys("kernel/kexec_loaded", "0\n");
    auto nothing = require_loaded(Target::Reboot, system.paths);
    REQUIRE_FALSE(nothing.ok());
    CHECK(nothing.error().message().starts_with("Nothing has been loaded!"));

    FailureKind kind = FailureKind::Usage;
    CHECK_FALSE(require_loaded(Target::Reboot, system.paths, &kind).ok());
    CHECK(kind == FailureKind::NothingLoaded);
    // -e with nothing loaded fails the same way, also as a dry run.
    kind = FailureKind::Usage;
    auto exec = exec_loaded(SyncFirst::Yes, DryRun::Yes, &kind, system.paths);
    REQUIRE_FALSE(exec.ok());
    CHECK(kind == FailureKind::NothingLoaded);
    CHECK(exec.error().message() == "Nothing has been loaded! Load a kernel with 'kexec -l KERNEL' first");
    system.set_sys("kernel/kexec_loaded", "1\n");
    CHECK(exec_loaded(SyncFirst::Yes, DryRun::Yes, &kind, system.paths).ok());

    system.set_sys("kernel/kexec_loaded", "yes\n");
    CHECK(contains(is_loaded(Target::Reboot, system.paths).error().message(), "expected 0 or 1, found 'yes'"));
    CHECK_FALSE(exec_loaded(SyncFirst::Yes, DryRun::Yes, &kind, system.paths).ok());
    CHECK(kind == FailureKind::Failed);

    CHECK(crash_reservation_bytes(system.paths).value() == 256 * mib);
    system.set_sys("kernel/kexec_crash_size", "0\n");
    CHECK(crash_reservation_bytes(system.paths).value() == 0);

    SystemPaths nowhere { system.dir / "none", system.dir / "none" };
    auto unknown = is_loaded(Target::Panic, nowhere);
    REQUIRE_FALSE(unknown.ok());
    CHECK(contains(unknown.error().message(), "cannot tell whether a crash kernel is loaded"));
    CHECK(contains(unknown.error().message(), "kexec_crash_loaded"));
}

TEST_CASE("kexec: flag names")
{
    CHECK(flags_text(0) == "0");
    CHECK(flags_text(file_on_crash | file_no_initramfs) == "KEXEC_FILE_ON_CRASH|KEXEC_FILE_NO_INITRAMFS");
    CHECK(flags_text(file_unload | 0x100) == "KEXEC_FILE_UNLOAD|0x100");
    CHECK(describe_unload(Target::Panic, LoadSyscall::File) == "kexec_file_load(-1, -1, 0, NULL, KEXEC_FILE_UNLOAD|KEXEC_FILE_ON_CRASH)");
    CHECK(describe_unload(Target::Reboot, LoadSyscall::File) == "kexec_file_load(-1, -1, 0, NULL, KEXEC_FILE_UNLOAD)");
    CHECK(describe_unload(Target::Panic, LoadSyscall::Classic) == "kexec_load(0, 0, NULL, KEXEC_ON_CRASH)");
    CHECK(describe_unload(Target::Reboot) == "kexec_file_load(-1, -1, 0, NULL, KEXEC_FILE_UNLOAD); on ENOSYS or EOPNOTSUPP kexec_load(0, 0, NULL, 0)");
    CHECK(describe_exec(SyncFirst::Yes).starts_with("sync, then call reboot(2) with LINUX_REBOOT_CMD_KEXEC"));
    CHECK(describe_exec(SyncFirst::No).starts_with("call reboot(2) with LINUX_REBOOT_CMD_KEXEC without sync"));
}

#if defined(__x86_64__)
TEST_CASE("kexec: x86_64 probes bzImage headers")
{
    CHECK(arch::kexec_file_load_syscall_number() == 320);
    auto good = arch::probe_kernel_image(bzimage());
    REQUIRE(good.ok());
    CHECK(good->format == "bzImage, boot protocol 2.15");
    CHECK(good->max_cmdline_bytes == 2047u);
    CHECK(good->cmdline_reserve_bytes == 30);
    CHECK(good->memory_bytes == 32 * mib);

    auto refused = [](BzImageFields const& fields) { return arch::probe_kernel_image(bzimage(fields)).error(); };
    BzImageFields old;
    old.version = 0x020a;
    CHECK(refused(old).errno_code() == ENOTSUP);
    CHECK(contains(refused(old).message(), "boot protocol 2.10 is older than 2.12"));
    BzImageFields zimage;
    zimage.loadflags = 0;
    CHECK(contains(refused(zimage).message(), "a zImage"));
    BzImageFields i386;
    i386.xloadflags = 0x2;
    CHECK(contains(refused(i386).message(), "XLF_KERNEL_64"));
    BzImageFields low;
    low.xloadflags = 0x1;
    CHECK(contains(refused(low).message(), "XLF_CAN_BE_LOADED_ABOVE_4G"));

    auto no_signature = bzimage();
    no_signature[0x1fe] = 0;
    CHECK(arch::probe_kernel_image(no_signature).error().errno_code() == ENOEXEC);
    CHECK(contains(arch::probe_kernel_image(no_signature).error().message(), "0xaa55"));
    auto no_magic = bzimage();
    no_magic[0x202] = 'X';
    CHECK(contains(arch::probe_kernel_image(no_magic).error().message(), "HdrS"));

    // Truncated: before the version field, and inside the 2.12 header.
    auto image = bzimage();
    for (size_t size : { size_t(0), size_t(0x100), size_t(0x207), size_t(0x240), size_t(0x263) }) {
        CAPTURE(size);
        auto result = arch::probe_kernel_image(std::span<uint8_t const>(image.data(), size));
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().errno_code() == ENOEXEC);
    }
    CHECK(contains(arch::probe_kernel_image(std::span<uint8_t const>(image.data(), 0x240)).error().message(), "truncated"));
    CHECK(arch::probe_kernel_image(std::span<uint8_t const>(image.data(), 0x264)).ok());
    CHECK(arch::is_image_format_rejection(ENOEXEC));
    CHECK_FALSE(arch::is_image_format_rejection(EPERM));
    CHECK(arch::kernel_image_hint() == "x86_64: a 64-bit bzImage built with 5-level paging support if this machine uses it");
}

TEST_CASE("kexec: probe_image names the file and the problem")
{
    FakeSystem system;
    auto open = [](std::string const& path) { return core::open_file(path, O_RDONLY).release_value(); };

    std::string kernel = system.file("vmlinuz", bzimage());
    auto probed = probe_image(open(kernel).get(), kernel);
    REQUIRE(probed.ok());
    CHECK(probed->compression == StreamFormat::None);
    REQUIRE(probed->image);
    CHECK(probed->file_bytes == 256 * 1024);

    std::string text = system.file("notes.txt", std::vector<uint8_t>(5000, 'a'));
    auto not_kernel = probe_image(open(text).get(), text);
    REQUIRE_FALSE(not_kernel.ok());
    CHECK(not_kernel.error().errno_code() == ENOEXEC);
    CHECK(not_kernel.error().message().starts_with(text + ": not a kernel image ("));

    std::string empty = system.file("empty", {});
    CHECK(contains(probe_image(open(empty).get(), empty).error().message(), "the file is empty"));

    std::string xz = system.file("vmlinuz.xz", { 0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3 });
    auto xz_error = probe_image(open(xz).get(), xz).error();
    CHECK(contains(xz_error.message(), "xz-compressed"));
    CHECK(contains(xz_error.message(), "xz -d"));

    BzImageFields old;
    old.version = 0x0204;
    std::string ancient = system.file("vmlinuz-2.6", bzimage(old));
    CHECK(probe_image(open(ancient).get(), ancient).error().message().starts_with(ancient + ": cannot be loaded: bzImage boot protocol 2.4"));

    std::string gz = system.file("vmlinuz.gz", test_support::gzip_bytes(bzimage()));
    auto wrapped = probe_image(open(gz).get(), gz);
    REQUIRE(wrapped.ok());
    CHECK(wrapped->compression == StreamFormat::Gzip);
    CHECK_FALSE(wrapped->image);
}

TEST_CASE("kexec: gzip and zstd images unwrap into a memfd byte for byte")
{
    FakeSystem system;
    BzImageFields big;
    big.total_bytes = 3 * 1024 * 1024 + 123; // several decompression chunks
    auto original = bzimage(big);
    for (auto [format, bytes] : { std::pair { StreamFormat::Gzip, test_support::gzip_bytes(original) }, std::pair { StreamFormat::Zstd, test_support::zstd_bytes(original) } }) {
        CAPTURE(core::stream_format_name(format));
        // Trailing padding after the stream is ignored.
        bytes.insert(bytes.end(), 512, 0);
        std::string path = system.file("vmlinuz.packed", bytes);
        auto fd = core::open_file(path, O_RDONLY).release_value();
        auto memfd = unwrap_image(fd.get(), format, path);
        REQUIRE(memfd.ok());
        CHECK(read_fd(memfd->get()) == original);
        // Sealed: nothing can grow it behind the kernel's back.
        CHECK(::write(memfd->get(), "x", 1) < 0);
    }

    auto text = std::vector<uint8_t>(100000, 'k');
    std::string packed_text = system.file("text.gz", test_support::gzip_bytes(text));
    auto text_fd = core::open_file(packed_text, O_RDONLY).release_value();
    auto not_kernel = unwrap_image(text_fd.get(), StreamFormat::Gzip, packed_text);
    REQUIRE_FALSE(not_kernel.ok());
    CHECK(contains(not_kernel.error().message(), "gzip-compressed, but what it holds cannot be loaded: not an x86 bzImage"));

    for (auto [format, bytes] : { std::pair { StreamFormat::Gzip, test_support::gzip_bytes(original) }, std::pair { StreamFormat::Zstd, test_support::zstd_bytes(original) } }) {
        CAPTURE(core::stream_format_name(format));
        bytes.resize(bytes.size() / 2);
        std::string path = system.file("vmlinuz.half", bytes);
        auto fd = core::open_file(path, O_RDONLY).release_value();
        auto truncated = unwrap_image(fd.get(), format, path);
        REQUIRE_FALSE(truncated.ok());
        CHECK(contains(truncated.error().message(), "ends early"));
    }

    auto corrupt = test_support::gzip_bytes(original);
    for (size_t at = 20; at < 200; ++at)
        corrupt[at] ^= 0x5a;
    std::string corrupt_path = system.file("vmlinuz.bad", corrupt);
    auto corrupt_fd = core::open_file(corrupt_path, O_RDONLY).release_value();
    CHECK(contains(unwrap_image(corrupt_fd.get(), StreamFormat::Gzip, corrupt_path).error().message(), "corrupt"));
}

TEST_CASE("kexec: a load passes the original fd, the command line and the flags")
{
    FakeSystem system;
    std::string kernel = system.file("vmlinuz", bzimage());
    std::vector<RecordedCall> calls;
    auto fake = [&](int kernel_fd, int initrd_fd, std::string const& cmdline, unsigned long flags) {
        calls.push_back({ kernel_fd, initrd_fd, cmdline, flags, read_fd(kernel_fd) });
        return 0;
    };
    LoadRequest request { .kernel_path = kernel, .initrd_path = {}, .cmdline = "root=/dev/vda ro", .target = Target::Reboot, .kernel_debug = false };
    auto plan = plan_load(request, system.paths);
    REQUIRE(plan.ok());
    CHECK(describe_load(plan.value()) == core::cat("kexec_file_load(kernel_fd=", plan->kernel_fd.get(), " (", kernel, ": bzImage, boot protocol 2.15), initrd_fd=-1, cmdline_len=17, cmdline=\"root=/dev/vda ro\", flags=KEXEC_FILE_NO_INITRAMFS)"));
    auto outcome = execute_load(plan.value(), system.paths, fake);
    REQUIRE(outcome.ok());
    CHECK_FALSE(outcome->unwrapped);
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].initrd_fd == -1);
    CHECK(calls[0].cmdline == "root=/dev/vda ro");
    CHECK(calls[0].flags == file_no_initramfs);
    CHECK(calls[0].kernel_bytes == bzimage());

    calls.clear();
    std::string initrd = system.file("initrd.img", std::vector<uint8_t>(4096, 7));
    LoadRequest crash { .kernel_path = kernel, .initrd_path = initrd, .cmdline = "", .target = Target::Panic, .kernel_debug = false };
    REQUIRE(load(crash, system.paths, fake).ok());
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].initrd_fd >= 0);
    CHECK(calls[0].flags == file_on_crash);
}

TEST_CASE("kexec: a compressed image is unwrapped only after the kernel refuses it")
{
    FakeSystem system;
    auto original = bzimage();
    for (auto [format, bytes] : { std::pair { StreamFormat::Gzip, test_support::gzip_bytes(original) }, std::pair { StreamFormat::Zstd, test_support::zstd_bytes(original) } }) {
        CAPTURE(core::stream_format_name(format));
        std::string kernel = system.file("vmlinuz.packed", bytes);
        std::vector<RecordedCall> calls;
        auto fake = [&](int kernel_fd, int initrd_fd, std::string const& cmdline, unsigned long flags) {
            calls.push_back({ kernel_fd, initrd_fd, cmdline, flags, read_fd(kernel_fd) });
            return core::detect_stream_format(calls.back().kernel_bytes) == StreamFormat::None ? 0 : ENOEXEC;
        };
        auto outcome = load({ .kernel_path = kernel, .initrd_path = {}, .cmdline = "ro", .target = Target::Reboot, .kernel_debug = false }, system.paths, fake);
        REQUIRE(outcome.ok());
        CHECK(outcome->unwrapped);
        REQUIRE(calls.size() == 2);
        CHECK(calls[0].kernel_bytes == bytes); // the original file first, for IMA
        CHECK(calls[1].kernel_bytes == original);
        CHECK(calls[1].kernel_fd != calls[0].kernel_fd);
    }

    // Accepted as it is (a kernel that takes compressed images): no unwrapping.
    std::string kernel = system.file("vmlinuz.gz", test_support::gzip_bytes(original));
    int calls = 0;
    auto accepting = [&](int, int, std::string const&, unsigned long) { ++calls; return 0; };
    auto outcome = load({ .kernel_path = kernel, .initrd_path = {}, .cmdline = "", .target = Target::Reboot, .kernel_debug = false }, system.paths, accepting);
    REQUIRE(outcome.ok());
    CHECK_FALSE(outcome->unwrapped);
    CHECK(calls == 1);

    // A signature refusal of the original is final: no unwrapping, no retry.
    calls = 0;
    auto rejecting = [&](int, int, std::string const&, unsigned long) { ++calls; return EKEYREJECTED; };
    auto refused = load({ .kernel_path = kernel, .initrd_path = {}, .cmdline = "", .target = Target::Reboot, .kernel_debug = false }, system.paths, rejecting);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().errno_code() == EKEYREJECTED);
    CHECK(calls == 1);
}

TEST_CASE("kexec: KEXEC_FILE_DEBUG is dropped when the kernel does not know it")
{
    FakeSystem system;
    std::string kernel = system.file("vmlinuz", bzimage());
    std::vector<unsigned long> flags_seen;
    auto old_kernel = [&](int, int, std::string const&, unsigned long flags) {
        flags_seen.push_back(flags);
        return (flags & file_debug) ? EINVAL : 0;
    };
    auto outcome = load({ .kernel_path = kernel, .initrd_path = {}, .cmdline = "", .target = Target::Reboot, .kernel_debug = true }, system.paths, old_kernel);
    REQUIRE(outcome.ok());
    CHECK(outcome->dropped_debug);
    CHECK(flags_seen == std::vector<unsigned long> { file_no_initramfs | file_debug, file_no_initramfs });
}

TEST_CASE("kexec: crash loads check the reservation before touching the loaded crash kernel")
{
    FakeSystem system;
    std::string kernel = system.file("vmlinuz", bzimage());
    std::string initrd = system.file("initrd.img", std::vector<uint8_t>(mib + 1, 1));
    int calls = 0;
    auto fake = [&](int, int, std::string const&, unsigned long) { ++calls; return 0; };
    LoadRequest request { .kernel_path = kernel, .initrd_path = initrd, .cmdline = "", .target = Target::Panic, .kernel_debug = false };

    system.set_sys("kernel/kexec_crash_size", "0\n");
    auto none = load(request, system.paths, fake);
    REQUIRE_FALSE(none.ok());
    CHECK(contains(none.error().message(), "no memory is reserved for a crash kernel"));
    CHECK(contains(none.error().message(), "add crashkernel=256M"));

    system.set_sys("kernel/kexec_crash_size", "16777216\n");
    auto small = load(request, system.paths, fake);
    REQUIRE_FALSE(small.ok());
    CHECK(small.error().errno_code() == ENOMEM);
    CHECK(contains(small.error().message(), "crashkernel reservation 16 MiB too small for kernel (32 MiB) + initrd (2 MiB)"));
    CHECK(contains(small.error().message(), "nothing was loaded or unloaded"));
    CHECK(calls == 0);

    // The reload path: the kernel frees the old crash kernel, then fails.
    system.set_sys("kernel/kexec_crash_size", "268435456\n");
    system.set_sys("kernel/kexec_crash_loaded", "1\n");
    auto out_of_room = [&](int, int, std::string const&, unsigned long) {
        system.set_sys("kernel/kexec_crash_loaded", "0\n");
        return ENOMEM;
    };
    auto failed = load(request, system.paths, out_of_room);
    REQUIRE_FALSE(failed.ok());
    CHECK(contains(failed.error().message(), "crashkernel reservation 256 MiB too small for kernel (32 MiB) + initrd (2 MiB)"));
    CHECK(contains(failed.error().message(), "kdump is now disarmed"));

    system.set_sys("kernel/kexec_crash_loaded", "1\n");
    auto busy = load(request, system.paths, [](int, int, std::string const&, unsigned long) { return EBUSY; });
    REQUIRE_FALSE(busy.ok());
    CHECK(contains(busy.error().message(), "EBUSY"));
    CHECK(contains(busy.error().message(), "the crash kernel loaded before is still loaded, so kdump stays armed"));
}

TEST_CASE("kexec: planning refuses missing files, empty initrds and over-long command lines")
{
    FakeSystem system;
    auto missing = plan_load({ .kernel_path = system.dir / "nope", .initrd_path = {}, .cmdline = "", .target = Target::Panic, .kernel_debug = false }, system.paths);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().errno_code() == ENOENT);
    CHECK(missing.error().message().starts_with(system.dir / "nope" + ": no such file"));

    std::string kernel = system.file("vmlinuz", bzimage());
    std::string empty = system.file("initrd.img", {});
    CHECK(contains(plan_load({ .kernel_path = kernel, .initrd_path = empty, .cmdline = "", .target = Target::Reboot, .kernel_debug = false }, system.paths).error().message(), "the initrd is empty"));
    CHECK(contains(plan_load({ .kernel_path = kernel, .initrd_path = system.dir / "gone", .cmdline = "", .target = Target::Reboot, .kernel_debug = false }, system.paths).error().message(), "no such file; give the path of an initrd (for example /boot/initrd.img-$(uname -r))"));

    auto too_long = plan_load({ .kernel_path = kernel, .initrd_path = {}, .cmdline = std::string(3000, 'x'), .target = Target::Reboot, .kernel_debug = false }, system.paths);
    REQUIRE_FALSE(too_long.ok());
    CHECK(contains(too_long.error().message(), "the command line is 3000 bytes, but "));
    CHECK(contains(too_long.error().message(), "takes at most 2047"));

    CHECK(contains(plan_load({ .kernel_path = system.dir.path, .initrd_path = {}, .cmdline = "", .target = Target::Reboot, .kernel_debug = false }, system.paths).error().message(), "not a regular file"));
}

TEST_CASE("kexec: load_kernel, the sequence kexec and kdump start share, says which step failed")
{
    FakeSystem system;
    std::string kernel = system.file("vmlinuz", bzimage());
    int calls = 0;
    auto accepting = [&](int, int, std::string const&, unsigned long) { ++calls; return 0; };
    LoadRequest crash { .kernel_path = kernel, .initrd_path = {}, .cmdline = "ro", .target = Target::Panic, .kernel_debug = false };

    // A dry run plans and describes, and makes no call.
    FailureKind kind = FailureKind::Usage;
    auto dry = load_kernel(crash, DryRun::Yes, &kind, system.paths, accepting);
    REQUIRE(dry.ok());
    CHECK_FALSE(dry->outcome);
    CHECK(dry->description.starts_with("kexec_file_load(kernel_fd="));
    CHECK(contains(dry->description, "flags=KEXEC_FILE_ON_CRASH|KEXEC_FILE_NO_INITRAMFS"));
    CHECK(calls == 0);

    auto loaded = load_kernel(crash, DryRun::No, &kind, system.paths, accepting);
    REQUIRE(loaded.ok());
    REQUIRE(loaded->outcome);
    CHECK(contains(loaded->description, core::cat(kernel, ": bzImage, boot protocol 2.15")));
    CHECK(calls == 1);

    // The kind of each step, for kexec(8)'s exit status.
    system.set_sys("kernel/kexec_crash_size", "0\n");
    auto unreserved = load_kernel(crash, DryRun::Yes, &kind, system.paths, accepting);
    REQUIRE_FALSE(unreserved.ok());
    CHECK(kind == FailureKind::NoCrashReservation);
    CHECK(contains(unreserved.error().message(), "no memory is reserved for a crash kernel"));
    system.set_sys("kernel/kexec_crash_size", "268435456\n");

    kind = FailureKind::Usage;
    auto missing = load_kernel({ .kernel_path = system.dir / "nope", .initrd_path = {}, .cmdline = "", .target = Target::Reboot, .kernel_debug = false }, DryRun::No, &kind, system.paths, accepting);
    REQUIRE_FALSE(missing.ok());
    CHECK(kind == FailureKind::Failed);
    CHECK(contains(missing.error().message(), "no such file"));

    auto refused = load_kernel(crash, DryRun::No, &kind, system.paths, [](int, int, std::string const&, unsigned long) { return ENOEXEC; });
    REQUIRE_FALSE(refused.ok());
    CHECK(kind == FailureKind::FileLoadUnusable);
    auto busy = load_kernel(crash, DryRun::No, &kind, system.paths, [](int, int, std::string const&, unsigned long) { return EBUSY; });
    REQUIRE_FALSE(busy.ok());
    CHECK(kind == FailureKind::Failed);
    CHECK(calls == 1);
}

TEST_CASE("kexec: load_kernel builds kexec's command line after the reservation check")
{
    FakeSystem system;
    std::string kernel = system.file("vmlinuz", bzimage());
    auto accepting = [](int, int, std::string const&, unsigned long) { return 0; };
    LoadRequest crash { .kernel_path = kernel, .initrd_path = {}, .cmdline = "replaced", .target = Target::Panic, .kernel_debug = false };
    CmdlineRequest reuse { .target = Target::Panic, .reuse_current = true, .append = { "irqpoll nr_cpus=1" } };

    FailureKind kind = FailureKind::Failed;
    auto dry = load_kernel(crash, reuse, DryRun::Yes, &kind, system.paths, accepting);
    REQUIRE(dry.ok());
    CHECK(contains(dry->description, "cmdline=\"root=UUID=1234 ro quiet irqpoll nr_cpus=1\""));

    // kexec-tools dies on an unreadable /proc/cmdline: a usage failure...
    ::unlink((system.paths.proc + "/cmdline").c_str());
    auto unreadable = load_kernel(crash, reuse, DryRun::Yes, &kind, system.paths, accepting);
    REQUIRE_FALSE(unreadable.ok());
    CHECK(kind == FailureKind::Usage);
    CHECK(unreadable.error().message().starts_with("--reuse-cmdline: "));
    // ...but a missing reservation is found first.
    system.set_sys("kernel/kexec_crash_size", "0\n");
    CHECK_FALSE(load_kernel(crash, reuse, DryRun::Yes, &kind, system.paths, accepting).ok());
    CHECK(kind == FailureKind::NoCrashReservation);
}
#endif

#if defined(__aarch64__)
namespace {

struct Arm64ImageFields {
    bool efi_stub = true;
    uint64_t text_offset = 0;
    uint64_t image_size = 40 * mib;
    uint64_t flags = 0xa; // little-endian, 4K pages, placed anywhere
};

// A synthetic arm64 Image header (Documentation/arch/arm64/booting.rst).
std::vector<uint8_t> arm64_image(Arm64ImageFields const& fields = {})
{
    core::ByteWriter writer(core::Endian::Little);
    writer.resize(64 * 1024);
    if (fields.efi_stub)
        writer.put_string(0, "MZ");
    writer.put_u64(8, fields.text_offset);
    writer.put_u64(16, fields.image_size);
    writer.put_u64(24, fields.flags);
    writer.put_u32(56, 0x644d5241);
    auto bytes = writer.bytes();
    return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

} // namespace

TEST_CASE("kexec: aarch64 probes arm64 Image headers")
{
    CHECK(arch::kexec_file_load_syscall_number() == 294);
    auto good = arch::probe_kernel_image(arm64_image());
    REQUIRE(good.ok());
    CHECK(good->format == "arm64 Image with EFI stub, 4K pages, text_offset 0x0");
    CHECK(good->max_cmdline_bytes == 2047u);
    CHECK(good->cmdline_reserve_bytes == 0);
    CHECK(good->memory_bytes == 40 * mib);

    Arm64ImageFields plain;
    plain.efi_stub = false;
    plain.text_offset = 0x80000;
    plain.flags = 0x6; // 64K pages
    CHECK(arch::probe_kernel_image(arm64_image(plain))->format == "arm64 Image, 64K pages, text_offset 0x80000");

    Arm64ImageFields old;
    old.image_size = 0;
    CHECK(arch::probe_kernel_image(arm64_image(old)).error().errno_code() == ENOTSUP);
    CHECK(contains(arch::probe_kernel_image(arm64_image(old)).error().message(), "older than 3.17"));
    Arm64ImageFields big_endian;
    big_endian.flags = 0x3;
    CHECK(contains(arch::probe_kernel_image(arm64_image(big_endian)).error().message(), "big-endian"));

    auto zboot = arm64_image();
    std::memcpy(zboot.data() + 4, "zimg", 4);
    CHECK(arch::probe_kernel_image(zboot).error().errno_code() == ENOTSUP);
    CHECK(contains(arch::probe_kernel_image(zboot).error().message(), "EFI zboot"));

    auto no_magic = arm64_image();
    no_magic[59] = 0x65;
    CHECK(arch::probe_kernel_image(no_magic).error().errno_code() == ENOEXEC);
    CHECK(contains(arch::probe_kernel_image(no_magic).error().message(), "ARM\\x64"));

    auto image = arm64_image();
    for (size_t size : { size_t(0), size_t(8), size_t(63) }) {
        CAPTURE(size);
        auto result = arch::probe_kernel_image(std::span<uint8_t const>(image.data(), size));
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().errno_code() == ENOEXEC);
    }
    CHECK(arch::probe_kernel_image(std::span<uint8_t const>(image.data(), 64)).ok());
    CHECK(arch::is_image_format_rejection(ENOEXEC));
    CHECK(arch::is_image_format_rejection(EINVAL));
    CHECK_FALSE(arch::is_image_format_rejection(EPERM));
    CHECK(arch::host_name() == "aarch64");
    CHECK(arch::default_crashkernel() == "1G-4G:256M,4G-64G:320M,64G-:576M");
    CHECK(contains(std::string(arch::capture_cmdline_append_default()), "swiotlb=noforce"));
}
#endif

TEST_CASE("kexec: unload makes the documented call")
{
    FakeSystem system;
    std::vector<RecordedCall> calls;
    auto fake = [&](int kernel_fd, int initrd_fd, std::string const& cmdline, unsigned long flags) {
        calls.push_back({ kernel_fd, initrd_fd, cmdline, flags, {} });
        return 0;
    };
    REQUIRE(unload(Target::Panic, system.paths, fake).ok());
    REQUIRE(unload(Target::Reboot, system.paths, fake).ok());
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].kernel_fd == -1);
    CHECK(calls[0].initrd_fd == -1);
    CHECK(calls[0].cmdline.empty());
    CHECK(calls[0].flags == (file_unload | file_on_crash));
    CHECK(calls[1].flags == file_unload);

    system.set_proc("self/status", "CapEff:\t0000000000000000\n");
    auto denied = unload(Target::Panic, system.paths, [](int, int, std::string const&, unsigned long) { return EPERM; });
    REQUIRE_FALSE(denied.ok());
    CHECK(denied.error().message() == "unloading the crash kernel failed: permission denied (EPERM): this needs CAP_SYS_BOOT (in the initial user namespace); run it as root");
    CHECK(contains(unload(Target::Reboot, system.paths, [](int, int, std::string const&, unsigned long) { return ENOSYS; }, LoadSyscall::File).error().message(), "CONFIG_KEXEC_FILE"));
    CHECK(contains(unload(Target::Reboot, system.paths, [](int, int, std::string const&, unsigned long) { return EBUSY; }).error().message(), "try again"));
}

TEST_CASE("kexec: permission facts come from lockdown, CapEff and the sysctls")
{
    FakeSystem system;
    FailureFacts facts;
    facts.target = Target::Panic;
    gather_permission_facts(facts, system.paths);
    CHECK(facts.lockdown == "none");
    CHECK(facts.has_cap_sys_boot == true);
    CHECK(facts.load_disabled == false);
    CHECK(facts.load_limit == -1);

    system.set_sys("kernel/security/lockdown", "none [integrity] confidentiality\n");
    system.set_proc("self/status", "CapEff:\t0000000000000000\n");
    system.set_proc("sys/kernel/kexec_load_disabled", "1\n");
    system.set_proc("sys/kernel/kexec_load_limit_panic", "0\n");
    FailureFacts locked;
    locked.target = Target::Panic;
    gather_permission_facts(locked, system.paths);
    CHECK(locked.lockdown == "integrity");
    CHECK(locked.has_cap_sys_boot == false);
    CHECK(locked.load_disabled == true);
    CHECK(locked.load_limit == 0);
}

TEST_CASE("kexec: every errno becomes one line with the cause and the fix")
{
    auto message = [](int code, FailureFacts const& facts) {
        core::Error error = explain_load_failure(code, facts);
        CHECK(error.errno_code() == code);
        CHECK(error.message().find('\n') == std::string::npos);
        CHECK(error.message().starts_with("loading /boot/vmlinuz as the "));
        return error.message();
    };
    FailureFacts facts = crash_facts();

    CHECK(contains(message(ENOSYS, facts), "CONFIG_KEXEC_FILE"));
    CHECK(contains(message(ENOSYS, facts), "leave out -s so that classic kexec_load is used"));

    FailureFacts no_cap = facts;
    no_cap.has_cap_sys_boot = false;
    CHECK(contains(message(EPERM, no_cap), "needs CAP_SYS_BOOT"));
    FailureFacts disabled = facts;
    disabled.load_disabled = true;
    CHECK(contains(message(EPERM, disabled), "kernel.kexec_load_disabled is 1"));
    FailureFacts limit = facts;
    limit.load_limit = 0;
    CHECK(contains(message(EPERM, limit), "kernel.kexec_load_limit_panic is 0"));
    FailureFacts locked = facts;
    locked.lockdown = "integrity";
    CHECK(contains(message(EPERM, locked), "locked down ([integrity]"));
    CHECK(contains(message(EPERM, locked), "signed by a key it trusts"));
    CHECK(contains(message(EPERM, facts), "/sys/kernel/security/lockdown"));

    CHECK(contains(message(EACCES, facts), "IMA"));

    for (int code : { EKEYREJECTED, ENOKEY, EBADMSG, ENODATA, ENOPKG, ELIBBAD, EMSGSIZE }) {
        CAPTURE(code);
        std::string text = message(code, locked);
        CHECK(contains(text, "is not signed by a key the kernel trusts"));
        CHECK(contains(text, "never falls back"));
        CHECK(contains(text, "lockdown: integrity"));
    }
    CHECK(contains(message(ENODATA, facts), "it is not signed (ENODATA)"));
    CHECK(contains(message(EKEYREJECTED, facts), "rejected (EKEYREJECTED)"));
    CHECK(contains(message(ENOKEY, facts), "MOK"));
    CHECK(contains(message(EBADMSG, facts), "malformed (EBADMSG)"));

    CHECK(contains(message(ENOEXEC, facts), "does not accept bzImage, boot protocol 2.15 (ENOEXEC)"));
    CHECK(contains(message(ENOEXEC, facts), "uncompressed"));
    if (!arch::kernel_image_hint().empty())
        CHECK(contains(message(ENOEXEC, facts), core::cat("for this architecture (", arch::kernel_image_hint(), ")")));

    CHECK(contains(message(EINVAL, facts), "flag (KEXEC_FILE_ON_CRASH)"));
    FailureFacts long_line = facts;
    long_line.cmdline_bytes = 2030;
    CHECK(contains(message(EINVAL, long_line), "the command line is too long (EINVAL): 2030 bytes with its NUL, plus 30"));

    CHECK(contains(message(EBUSY, facts), "another kexec load or unload is in progress"));

    CHECK(contains(message(ENOMEM, facts), "crashkernel reservation 128 MiB too small for kernel (60 MiB) + initrd (90 MiB)"));
    CHECK(contains(message(ENOMEM, facts), "crashkernel=320M"));
    CHECK(contains(message(EADDRNOTAVAIL, facts), "too small for kernel (60 MiB) + initrd (90 MiB)"));
    CHECK(contains(message(EADDRNOTAVAIL, facts), "(EADDRNOTAVAIL)"));
    FailureFacts unknown_size = facts;
    unknown_size.crash_reservation_bytes.reset();
    CHECK(contains(message(ENOMEM, unknown_size), "raise crashkernel="));
    FailureFacts reboot = facts;
    reboot.target = Target::Reboot;
    CHECK(message(ENOMEM, reboot).starts_with("loading /boot/vmlinuz as the kexec kernel failed: not enough free memory"));

    CHECK(contains(message(EFBIG, facts), "EFBIG"));
    CHECK(contains(message(ETXTBSY, facts), "open for writing"));
    CHECK(contains(message(ENOENT, facts), "/boot/vmlinuz or /boot/initrd.img went away"));
    // The C library's own text: glibc says "Input/output error", musl "I/O error".
    CHECK(contains(message(EIO, facts), std::strerror(EIO)));

    // After a failed crash load: is kdump still armed?
    FailureFacts disarmed = facts;
    disarmed.crash_loaded_before = true;
    disarmed.crash_loaded_after = false;
    CHECK(contains(message(ENOEXEC, disarmed), "; kdump is now disarmed"));
    FailureFacts never = facts;
    never.crash_loaded_before = false;
    never.crash_loaded_after = false;
    CHECK(contains(message(ENOEXEC, never), "; no crash kernel is loaded, so kdump is not armed"));
    FailureFacts kept = facts;
    kept.crash_loaded_after = true;
    CHECK(contains(message(EBUSY, kept), "still loaded"));
    CHECK_FALSE(contains(message(ENOEXEC, reboot), "kdump"));
}

TEST_CASE("kexec: a real Debian kernel probes as a bzImage")
{
    // tests/vm/fixtures.sh unpacks each kernel package under kernels/VERSION/root/.
    std::vector<std::string> kernels;
    for (char const* pattern : { "/root/.cache/kdumpbox/vm/kernels/*/boot/vmlinuz-*", "/root/.cache/kdumpbox/vm/kernels/*/root/boot/vmlinuz-*" }) {
        glob_t found {};
        if (::glob(pattern, 0, nullptr, &found) == 0) {
            for (size_t index = 0; index < found.gl_pathc; ++index)
                kernels.emplace_back(found.gl_pathv[index]);
        }
        ::globfree(&found);
    }
    if (kernels.empty()) {
        SKIP_TEST("no Debian kernel under /root/.cache/kdumpbox/vm/kernels/ (the VM fixtures download them)");
    }
    for (auto const& path : kernels) {
        CAPTURE(path);
        auto fd = core::open_file(path, O_RDONLY);
        REQUIRE(fd.ok());
        auto probed = probe_image(fd->get(), path);
        if (arch::host_name() != "x86_64") {
            CHECK_FALSE(probed.ok());
            continue;
        }
        REQUIRE(probed.ok());
        CHECK(probed->compression == StreamFormat::None);
        REQUIRE(probed->image);
        MESSAGE(path, ": ", probed->image->format, ", ", probed->file_bytes, " bytes, init_size ", probed->image->memory_bytes);
        CHECK(probed->image->format.starts_with("bzImage, boot protocol 2."));
        CHECK(probed->image->max_cmdline_bytes >= 2047u);
        CHECK(probed->image->memory_bytes > probed->file_bytes);

        // And wrapped in gzip and zstd, it unwraps back to the same bytes.
        std::vector<uint8_t> original = read_fd(fd->get());
        TempDir dir;
        for (auto [format, bytes] : { std::pair { StreamFormat::Gzip, test_support::gzip_bytes(original) }, std::pair { StreamFormat::Zstd, test_support::zstd_bytes(original) } }) {
            CAPTURE(core::stream_format_name(format));
            std::string packed = dir / "vmlinuz.packed";
            write_file(packed, bytes);
            auto packed_fd = core::open_file(packed, O_RDONLY).release_value();
            auto memfd = unwrap_image(packed_fd.get(), format, packed);
            REQUIRE(memfd.ok());
            CHECK(read_fd(memfd->get()) == original);
        }
    }
}

TEST_CASE("kexec: exit statuses are kexec-tools' for every kind of failure")
{
    // die() and usage() exit 1; EFAILED (-1) leaves main() as 255 and
    // EFALLBACK (-3) as 253.
    CHECK(exit_status(FailureKind::Usage) == 1);
    CHECK(exit_status(FailureKind::NoCrashReservation) == 1);
    CHECK(exit_status(FailureKind::NothingLoaded) == 1);
    CHECK(exit_status(FailureKind::Failed) == 255);
    CHECK(exit_status(FailureKind::FileLoadUnusable) == 253);
    static_assert(exit_status(FailureKind::Usage) == 1, "the applet's failure_exit_code is set from it at compile time");

    for (int code : { ENOSYS, EINVAL, ENOEXEC, ENOTSUP }) {
        CAPTURE(code);
        CHECK(load_failure_kind(code) == FailureKind::FileLoadUnusable);
    }
    for (int code : { EPERM, EACCES, ENOMEM, EADDRNOTAVAIL, EBUSY, EFBIG, EKEYREJECTED, ENOKEY, EBADMSG, ENODATA, ELIBBAD, EMSGSIZE, ENOENT }) {
        CAPTURE(code);
        CHECK(load_failure_kind(code) == FailureKind::Failed);
    }
    CHECK(unload_failure_kind(ENOSYS) == FailureKind::FileLoadUnusable);
    for (int code : { EINVAL, ENOEXEC, EPERM, EBUSY }) {
        CAPTURE(code);
        CHECK(unload_failure_kind(code) == FailureKind::Failed);
    }

    // -S: the value of kexec_loaded / kexec_crash_loaded, or -1 (255).
    CHECK(status_exit_status(true) == 1);
    CHECK(status_exit_status(false) == 0);
    CHECK(status_exit_status(core::Result<bool>(core::Error::invalid("no sysfs"))) == 255);
}

TEST_CASE("kexec: the checks the exit statuses hang on")
{
    FakeSystem system;
    // -p without a reservation: refused before anything is opened.
    auto reserved = check_crash_reservation(system.paths);
    REQUIRE(reserved.ok());
    CHECK(reserved.value() == 256 * mib);
    system.set_sys("kernel/kexec_crash_size", "0\n");
    auto none = check_crash_reservation(system.paths);
    REQUIRE_FALSE(none.ok());
    CHECK(contains(none.error().message(), "no memory is reserved for a crash kernel"));
    ::unlink((system.paths.sysfs + "/kernel/kexec_crash_size").c_str());
    auto unknown = check_crash_reservation(system.paths);
    REQUIRE(unknown.ok());
    CHECK_FALSE(unknown.value().has_value());

    // -e with nothing loaded.
    CHECK(nothing_loaded_error(Target::Reboot).message() == "Nothing has been loaded! Load a kernel with 'kexec -l KERNEL' first");
    CHECK(nothing_loaded_error(Target::Panic).message().starts_with("Nothing has been loaded! No crash kernel is loaded"));

    // Unloads carry the kernel's errno.
    CHECK(unload_failure_kind(unload(Target::Panic, system.paths, [](int, int, std::string const&, unsigned long) { return ENOSYS; }, LoadSyscall::File).error().errno_code()) == FailureKind::FileLoadUnusable);
    CHECK(unload_failure_kind(unload(Target::Panic, system.paths, [](int, int, std::string const&, unsigned long) { return EPERM; }).error().errno_code()) == FailureKind::Failed);
}

#if defined(__x86_64__)
TEST_CASE("kexec: failed loads carry the kernel's errno, also when unwrapping failed")
{
    FakeSystem system;
    std::string kernel = system.file("vmlinuz", bzimage());
    LoadRequest request { .kernel_path = kernel, .initrd_path = {}, .cmdline = "", .target = Target::Reboot, .kernel_debug = false };
    auto kind_of = [&](LoadRequest const& req, int kernel_errno) {
        auto result = load(req, system.paths, [&](int, int, std::string const&, unsigned long) { return kernel_errno; });
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().errno_code() == kernel_errno);
        return load_failure_kind(result.error().errno_code());
    };
    CHECK(kind_of(request, ENOSYS) == FailureKind::FileLoadUnusable);
    CHECK(kind_of(request, ENOEXEC) == FailureKind::FileLoadUnusable);
    CHECK(kind_of(request, EKEYREJECTED) == FailureKind::Failed);
    CHECK(kind_of(request, ENOMEM) == FailureKind::Failed);

    // The kernel refuses a gzip image that is corrupt behind its header:
    // the load failed with the kernel's ENOEXEC, and the message says why
    // it could not be unwrapped either.
    auto corrupt = test_support::gzip_bytes(bzimage());
    for (size_t at = 20; at < 200; ++at)
        corrupt[at] ^= 0x5a;
    request.kernel_path = system.file("vmlinuz.gz", corrupt);
    auto refused = load(request, system.paths, [](int, int, std::string const&, unsigned long) { return ENOEXEC; });
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().errno_code() == ENOEXEC);
    CHECK(contains(refused.error().message(), "the gzip stream is corrupt"));
    CHECK(exit_status(load_failure_kind(refused.error().errno_code())) == 253);
}
#endif

} // TEST_SUITE
