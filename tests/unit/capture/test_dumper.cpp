// SPDX-License-Identifier: GPL-2.0-or-later
// The capture side's parts that run without a capture kernel: child
// processes, the module list, root= parsing, a raw capture into a file from
// a synthetic vmcore, and the host's rebuild of a raw target's dump.
#include "core/capture/dumper.h"

#include "core/dump/dump_output.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/control/kdump_control.h"
#include "core/dump/kdump_format.h"
#include "core/system/dump_status.h"
#include "core/system/module_load.h"
#include "core/system/target.h"
#include "core/base/process.h"
#include "core/base/strings.h"
#include "tests/unit/synthetic_vmcore.h"

#include <cstdlib>
#include "tests/unit/test_support.h"

#include <doctest.h>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using test_support::ScratchDir;

void write_file(std::string const& path, std::string_view text)
{
    auto fd = core::open_file(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd.ok());
    REQUIRE(core::write_all(fd.value().get(), text, path).ok());
}

// 8 MiB of RAM at 0, mapped and described well enough for the collector.
test::TempFile small_vmcore()
{
    test::SyntheticVmcore vmcore;
    vmcore.add_load(0, 8 << 20);
    test::X86_64PageTables tables(vmcore, 0x100000, 0x100000);
    tables.map_range(0xffff888000000000, 0, 8 << 20);
    vmcore.write_string(0x400000, "some kernel data that is not all zeros");
    vmcore.set_vmcoreinfo(test::x86_64_vmcoreinfo(tables, 0));
    vmcore.add_prstatus(1);
    return vmcore.write_file();
}

} // namespace

TEST_CASE("run_process: exit status, signals, stdout redirection, a missing program")
{
    auto ok = core::run_process({ "/bin/sh", "-c", "exit 0" });
    REQUIRE(ok.ok());
    CHECK(ok.value().success());
    auto seven = core::run_process({ "sh", "-c", "exit 7" }); // PATH lookup
    REQUIRE(seven.ok());
    CHECK_FALSE(seven.value().success());
    CHECK(seven.value().exit_code == 7);
    CHECK(seven.value().describe() == "exit status 7");
    auto killed = core::run_process({ "/bin/sh", "-c", "kill -9 $$" });
    REQUIRE(killed.ok());
    CHECK_FALSE(killed.value().exited);
    CHECK(killed.value().signal == 9);
    CHECK(killed.value().describe().find("killed by signal 9") == 0);

    ScratchDir dir;
    std::string out = dir.path + "/out";
    auto fd = core::open_file(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd.ok());
    core::ProcessOptions options;
    options.stdout_fd = fd.value().get();
    options.environment = { "KDUMPBOX_TEST_VALUE=42" };
    REQUIRE(core::run_process({ "/bin/sh", "-c", "echo value=$KDUMPBOX_TEST_VALUE" }, options).ok());
    CHECK(core::read_text_file(out).value() == "value=42\n");

    auto missing = core::run_process({ "/no/such/program" });
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().errno_code() == ENOENT);
    CHECK(missing.error().message().find("cannot run /no/such/program") != std::string::npos);
    CHECK(missing.error().message().find("extra_bins") != std::string::npos);
    CHECK_FALSE(core::run_process({}).ok());
}

TEST_CASE("load_modules_in_order: no list is no modules; unreadable modules are reported, not fatal")
{
    ScratchDir dir;
    auto none = core::load_modules_in_order(dir.path + "/load-order");
    REQUIRE(none.ok());
    CHECK(none.value().loaded.empty());
    CHECK(none.value().failures.empty());

    write_file(dir.path + "/load-order", "# comment\n\nkernel/missing_one.ko\n/abs/missing_two.ko.xz\n");
    auto report = core::load_modules_in_order(dir.path + "/load-order");
    REQUIRE(report.ok());
    REQUIRE(report.value().failures.size() == 2);
    CHECK(report.value().failures[0].find("missing_one") == 0);
    CHECK(report.value().failures[1].find("missing_two") == 0);
    CHECK(report.value().loaded.empty());
}

namespace {

// The capture's side of a raw target: a fresh stream written onto device.
core::CaptureOutcome capture_to_raw(std::string const& device, std::string const& vmcore_path, std::string const& scratch)
{
    write_file(device, "");
    auto config = core::parse_kdump_conf(core::cat("raw ", device, "\ndisk_timeout 1\n"), "kdump.conf");
    if (!config.ok())
        return core::CaptureOutcome { .failure = config.error().message() };
    core::CaptureEnvironment environment;
    environment.vmcore_path = vmcore_path;
    environment.load_order_path = scratch + "/no-load-order";
    environment.cpu_count = 2;
    return core::run_capture(config.value(), environment);
}

} // namespace

TEST_CASE("run_capture: a raw target gets a flattened stream that rebuilds into a readable dump")
{
    ScratchDir dir;
    auto vmcore = small_vmcore();
    std::string device = dir.path + "/raw-device";
    auto outcome = capture_to_raw(device, vmcore.path(), dir.path);
    INFO(outcome.failure);
    REQUIRE(outcome.saved);
    CHECK(outcome.dump_directory == device);

    // The host side: kdump start finds it, rebuilds it under PATH and clears
    // the stream header so that it is not rebuilt twice.
    auto host_config = core::parse_kdump_conf(core::cat("raw ", device, "\npath ", dir.path, "/crash\n"), "kdump.conf");
    REQUIRE(host_config.ok());
    // PATH is a link on the host (/var/crash -> /srv/crash), the admin's
    // own: followed there, unlike anything below a capture's mount point.
    REQUIRE(::mkdir((dir.path + "/real-crash").c_str(), 0755) == 0);
    REQUIRE(::symlink("real-crash", (dir.path + "/crash").c_str()) == 0);
    auto rebuilt = core::collect_raw_dump(host_config.value(), device, dir.path + "/raw-handled");
    std::string rebuild_error = rebuilt.ok() ? std::string() : rebuilt.error().message();
    INFO(rebuild_error);
    REQUIRE(rebuilt.ok());
    REQUIRE_FALSE(rebuilt.value().empty());
    CHECK(rebuilt.value().find(core::real_path(dir.path).value() + "/real-crash/127.0.0.1-") == 0);
    auto dump = core::KdumpFile::open(rebuilt.value());
    REQUIRE(dump.ok());
    std::vector<uint8_t> page(4096);
    REQUIRE(dump.value()->read(0x400000, page).ok());
    CHECK(std::string(reinterpret_cast<char const*>(page.data()), 9) == "some kern");
    auto again = core::collect_raw_dump(host_config.value(), device, dir.path + "/raw-handled");
    REQUIRE(again.ok());
    CHECK(again.value().empty());
}

TEST_CASE("run_capture: a vmcore whose VMCOREINFO was damaged is still saved, at the fallback dump level (#14)")
{
    // The VM test's recipe on a synthetic vmcore: one hex digit of
    // SYMBOL(init_top_pgt) overwritten, so no address can be translated.
    ScratchDir dir;
    test::SyntheticVmcore vmcore;
    vmcore.add_load(0, 8 << 20);
    test::X86_64PageTables tables(vmcore, 0x100000, 0x100000);
    tables.map_range(0xffff888000000000, 0, 8 << 20);
    vmcore.write_string(0x400000, "some kernel data that is not all zeros");
    std::string text = test::x86_64_vmcoreinfo(tables, 0);
    size_t at = text.find("SYMBOL(init_top_pgt)=");
    REQUIRE(at != std::string::npos);
    text[at + 21] = 'z';
    vmcore.set_vmcoreinfo(text);
    vmcore.add_prstatus(1);
    auto damaged = vmcore.write_file();
    std::string device = dir.path + "/raw-device";
    write_file(device, "");
    auto config = core::parse_kdump_conf(core::cat("raw ", device, "\ndisk_timeout 1\n"), "kdump.conf");
    REQUIRE(config.ok());
    core::CaptureEnvironment environment;
    environment.vmcore_path = damaged.path();
    environment.load_order_path = dir.path + "/no-load-order";
    environment.cpu_count = 1;
    auto outcome = core::run_capture(config.value(), environment);
    INFO(outcome.failure);
    REQUIRE(outcome.saved);
    auto stream = core::open_file(device, O_RDONLY);
    REQUIRE(stream.ok());
    REQUIRE(core::rebuild_flattened(stream.value().get(), device, core::open_file(dir.path + "/vmcore", O_WRONLY | O_CREAT, 0600).value().get(), "vmcore").ok());
    auto dump = core::KdumpFile::open(dir.path + "/vmcore");
    REQUIRE(dump.ok());
    CHECK(dump.value()->info().dump_level == 1);
    std::vector<uint8_t> page(4096);
    REQUIRE(dump.value()->read(0x400000, page).ok());
    CHECK(std::string(reinterpret_cast<char const*>(page.data()), 9) == "some kern");
}

TEST_CASE("kdump start: a raw stream with no end record is rebuilt once, as vmcore-incomplete, then left alone")
{
    ScratchDir dir;
    auto vmcore = small_vmcore();
    std::string device = dir.path + "/raw-device";
    REQUIRE(capture_to_raw(device, vmcore.path(), dir.path).saved);
    // The capture stopped early: the stream lacks its end record.
    struct stat device_status;
    REQUIRE(::stat(device.c_str(), &device_status) == 0);
    REQUIRE(::truncate(device.c_str(), device_status.st_size - 16) == 0);

    auto host_config = core::parse_kdump_conf(core::cat("raw ", device, "\npath ", dir.path, "/crash\n"), "kdump.conf");
    REQUIRE(host_config.ok());
    std::string record = dir.path + "/state/raw-handled";
    auto first = core::collect_raw_dump(host_config.value(), device, record);
    REQUIRE_FALSE(first.ok());
    INFO(first.error().message());
    CHECK(first.error().message().find("not again at the next start") != std::string::npos);
    auto dumps = core::list_directory(dir.path + "/crash");
    REQUIRE(dumps.ok());
    REQUIRE(dumps.value().size() == 1);
    std::string directory = dir.path + "/crash/" + dumps.value()[0];
    CHECK(core::path_exists(directory + "/vmcore-incomplete"));
    CHECK_FALSE(core::path_exists(directory + "/vmcore"));
    auto status = core::parse_dump_status(core::read_text_file(directory + "/kdumpbox-status").value_or(""), "status");
    REQUIRE(status.ok());
    CHECK(status.value().outcome == core::DumpOutcome::Incomplete);
    // The stream is still on the device, for a rebuild by hand.
    CHECK(core::raw_device_has_dump(device).value());
    CHECK(core::read_text_file(record).value_or("").starts_with(device + " SHA256:"));

    // The next start: nothing new.
    auto again = core::collect_raw_dump(host_config.value(), device, record);
    REQUIRE(again.ok());
    CHECK(again.value().empty());
    CHECK(core::list_directory(dir.path + "/crash").value().size() == 1);

    // A new capture's stream is a new stream: rebuilt.
    REQUIRE(capture_to_raw(device, vmcore.path(), dir.path).saved);
    auto next = core::collect_raw_dump(host_config.value(), device, record);
    INFO((next.ok() ? next.value() : next.error().message()));
    REQUIRE(next.ok());
    CHECK_FALSE(next.value().empty());
}

TEST_CASE("run_capture: failures are outcomes with a reason, never a crash")
{
    ScratchDir dir;
    core::CaptureEnvironment environment;
    environment.vmcore_path = dir.path + "/no-vmcore";
    auto config = core::parse_kdump_conf("", "kdump.conf");
    REQUIRE(config.ok());
    auto outcome = core::run_capture(config.value(), environment);
    CHECK_FALSE(outcome.saved);
    CHECK(outcome.failure.find("is not readable") != std::string::npos);

    auto vmcore = small_vmcore();
    environment.vmcore_path = vmcore.path();
    environment.load_order_path = dir.path + "/no-load-order";
    environment.sysfs_root = dir.path + "/sys";
    auto absent = core::parse_kdump_conf("ext4 LABEL=nowhere\ndisk_timeout 0\n", "kdump.conf");
    REQUIRE(absent.ok());
    outcome = core::run_capture(absent.value(), environment);
    CHECK_FALSE(outcome.saved);
    CHECK(outcome.failure.find("LABEL=nowhere") != std::string::npos);

    // ssh: the initramfs's network plan is read first; without it (or with
    // a damaged one) nothing touches the network.
    auto ssh = core::parse_kdump_conf("ssh user@host\n", "kdump.conf");
    REQUIRE(ssh.ok());
    environment.network_plan_path = dir.path + "/network";
    outcome = core::run_capture(ssh.value(), environment);
    CHECK_FALSE(outcome.saved);
    CHECK(outcome.failure.find("ssh user@host: ") == 0);
    CHECK(outcome.failure.find("the initramfs lacks its network plan: run 'kdump rebuild' on the host") != std::string::npos);
    // nfs takes the same first step (one path for both network targets).
    auto nfs = core::parse_kdump_conf("nfs host:/export\n", "kdump.conf");
    REQUIRE(nfs.ok());
    outcome = core::run_capture(nfs.value(), environment);
    CHECK_FALSE(outcome.saved);
    CHECK(outcome.failure.find("nfs host:/export: ") == 0);
    CHECK(outcome.failure.find("the initramfs lacks its network plan: run 'kdump rebuild' on the host") != std::string::npos);
    write_file(environment.network_plan_path, "target_host host\nmode static\n");
    outcome = core::run_capture(ssh.value(), environment);
    CHECK(outcome.failure == dir.path + "/network: target_address is missing; run 'kdump rebuild' on the host to write it again");
    CHECK(core::run_capture(nfs.value(), environment).failure == outcome.failure);

    environment.proc_cmdline_path = dir.path + "/cmdline";
    write_file(environment.proc_cmdline_path, "console=ttyS0 quiet\n");
    auto none = core::parse_kdump_conf("", "kdump.conf");
    outcome = core::run_capture(none.value(), environment);
    CHECK_FALSE(outcome.saved);
    CHECK(outcome.failure.find("no root=") != std::string::npos);
}

namespace {

// A capture over `vmcore` whose initramfs files (the recorded target, its
// LVM plan, the mount point) are in dir, not in /etc.
core::CaptureEnvironment scratch_capture(ScratchDir const& dir, test::TempFile const& vmcore)
{
    core::CaptureEnvironment environment;
    environment.vmcore_path = vmcore.path();
    environment.load_order_path = dir.path + "/no-load-order";
    environment.resolved_target_path = dir.path + "/target";
    environment.lvm_volume_path = dir.path + "/lvm";
    environment.rootfs_target_path = dir.path + "/rootfs-target";
    environment.mount_point = dir.path + "/mnt";
    environment.keep_dumps_path = dir.path + "/keep-dumps";
    return environment;
}

} // namespace

TEST_CASE("run_capture: a local target is the one kdump start recorded, not kdump.conf's line")
{
    ScratchDir dir;
    auto vmcore = small_vmcore();
    auto environment = scratch_capture(dir, vmcore);
    environment.sysfs_root = dir.path + "/sys";
    environment.dev_root = dir.path + "/dev";
    REQUIRE(::mkdir(environment.sysfs_root.c_str(), 0755) == 0);
    auto config = core::parse_kdump_conf("xfs LABEL=written\ndisk_timeout 0\n", "kdump.conf");
    REQUIRE(config.ok());

    // The recorded UUID is looked for, not the line's label.
    write_file(environment.resolved_target_path, "kind filesystem\ndevice UUID=11111111-2222-3333-4444-555555555555\nfs_type xfs\nmount_options \ndirectory /var/crash\nlvm no\n");
    auto outcome = core::run_capture(config.value(), environment);
    CHECK_FALSE(outcome.saved);
    CHECK(outcome.failure.starts_with("no block device has UUID=11111111-2222-3333-4444-555555555555 after waiting"));

    // A damaged record is an error saying how to get a good one.
    write_file(environment.resolved_target_path, "kind filesystem\n");
    outcome = core::run_capture(config.value(), environment);
    CHECK(outcome.failure == environment.resolved_target_path + ": 'device' is missing; run 'kdump rebuild' on the host to write it again");

    // An LVM logical volume is activated first, from the recorded plan.
    write_file(environment.resolved_target_path, "kind filesystem\ndevice UUID=11111111-2222-3333-4444-555555555555\nfs_type xfs\nmount_options \ndirectory /\nlvm yes\n");
    outcome = core::run_capture(config.value(), environment);
    CHECK(outcome.failure.find("the initramfs lacks the target's LVM plan: run 'kdump rebuild' on the host") != std::string::npos);
    write_file(environment.lvm_volume_path, "vg vg0\n");
    outcome = core::run_capture(config.value(), environment);
    CHECK_FALSE(outcome.saved);
    // parse_lvm_volume's or activate_lvm_volume's error, whichever stops it.
    CHECK(outcome.failure.find("no block device has") == std::string::npos);
    CHECK_FALSE(outcome.failure.empty());

    // dump_to_rootfs: the root file system kdump start recorded, not root=.
    environment.proc_cmdline_path = dir.path + "/cmdline";
    write_file(environment.proc_cmdline_path, "root=/dev/vda1\n");
    write_file(environment.rootfs_target_path, "kind filesystem\ndevice UUID=22222222-2222-3333-4444-555555555555\nfs_type btrfs\nmount_options subvol=/root\ndirectory /var/crash\nlvm no\n");
    outcome = core::run_capture_to_rootfs(config.value(), environment);
    CHECK(outcome.failure.starts_with("no block device has UUID=22222222-2222-3333-4444-555555555555 after waiting"));
}

TEST_CASE("run_capture: the recorded btrfs subvolume is mounted and the dump goes under the recorded directory")
{
    if (::geteuid() != 0)
        SKIP_TEST("not root: no loop devices or mounts");
    ScratchDir dir;
    std::string image = dir.path + "/btrfs.img";
    std::string uuid = test_support::run_output("cat /proc/sys/kernel/random/uuid");
    if (test_support::run_output(core::cat("truncate -s 160M '", image, "' && mkfs.btrfs -q -f -U ", uuid, " '", image, "' >/dev/null 2>&1 && echo done")) != "done")
        SKIP_TEST("mkfs.btrfs failed or is missing");
    std::string loop = test_support::run_output("losetup --find --show '" + image + "' 2>/dev/null");
    if (loop.empty())
        SKIP_TEST("no loop device (losetup failed)");
    std::string top = dir.path + "/top";
    auto in_top = [&](std::string const& command) {
        return test_support::run_output(core::cat("mkdir -p '", top, "' && mount -t btrfs '", loop, "' '", top, "' && ", command, "; umount '", top, "'"));
    };
    if (in_top(core::cat("btrfs subvolume create '", top, "/root' >/dev/null && echo made")) != "made") {
        std::system(("losetup -d '" + loop + "'").c_str());
        SKIP_TEST("btrfs cannot be mounted here, or has no subvolume command");
    }

    auto vmcore = small_vmcore();
    auto environment = scratch_capture(dir, vmcore);
    environment.cpu_count = 1;
    environment.now = 1700000000;
    write_file(environment.resolved_target_path, core::cat("kind filesystem\ndevice UUID=", uuid, "\nfs_type btrfs\nmount_options subvol=/root\ndirectory /var/crash\nlvm no\n"));
    auto config = core::parse_kdump_conf("disk_timeout 5\npath /ignored\n", "kdump.conf");
    REQUIRE(config.ok());
    // KDUMP_NUM_DUMPS=2: of the two older dumps, the older goes before the save.
    write_file(environment.keep_dumps_path, "2\n");
    std::string crash = top + "/root/var/crash";
    in_top(core::cat("mkdir -p '", crash, "/127.0.0.1-2023-01-01-00:00:00' '", crash, "/127.0.0.1-2023-02-01-00:00:00' && touch '", crash,
        "/127.0.0.1-2023-01-01-00:00:00/vmcore' '", crash, "/127.0.0.1-2023-02-01-00:00:00/vmcore'"));
    auto outcome = core::run_capture(config.value(), environment);
    std::string listing = in_top(core::cat("ls '", crash, "/127.0.0.1-2023-11-14-22:13:20'"));
    std::string kept = in_top(core::cat("ls '", crash, "'"));
    std::string status_text = in_top(core::cat("cat '", crash, "/127.0.0.1-2023-11-14-22:13:20/kdumpbox-status'"));
    std::system(("losetup -d '" + loop + "'").c_str());
    INFO(outcome.failure);
    CHECK(outcome.saved);
    CHECK(outcome.dump_directory == environment.mount_point + "/var/crash/127.0.0.1-2023-11-14-22:13:20");
    CHECK(("\n" + listing + "\n").find("\nvmcore\n") != std::string::npos);
    CHECK(kept == "127.0.0.1-2023-02-01-00:00:00\n127.0.0.1-2023-11-14-22:13:20");
    // The status file, last: complete, where, what, how long.
    auto status = core::parse_dump_status(status_text + "\n", "kdumpbox-status");
    REQUIRE(status.ok());
    CHECK(status.value().outcome == core::DumpOutcome::Complete);
    CHECK(status.value().time_seconds == 1700000000);
    CHECK(status.value().target == core::cat("btrfs UUID=", uuid));
    CHECK(status.value().directory == "/var/crash/127.0.0.1-2023-11-14-22:13:20");
    CHECK(status.value().vmcore_bytes.value_or(0) > 0);
    CHECK(status.value().memory_bytes == uint64_t { 8 } << 20);
    CHECK(status.value().collector == "built-in (makedumpfile -z -d 31)");
    CHECK(status.value().total_ms.has_value());
    CHECK(status.value().wait_target_ms.has_value());
    CHECK(status.value().mount_ms.has_value());
    CHECK(status.value().collector_ms.has_value());
}
