// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/control/kdump_control.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"
#include "tests/unit/test_support.h"

#include <doctest.h>
#include <string>
#include <vector>

namespace {

using test_support::ScratchDir;

void put(std::string const& path, std::string_view text)
{
    REQUIRE(core::make_parent_directories(path).ok());
    REQUIRE(core::write_text_atomically(path, text).ok());
}

// A host for `kdump start`: settings, kdump.conf with a raw target that holds
// a dump no one can rebuild, a gzip "kernel" (offered to the fake system call
// as it is), fake sysfs and /proc with 256 MiB reserved, and a fake
// kexec_file_load that records its calls.
struct FakeHost {
    ScratchDir dir { "kdumpbox-control-test" };
    core::HostPaths paths;
    std::vector<unsigned long> load_flags;
    std::string raw_device;

    FakeHost()
    {
        std::string root = dir.path;
        raw_device = root + "/rawdev";
        put(root + "/settings", core::cat("KDUMP_KERNELVER=6.1.0-test\nKDUMP_BOOTDIR=", root, "/boot\nKDUMPBOX_KERNEL=", root, "/vmlinuz\nKDUMPBOX_INITRD=", root,
                                    "/initrd/initramfs.img\nKDUMPBOX_CONF=", root, "/kdump.conf\n"));
        put(root + "/kdump.conf", core::cat("raw ", raw_device, "\npath ", root, "/crash\n"));
        auto kernel = test_support::gzip_bytes(std::vector<uint8_t>(4096, 0x5a));
        put(root + "/vmlinuz", std::string_view(reinterpret_cast<char const*>(kernel.data()), kernel.size()));
        put(root + "/kdumpbox", "not really an executable, but it will do\n");
        // A flattened stream's header with nothing valid after it.
        std::string header(4096, '\0');
        header.replace(0, 13, std::string_view("makedumpfile\0", 13));
        header[16 + 7] = 1; // type 1, big-endian
        header[24 + 7] = 1; // version 1
        put(raw_device, header + std::string(4096, 'x'));
        put(root + "/sys/kernel/kexec_crash_size", "268435456\n");
        put(root + "/sys/kernel/kexec_crash_loaded", "0\n");
        put(root + "/sys/kernel/kexec_loaded", "0\n");
        put(root + "/proc/cmdline", "root=/dev/vda1 ro\n");
        put(root + "/proc/sys/kernel/sysrq", "438\n");
        put(root + "/proc/sys/kernel/panic_on_oops", "1\n");
        put(root + "/proc/sys/kernel/unknown_nmi_panic", "1\n");
        paths.settings_path = root + "/settings";
        paths.sysfs = root + "/sys";
        paths.proc = root + "/proc";
        paths.modules_root = root + "/no-modules";
        paths.self_binary = root + "/kdumpbox";
        paths.kexec_file_load = [this](int, int, std::string const&, unsigned long flags) {
            load_flags.push_back(flags);
            return 0;
        };
    }
};

bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

} // namespace

TEST_SUITE("control")
{

TEST_CASE("prepare_crash_settings turns sysrq on and reports the panic switches")
{
    ScratchDir dir;
    put(dir.path + "/sys/kernel/sysrq", "438\n");
    put(dir.path + "/sys/kernel/panic_on_oops", "0\n");
    put(dir.path + "/sys/kernel/unknown_nmi_panic", "1\n");
    auto notes = core::prepare_crash_settings(dir.path);
    REQUIRE(notes.size() == 2);
    CHECK(notes[0].find("kernel.sysrq was 438; set to 1") == 0);
    CHECK(notes[1].find("kernel.panic_on_oops is 0") == 0);
    // A sysctl file takes the write whole; a plain file keeps what followed.
    CHECK(core::read_text_file(dir.path + "/sys/kernel/sysrq").value().substr(0, 2) == "1\n");
}

TEST_CASE("armed_status reads kexec_crash_loaded and says why kdump is not armed")
{
    ScratchDir dir;
    put(dir.path + "/kernel/kexec_crash_loaded", "1\n");
    put(dir.path + "/kernel/kexec_crash_size", "268435456\n");
    core::HostPaths paths;
    paths.sysfs = dir.path;
    paths.proc = dir.path;
    auto armed = core::armed_status(paths);
    CHECK(armed.armed);
    CHECK(armed.explanation.find("256 MiB") != std::string::npos);
    put(dir.path + "/kernel/kexec_crash_loaded", "0\n");
    CHECK(core::armed_status(paths).explanation.find("run 'kdump start'") != std::string::npos);
    put(dir.path + "/kernel/kexec_crash_size", "0\n");
    auto unreserved = core::armed_status(paths);
    CHECK_FALSE(unreserved.armed);
    CHECK(unreserved.explanation.find("crashkernel=") != std::string::npos);
}

TEST_CASE("kdump start reports the raw dump it found and the crash settings, both")
{
    FakeHost host;
    auto report = core::arm(host.paths, { .force_rebuild = false, .applet_names = { "dumper" } });
    REQUIRE(report.ok());
    CHECK(report->rebuild.rebuilt);
    CHECK(contains(report->load_description, "flags=KEXEC_FILE_ON_CRASH"));
    REQUIRE(host.load_flags.size() == 1);
    // The raw-dump note is set before the load and must survive it.
    REQUIRE(report->notes.size() == 2);
    CHECK(report->notes[0].starts_with(core::cat("the dump waiting on ", host.raw_device, " could not be rebuilt: ")));
    CHECK(report->notes[1].starts_with("kernel.sysrq was 438; set to 1"));
}

TEST_CASE("kdump restart honours --force: the initramfs is rebuilt though its inputs did not change")
{
    FakeHost host;
    core::ArmOptions options { .force_rebuild = false, .applet_names = { "dumper" } };
    REQUIRE(core::arm(host.paths, options).ok());

    auto kept = core::rearm(host.paths, options);
    REQUIRE(kept.ok());
    CHECK_FALSE(kept->rebuild.rebuilt);
    CHECK(kept->rebuild.reason.starts_with("its inputs have not changed"));

    options.force_rebuild = true;
    auto forced = core::rearm(host.paths, options);
    REQUIRE(forced.ok());
    CHECK(forced->rebuild.rebuilt);
    CHECK(forced->rebuild.reason == "a rebuild was asked for");
    // Each restart unloaded, then loaded.
    CHECK(host.load_flags.size() == 5);
}

TEST_CASE("kdump test refuses to crash a machine that is not armed, and asks first")
{
    FakeHost host;
    int asked = 0;
    auto refused = core::crash_for_test(host.paths, [&] { ++asked; return core::Result<void>(); });
    REQUIRE_FALSE(refused.ok());
    CHECK(contains(refused.error().message(), "kdump is not armed"));
    CHECK(refused.error().message().ends_with("; not crashing"));
    CHECK(asked == 0);

    // Armed, but the answer is no: nothing is written to sysrq-trigger.
    put(host.paths.sysfs + "/kernel/kexec_crash_loaded", "1\n");
    put(host.paths.proc + "/sysrq-trigger", "");
    auto declined = core::crash_for_test(host.paths, [&] { ++asked; return core::Result<void>(core::Error::invalid("not confirmed")); });
    REQUIRE_FALSE(declined.ok());
    CHECK(declined.error().message() == "not confirmed");
    CHECK(asked == 1);
    CHECK(core::read_text_file(host.paths.proc + "/sysrq-trigger").value().empty());

    // Confirmed: 'c' goes to sysrq-trigger (here a file, so nothing crashes).
    auto crashed = core::crash_for_test(host.paths, [&] { ++asked; return core::Result<void>(); });
    REQUIRE_FALSE(crashed.ok());
    CHECK(crashed.error().message() == core::cat("the crash through ", host.paths.proc, "/sysrq-trigger did not happen"));
    CHECK(core::read_text_file(host.paths.proc + "/sysrq-trigger").value() == "c");
}

} // TEST_SUITE
