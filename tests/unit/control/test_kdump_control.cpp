// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/control/kdump_control.h"
#include "core/control/dump_report.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"
#include "tests/unit/system/fake_storage.h"
#include "tests/unit/test_support.h"

#include <algorithm>
#include <doctest.h>
#include <sys/stat.h>
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
    std::vector<unsigned long> classic_flags;
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
        // The raw "device" is a file; sysfs knows it as a virtual disk.
        REQUIRE(core::make_directories(root + "/sys/devices/virtual/block/rawdev").ok());
        fake_storage::link(root + "/sys/devices/virtual/block/rawdev", root + "/sys/class/block/rawdev");
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
        paths.dev = root + "/dev";
        paths.modules_root = root + "/no-modules";
        paths.self_binary = root + "/kdumpbox";
        paths.reported_record_path = root + "/reported";
        paths.kexec_file_load = [this](int, int, std::string const&, unsigned long flags) {
            load_flags.push_back(flags);
            return 0;
        };
        // Never the real kexec_load from a test.
        paths.kexec_load = [this](uint64_t, std::span<arch::ClassicSegment const>, unsigned long flags) {
            classic_flags.push_back(flags);
            return 0;
        };
    }
};

bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

// A FakeHost with disks in its sysfs and /dev, a kdump.conf of `conf` and
// a mountinfo of `mountinfo` ("ROOT" in either is the scratch directory,
// links resolved, so that `path` exists or has an existing ancestor here).
struct StorageHost : FakeHost {
    fake_storage::FakeStorage storage { dir.path };
    std::string real_root = core::real_path(dir.path).value();

    std::string with_root(std::string text)
    {
        for (size_t at; (at = text.find("ROOT")) != std::string::npos;)
            text.replace(at, 4, real_root);
        return text;
    }
    void configure(std::string const& conf, std::string const& mountinfo)
    {
        put(dir.path + "/kdump.conf", with_root(conf));
        put(paths.proc + "/self/mountinfo", with_root(mountinfo));
    }
    core::Result<core::CapturePlan> plan() { return core::plan_capture(paths, { .force_rebuild = false, .applet_names = { "dumper" } }); }
    std::string failure()
    {
        auto planned = plan();
        REQUIRE_FALSE(planned.ok());
        return planned.error().message();
    }
};

std::string file_in_image(core::CapturePlan const& plan, std::string_view path)
{
    for (auto const& file : plan.spec.extra_files) {
        if (file.path == path)
            return file.data;
    }
    return "(none)";
}

constexpr std::string_view crash_uuid = "6a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9";

} // namespace

TEST_SUITE("control")
{

TEST_CASE("prepare_crash_settings leaves kernel.sysrq alone and says what it means for the keyboard")
{
    ScratchDir dir;
    put(dir.path + "/sys/kernel/sysrq", "438\n");
    put(dir.path + "/sys/kernel/panic_on_oops", "0\n");
    put(dir.path + "/sys/kernel/unknown_nmi_panic", "1\n");
    auto notes = core::prepare_crash_settings(dir.path);
    REQUIRE(notes.size() == 2);
    CHECK(notes[0] == "kernel.sysrq is 438: Alt-SysRq-c from the keyboard will not crash the machine (that needs 1, or the 8 bit); 'kdump test' works anyway, through /proc/sysrq-trigger");
    CHECK(notes[1].find("kernel.panic_on_oops is 0") == 0);
    CHECK(core::read_text_file(dir.path + "/sys/kernel/sysrq").value() == "438\n");
    // 1 (everything) and values with the dump bit (8) let the key crash.
    for (auto value : { "1\n", "8\n", "446\n" }) {
        put(dir.path + "/sys/kernel/sysrq", value);
        CHECK(core::prepare_crash_settings(dir.path).size() == 1);
    }
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
    CHECK(report->notes[1].starts_with("kernel.sysrq is 438: Alt-SysRq-c"));
    CHECK(core::read_text_file(host.paths.proc + "/sys/kernel/sysrq").value() == "438\n");
    // The stream was corrupt: what could be rebuilt is reported as incomplete,
    // and kdump status says so.
    CHECK(contains(core::last_dump_line(host.paths.reported_record_path), "last dump: incomplete, "));
    CHECK(contains(core::last_dump_line(host.paths.reported_record_path), "corrupt flattened stream"));
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

TEST_CASE("kdump status's first line is kdumpctl's")
{
    core::ArmedStatus armed { true, "kdump is armed: a crash kernel is loaded" };
    CHECK(armed.text() == "Kdump is operational\nkdump is armed: a crash kernel is loaded\n");
    core::ArmedStatus unarmed { false, "kdump is not armed: no crash kernel is loaded; run 'kdump start'" };
    CHECK(unarmed.text().starts_with("Kdump is not operational\nkdump is not armed"));
}

TEST_CASE("kdump reload unloads and loads, keeps an unchanged image, and says when nothing was armed")
{
    FakeHost host;
    core::ArmOptions options { .force_rebuild = false, .applet_names = { "dumper" } };
    auto first = core::reload(host.paths, options);
    REQUIRE(first.ok());
    CHECK(first->notes.front() == "kdump was not armed before the reload; it is now");
    CHECK(first->rebuild.rebuilt);
    put(host.paths.sysfs + "/kernel/kexec_crash_loaded", "1\n");
    size_t calls = host.load_flags.size();
    auto again = core::reload(host.paths, options);
    REQUIRE(again.ok());
    CHECK_FALSE(again->rebuild.rebuilt);
    for (auto const& note : again->notes)
        CHECK_FALSE(contains(note, "was not armed"));
    // An unload, then a load.
    CHECK(host.load_flags.size() == calls + 2);
}

TEST_CASE("kdump-config test previews start: the checks run, nothing is built or loaded")
{
    FakeHost host;
    core::ArmOptions options { .force_rebuild = false, .applet_names = { "dumper" } };
    auto preview = core::preview_arm(host.paths, options);
    REQUIRE(preview.ok());
    CHECK(preview->rebuild_needed);
    CHECK(preview->rebuild_reason == "there was no image yet");
    CHECK(contains(preview->load_description, "(built first)"));
    CHECK(host.load_flags.empty());
    CHECK_FALSE(core::path_exists(preview->plan.initrd_path));

    REQUIRE(core::arm(host.paths, options).ok());
    size_t calls = host.load_flags.size();
    auto built = core::preview_arm(host.paths, options);
    REQUIRE(built.ok());
    CHECK_FALSE(built->rebuild_needed);
    CHECK(contains(built->load_description, "KEXEC_FILE_ON_CRASH"));
    CHECK(host.load_flags.size() == calls);

    // Start's checks are the preview's: no reservation, no preview.
    put(host.paths.sysfs + "/kernel/kexec_crash_size", "0\n");
    auto refused = core::preview_arm(host.paths, options);
    REQUIRE_FALSE(refused.ok());
    CHECK(contains(refused.error().message(), "crashkernel="));
}

TEST_CASE("get-default-crashkernel covers the measured floor at every size")
{
    auto ranges = core::default_crashkernel();
    REQUIRE(ranges.ok());
    // "START-[END]:SIZE,..." in MiB and GiB; every range at least the 72M
    // that Debian's 6.12 capture kernel was measured to need (sweep.sh),
    // with room, and the ranges contiguous from 1G up with no end.
    auto parse_size = [](std::string_view text) -> uint64_t {
        uint64_t value = std::stoull(std::string(text.substr(0, text.size() - 1)));
        return text.back() == 'G' ? value << 30 : value << 20;
    };
    uint64_t next_start = 1ull << 30;
    bool open_ended = false;
    for (auto range : core::split(ranges.value(), ',')) {
        auto colon = range.find(':');
        REQUIRE(colon != std::string_view::npos);
        auto span = range.substr(0, colon);
        auto dash = span.find('-');
        REQUIRE(dash != std::string_view::npos);
        CHECK(parse_size(span.substr(0, dash)) == next_start);
        CHECK(parse_size(range.substr(colon + 1)) >= (uint64_t(72) << 20) * 3 / 2);
        if (dash + 1 == span.size())
            open_ended = true;
        else
            next_start = parse_size(span.substr(dash + 1));
    }
    CHECK(open_ended);
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

TEST_CASE("kdump start without a target line: the file system holding path, from mountinfo")
{
    StorageHost host;
    std::string image = fake_storage::ext4_image(host.dir.path, std::string(crash_uuid));
    if (image.empty())
        SKIP_TEST("mkfs.ext4 is missing");
    auto vda = host.storage.disk("vda");
    host.storage.partition(vda, "vda1", 1); // 254:1
    auto vdb = host.storage.disk("vdb");     // 254:2
    host.storage.partition(vdb, "vdb1", 1, image); // 254:3
    REQUIRE(core::make_directories(host.dir.path + "/var/crash").ok());

    // /var/crash on its own file system: the top of it.
    host.configure("path ROOT/var/crash\n", "1 0 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
                                             "30 1 254:3 / ROOT/var/crash rw,relatime shared:20 - ext4 /dev/vdb1 rw\n");
    auto plan = host.plan();
    REQUIRE_MESSAGE(plan.ok(), plan.error().message());
    REQUIRE(plan->target);
    CHECK(plan->target->host_name == "vdb1");
    CHECK(file_in_image(*plan, core::capture_resolved_target_path) == core::cat("kind filesystem\ndevice UUID=", crash_uuid, "\nfs_type ext4\nmount_options \ndirectory /\nlvm no\n"));
    CHECK(file_in_image(*plan, core::capture_lvm_volume_path) == "(none)");
    std::string explanation = plan->target->explanation;
    INFO(explanation);
    CHECK(explanation.starts_with(core::cat("# target: ext4 UUID=", crash_uuid, " (/dev/vdb1, the file system holding ", host.real_root, "/var/crash, mounted on ", host.real_root,
        "/var/crash; from ", host.paths.proc, "/self/mountinfo)\n")));
    CHECK(contains(explanation, "# found in the capture kernel by the UUID of the ext4 file system on vdb1; device stack: vdb1 (a partition of vdb)\n"));
    CHECK(contains(explanation, "# directory inside it: /\n"));

    // A path below a bind mount of a directory of it, that does not exist yet.
    host.configure("path ROOT/srv/dumps/new\n", "1 0 254:1 / / rw - ext4 /dev/vda1 rw\n"
                                                 "31 1 254:3 /keep ROOT/srv rw - ext4 /dev/vdb1 rw\n");
    plan = host.plan();
    REQUIRE_MESSAGE(plan.ok(), plan.error().message());
    CHECK(plan->target->target.directory == "/keep/dumps/new");

    // btrfs: the mount's number is anonymous; the source names the device,
    // and the capture mounts the subvolume.
    host.configure("path ROOT/var/crash\n", "60 1 0:33 /root/var/crash ROOT/var/crash rw - btrfs /dev/vdb1 rw,subvolid=257,subvol=/root\n");
    plan = host.plan();
    REQUIRE_MESSAGE(plan.ok(), plan.error().message());
    CHECK(plan->target->target.mount_options == "subvol=/root");
    CHECK(plan->target->target.directory == "/var/crash");
    CHECK(plan->target->target.fs_type == "btrfs");
    CHECK(contains(plan->target->explanation, "# directory inside it: /var/crash (mounted with subvol=/root)"));

    // An explicit file-system target: path is relative to its root, and the
    // capture finds it by UUID, whatever the line called it.
    fake_storage::link("../../vdb1", host.storage.options.dev_root + "/disk/by-id/virtio-crash-part1");
    host.configure("ext4 /dev/disk/by-id/virtio-crash-part1\npath /dumps\n", "1 0 254:1 / / rw - ext4 /dev/vda1 rw\n");
    plan = host.plan();
    REQUIRE_MESSAGE(plan.ok(), plan.error().message());
    CHECK(file_in_image(*plan, core::capture_resolved_target_path) == core::cat("kind filesystem\ndevice UUID=", crash_uuid, "\nfs_type ext4\nmount_options \ndirectory /dumps\nlvm no\n"));
    CHECK(contains(plan->target->explanation, core::cat("the ext4 line at ", host.dir.path, "/kdump.conf:1")));
    CHECK_FALSE(plan->rootfs);

    // failure_action dump_to_rootfs: the root file system (the mount holding
    // /) is recorded too, with path inside it; here a btrfs subvolume.
    host.configure("ext4 /dev/vdb1\npath /var/crash\nfailure_action dump_to_rootfs\n", "1 0 0:33 /root / rw - btrfs /dev/vdb1 rw,subvolid=257,subvol=/root\n");
    plan = host.plan();
    REQUIRE_MESSAGE(plan.ok(), plan.error().message());
    REQUIRE(plan->rootfs);
    CHECK(file_in_image(*plan, core::capture_rootfs_target_path) == core::cat("kind filesystem\ndevice UUID=", crash_uuid, "\nfs_type btrfs\nmount_options subvol=/root\ndirectory /var/crash\nlvm no\n"));
    CHECK(plan->rootfs->explanation.starts_with(core::cat("# dump_to_rootfs target: btrfs UUID=", crash_uuid, " (/dev/vdb1, the root file system, mounted on / from subvolume /root; from ")));
}

TEST_CASE("kdump start without a target line refuses a network or device-less file system at path")
{
    StorageHost host;
    host.configure("path ROOT/var/crash\n", "1 0 254:1 / / rw - ext4 /dev/vda1 rw\n"
                                             "40 1 0:50 / ROOT/var rw - nfs4 server:/export rw,vers=4.2,addr=10.0.0.1\n");
    auto nfs = host.failure();
    CHECK(nfs == core::cat("the file system holding ", host.real_root, "/var/crash (server:/export, nfs4 mounted on ", host.real_root,
                     "/var) is a network file system, and kdump.conf has no target line; kdumpbox does not follow it by itself: write `nfs HOST:/EXPORT` or `ssh USER@HOST` in kdump.conf, or a local target line"));
    host.configure("path ROOT/var/crash\n", "40 1 0:51 / ROOT rw - tmpfs tmpfs rw\n");
    auto tmpfs = host.failure();
    CHECK(tmpfs.starts_with(core::cat("the file system holding ", host.real_root, "/var/crash (tmpfs, tmpfs mounted on ", host.real_root, ") is not on a block device the capture kernel can mount (")));
    CHECK(tmpfs.ends_with("); write a target line in kdump.conf (e.g. `xfs UUID=...`), or an nfs or ssh line"));
}

TEST_CASE("kdump start refuses targets on layers the capture cannot build, naming the layer")
{
    StorageHost host;
    auto vda = host.storage.disk("vda");
    auto vda2 = host.storage.partition(vda, "vda2", 2);
    host.storage.dm("dm-0", "CRYPT-LUKS2-0123-luks-root", { vda2 });
    fake_storage::link("../dm-0", host.storage.options.dev_root + "/mapper/luks-root");
    host.configure("xfs /dev/mapper/luks-root\n", "1 0 254:1 / / rw - ext4 /dev/vda1 rw\n");
    auto luks = host.failure();
    CHECK(luks == core::cat(host.dir.path, "/kdump.conf:1: xfs /dev/mapper/luks-root: dm-crypt/LUKS device dm-0 (CRYPT-LUKS2): kdumpbox cannot unlock encrypted devices in the capture kernel; put the dump target outside it (a target line in kdump.conf), or dump over ssh or nfs"));

    // The root file system on an LVM logical volume, by default: the plan
    // is plan_lvm_volume's, whose refusal (its PV here has no LVM label)
    // names the LV.
    host.storage.dm("dm-3", "LVM-0123456789", { vda2 }); // 254:3
    host.configure("path ROOT/var/crash\n", "1 0 254:3 / / rw - xfs /dev/mapper/vg0-root rw\n");
    auto lvm = host.failure();
    INFO(lvm);
    CHECK(lvm.starts_with(core::cat("the file system holding ", host.real_root, "/var/crash (/dev/mapper/vg0-root, xfs mounted on /): ")));
    CHECK(contains(lvm, "dm-3"));
    CHECK(contains(lvm, "device-mapper uuid \"LVM-0123456789\" is not LVM- and two 32-character ids"));
}

TEST_CASE("kdump start: KEXEC_ARGS are applied (-d asks the kernel to log the load) or refused by name")
{
    FakeHost host;
    auto settings = core::read_text_file(host.paths.settings_path).value();
    put(host.paths.settings_path, settings + "KEXEC_ARGS=\"-s -d\"\n");
    auto report = core::arm(host.paths, { .force_rebuild = false, .applet_names = { "dumper" } });
    REQUIRE(report.ok());
    REQUIRE(host.load_flags.size() == 1);
    CHECK((host.load_flags[0] & core::kexec::file_debug) != 0);

    auto line = std::count(settings.begin(), settings.end(), '\n') + 1;
    for (auto const& [args, message] : std::vector<std::pair<std::string, std::string>> {
             { "--bogus", "unknown option '--bogus' (see --help); remove it ('kexec --help' lists the options kdumpbox's kexec takes)" },
             { "--append=quiet", "--append/--command-line: kdumpctl's own --command-line comes after KEXEC_ARGS, so kexec-tools never used it; put the words in KDUMP_COMMANDLINE_APPEND; remove it" },
             { "-l", "-l: kdump start chooses the action itself: it loads the crash kernel, as -p does; remove it" },
             { "--mem-min=0x1000", "--mem-min: not supported by this kexec: placement limits belong to classic kexec_load; the kernel places kexec_file_load segments" },
         }) {
        CAPTURE(args);
        put(host.paths.settings_path, settings + "KEXEC_ARGS=\"" + args + "\"\n");
        auto refused = core::arm(host.paths, { .force_rebuild = false, .applet_names = { "dumper" } });
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().message() == core::cat(host.paths.settings_path, ":", line, ": KEXEC_ARGS '", args, "': ", message));
    }
    CHECK(host.load_flags.size() == 1); // nothing refused was loaded
}

TEST_CASE("kdump start: core_collector goes through makedumpfile's own parser, with -F as the target needs")
{
    FakeHost host;
    std::string conf = core::read_text_file(host.dir.path + "/kdump.conf").value();
    auto with_collector = [&](std::string const& line) { put(host.dir.path + "/kdump.conf", conf + "core_collector " + line + "\n"); };
    auto plan = [&] { return core::plan_capture(host.paths, { .force_rebuild = false, .applet_names = { "dumper" } }); };

    // A raw target streams: -F is added, and the image's kdump.conf and
    // `kdump show` carry the line the capture runs.
    with_collector("makedumpfile -l --message-level 7 -d 31");
    auto planned = plan();
    REQUIRE(planned.ok());
    REQUIRE(planned->config.core_collector);
    CHECK(planned->config.core_collector->command == "makedumpfile -F -l --message-level 7 -d 31");
    CHECK(contains(planned->spec.kdump_conf, "core_collector makedumpfile -F -l --message-level 7 -d 31\n"));

    with_collector("makedumpfile -x vmlinux -d 31");
    auto refused = plan();
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message() == core::cat(host.dir.path, "/kdump.conf:3: core_collector makedumpfile -x vmlinux -d 31: -x: not supported by this makedumpfile: reading debug info from a vmlinux is not supported; the VMCOREINFO note in the vmcore is used instead"));
    with_collector("makedumpfile --bogus");
    CHECK(plan().error().message() == core::cat(host.dir.path, "/kdump.conf:3: core_collector makedumpfile --bogus: unknown option '--bogus' (see --help); 'makedumpfile --help' lists the options kdumpbox's collector takes"));
    with_collector("makedumpfile -d 99");
    CHECK(contains(plan().error().message(), "core_collector makedumpfile -d 99: -d: dump level 99 is out of range"));
}

TEST_CASE("kdump start: an external core_collector is found on the host and put in the image, or refused")
{
    FakeHost host;
    std::string conf = core::read_text_file(host.dir.path + "/kdump.conf").value();
    auto with_collector = [&](std::string const& line) { put(host.dir.path + "/kdump.conf", conf + "core_collector " + line + "\n"); };
    auto plan = [&] { return core::plan_capture(host.paths, { .force_rebuild = false, .applet_names = { "dumper" } }); };
    std::string bin = host.dir.path + "/bin";
    put(bin + "/mycollector", "#!/bin/sh\nexit 0\n");
    REQUIRE(::chmod((bin + "/mycollector").c_str(), 0755) == 0);
    host.paths.program_search_path = host.dir.path + "/nothing:" + bin;

    with_collector("mycollector --fast");
    auto found = plan();
    REQUIRE(found.ok());
    CHECK(found->config.core_collector->command == bin + "/mycollector --fast");
    REQUIRE(found->spec.collectors.size() == 1);
    CHECK(found->spec.collectors[0] == bin + "/mycollector");
    auto image = core::initramfs::plan_initramfs(found->spec);
    REQUIRE(image.ok());
    CHECK(std::any_of(image->manifest.begin(), image->manifest.end(), [&](auto const& entry) { return entry.path == bin + "/mycollector" && entry.reason == "core_collector"; }));

    with_collector("nosuchcollector -v");
    auto missing = plan();
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message() == core::cat(host.dir.path, "/kdump.conf:3: core_collector nosuchcollector -v: 'nosuchcollector' is not found on this host (searched ", host.paths.program_search_path,
                                           "); install it, or write its absolute path, so that kdump start can put it in the capture initramfs"));
    with_collector("/usr/local/bin/no-such-collector");
    CHECK(contains(plan().error().message(), "kdump.conf:3: core_collector /usr/local/bin/no-such-collector: '/usr/local/bin/no-such-collector' does not exist on this host"));

    // The host's makedumpfile link to kdumpbox itself is the applet.
    fake_storage::link(host.paths.self_binary, bin + "/makedumpfile");
    REQUIRE(::chmod(host.paths.self_binary.c_str(), 0755) == 0);
    with_collector(bin + "/makedumpfile -c -d 31");
    auto self = plan();
    REQUIRE(self.ok());
    CHECK(self->config.core_collector->command == "makedumpfile -F -c -d 31");
    CHECK(self->spec.collectors.empty());
}

TEST_CASE("kdump start: an xz module goes in only if the capture kernel decompresses xz itself")
{
    FakeHost host;
    std::string root = host.dir.path;
    host.paths.modules_root = root + "/modules";
    std::string module = root + "/modules/6.1.0-test/kernel/extra/xzmod.ko.xz";
    put(module, std::string("\xfd" "7zXZ\0", 6) + "not really xz");
    put(root + "/modules/6.1.0-test/modules.dep", "kernel/extra/xzmod.ko.xz:\n");
    std::string conf = core::read_text_file(root + "/kdump.conf").value();
    put(root + "/kdump.conf", conf + "extra_modules xzmod\n");
    auto arm = [&] { return core::arm(host.paths, { .force_rebuild = false, .applet_names = { "dumper" } }); };

    put(root + "/boot/config-6.1.0-test", "CONFIG_MODULE_COMPRESS_XZ=y\n# CONFIG_MODULE_DECOMPRESS is not set\n");
    auto refused = arm();
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message().starts_with(core::cat("module xzmod (extra_modules) is xz-compressed (", module, "), and neither the capture kernel (CONFIG_MODULE_DECOMPRESS is not set in ", root, "/boot/config-6.1.0-test) nor kdumpbox")));
    CHECK(host.load_flags.empty());

    put(root + "/boot/config-6.1.0-test", "CONFIG_MODULE_COMPRESS_XZ=y\nCONFIG_MODULE_DECOMPRESS=y\n");
    auto armed = arm();
    REQUIRE_MESSAGE(armed.ok(), (armed.ok() ? std::string() : armed.error().message()));
    auto const& manifest = armed->rebuild.image.manifest;
    CHECK(std::any_of(manifest.begin(), manifest.end(), [](auto const& entry) { return entry.path == "/lib/modules/6.1.0-test/kernel/extra/xzmod.ko.xz"; }));
}

} // TEST_SUITE
