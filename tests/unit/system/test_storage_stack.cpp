// SPDX-License-Identifier: GPL-2.0-or-later
// A dump target's device at `kdump start`, in fake sysfs trees: what it is
// stacked on, the layers refused, and the name the capture finds it by;
// and the resolved-target file that carries that to the capture.
#include "core/system/resolved_target.h"
#include "core/system/storage_stack.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/safe_file.h"
#include "core/base/strings.h"
#include "tests/unit/system/fake_storage.h"
#include "tests/unit/test_support.h"

#include <cerrno>
#include <cstdlib>
#include <doctest.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using test_support::ScratchDir;
using fake_storage::FakeStorage;
using fake_storage::link;

constexpr std::string_view instead = "; put the dump target outside it (a target line in kdump.conf), or dump over ssh or nfs";

} // namespace

TEST_SUITE("storage stack")
{

TEST_CASE("host_block_device: paths, /dev/mapper links, major:minor")
{
    FakeStorage storage;
    auto vda = storage.disk("vda");
    storage.partition(vda, "vda2", 2);
    auto root = storage.dm("dm-3", "LVM-abc", { vda + "/vda2" });
    link("../dm-3", storage.options.dev_root + "/mapper/vg0-root");
    auto by_mapper = core::host_block_device(core::DeviceSpec::parse("/dev/mapper/vg0-root").value(), storage.options);
    REQUIRE_MESSAGE(by_mapper.ok(), by_mapper.error().message());
    CHECK(by_mapper->name == "dm-3");
    CHECK(by_mapper->sysfs_path == core::real_path(root).value());
    auto by_number = core::host_block_device(254, 1, storage.options);
    REQUIRE(by_number.ok());
    CHECK(by_number->name == "vda2");
    CHECK(by_number->node == storage.options.dev_root + "/vda2");
    auto missing = core::host_block_device(254, 99, storage.options);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().errno_code() == ENOENT);
}

TEST_CASE("check_storage_stack: plain partitions pass, and say what they are")
{
    FakeStorage storage;
    auto vda = storage.disk("vda");
    storage.partition(vda, "vda1", 1);
    auto stack = storage.stack("vda1");
    REQUIRE_MESSAGE(stack.ok(), stack.error().message());
    CHECK(stack->description == "vda1 (a partition of vda)");
    CHECK_FALSE(stack->lvm);
}

TEST_CASE("check_storage_stack: dm-crypt/LUKS, multipath, md, iSCSI and other dm are refused in one line")
{
    FakeStorage storage;
    auto vda = storage.disk("vda");
    auto vda2 = storage.partition(vda, "vda2", 2);
    storage.dm("dm-0", "CRYPT-LUKS2-0123456789abcdef0123456789abcdef-luks-root", { vda2 });
    CHECK(storage.refusal("dm-0") == core::cat("dm-crypt/LUKS device dm-0 (CRYPT-LUKS2): kdumpbox cannot unlock encrypted devices in the capture kernel", instead));

    auto sda = storage.disk("sda");
    auto sdb = storage.disk("sdb");
    storage.dm("dm-1", "mpath-3600508b400105e210000900000490000", { sda, sdb });
    CHECK(storage.refusal("dm-1") == core::cat("multipath device dm-1 (mpath-3600508b400105e210000900000490000): kdumpbox does not set up multipath in the capture kernel", instead));
    auto mpath = core::real_path(storage.sys + "/class/block/dm-1").value();
    storage.dm("dm-2", "part1-mpath-3600508b400105e210000900000490000", { mpath });
    CHECK(storage.refusal("dm-2").starts_with("multipath device dm-2 (part1-mpath-"));

    auto md = storage.md("md127", { storage.partition(sda, "sda1", 1), storage.partition(sdb, "sdb1", 1) });
    CHECK(storage.refusal("md127") == core::cat("md RAID device md127: kdumpbox does not assemble md arrays in the capture kernel", instead));
    storage.partition(md, "md127p1", 1);
    CHECK(storage.refusal("md127p1").starts_with("md RAID device md127: "));

    std::string session = storage.sys + "/devices/platform/host3/session1";
    REQUIRE(core::make_directories(session + "/iscsi_session/session1").ok());
    auto sdc = storage.add(session + "/target3:0:0/3:0:0:0/block", "sdc");
    storage.partition(sdc, "sdc1", 1);
    CHECK(storage.refusal("sdc1") == core::cat("iSCSI device sdc: kdumpbox does not log in to iSCSI targets in the capture kernel", instead));

    storage.dm("dm-4", "", { vda2 });
    CHECK(storage.refusal("dm-4") == core::cat("device-mapper device dm-4 (no dm uuid): kdumpbox sets up only LVM linear and striped logical volumes in the capture kernel", instead));
    storage.dm("dm-5", "VDO-1234", { vda2 });
    CHECK(storage.refusal("dm-5").starts_with("device-mapper device dm-5 (dm uuid VDO-1234): "));
}

TEST_CASE("check_storage_stack: an LVM logical volume goes to plan_lvm_volume, and the layers below its PVs count")
{
    FakeStorage storage;
    auto vda = storage.disk("vda");
    auto vda2 = storage.partition(vda, "vda2", 2);
    storage.dm("dm-3", "LVM-Yk2SGc0y9kH3m1pNq8W2z6f3r0d4x5c6B7n8M9q0W1e2R3t4Y5u6I7o8P9a0S1d2", { vda2 });
    // plan_lvm_volume decides; here its PV holds no LVM label, and its
    // refusal reaches the caller as it is, naming the LV and the PV.
    auto planned = storage.stack("dm-3");
    REQUIRE_FALSE(planned.ok());
    INFO(planned.error().message());
    CHECK(planned.error().errno_code() == ENOTSUP);
    CHECK(planned.error().message().find("dm-3") != std::string::npos);
    CHECK(planned.error().message().find("sits on vda2, which has no LVM label") != std::string::npos);

    // A thin LV's pool below it is LVM's own: not refused by the walk, left
    // to plan_lvm_volume.
    auto pool = storage.dm("dm-6", "LVM-poolpoolpool-tpool", { vda2 });
    storage.dm("dm-7", "LVM-thinthinthin", { pool });
    auto thin = storage.stack("dm-7");
    REQUIRE_FALSE(thin.ok());
    INFO(thin.error().message());
    CHECK(thin.error().message().find("dm-7") != std::string::npos);
    CHECK(thin.error().errno_code() != 0);

    // A PV on md RAID or on LUKS: refused by the walk, naming the layer.
    auto sda = storage.disk("sda");
    auto sdb = storage.disk("sdb");
    auto md = storage.md("md0", { sda, sdb });
    storage.dm("dm-8", "LVM-onmdonmdonmd", { md });
    CHECK(storage.refusal("dm-8").starts_with("md RAID device md0: "));
    auto luks = storage.dm("dm-9", "CRYPT-LUKS1-abcdef-luks", { vda2 });
    storage.dm("dm-10", "LVM-onluksonluks", { luks });
    CHECK(storage.refusal("dm-10").starts_with("dm-crypt/LUKS device dm-9 (CRYPT-LUKS1): "));
}

TEST_CASE("stable_identity: the file system's UUID, else the PARTUUID, else the name with a warning")
{
    FakeStorage storage;
    std::string uuid = "3f1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9";
    std::string image = fake_storage::ext4_image(storage.root, uuid);
    if (image.empty())
        SKIP_TEST("mkfs.ext4 is missing");
    std::string gpt_image = storage.root + "/gpt.img";
    std::string made = test_support::run_output(core::cat("truncate -s 16M '", gpt_image, "' && printf 'label: gpt\\nstart=2048, size=4096, uuid=C0FFEE00-1234-5678-9ABC-DEF012345678\\nstart=8192, size=4096\\n' | sfdisk -q '", gpt_image, "' >/dev/null 2>&1 && echo done"));
    if (made != "done")
        SKIP_TEST("sfdisk is missing");
    auto vda = storage.disk("vda", core::read_text_file(gpt_image, 32 << 20).value());
    storage.partition(vda, "vda1", 1);
    storage.partition(vda, "vda2", 2, image);
    storage.disk("vdc");

    auto identity_of = [&](std::string const& name, core::IdentityUse use) {
        auto device = storage.device(name);
        auto identity = core::stable_identity(device, use, {}, storage.options);
        REQUIRE_MESSAGE(identity.ok(), identity.error().message());
        return identity.value();
    };
    auto fs = identity_of("vda2", core::IdentityUse::FileSystem);
    CHECK(fs.spec.text() == "UUID=" + uuid);
    CHECK(fs.warning.empty());
    // The same partition as a raw target: its PARTUUID (the file system on
    // it is about to be overwritten).
    auto raw = identity_of("vda1", core::IdentityUse::Raw);
    CHECK(raw.spec.text() == "PARTUUID=c0ffee00-1234-5678-9abc-def012345678");
    auto no_fs = identity_of("vda1", core::IdentityUse::FileSystem);
    CHECK(no_fs.spec.kind == core::DeviceSpec::Kind::PartUuid);
    auto bare = identity_of("vdc", core::IdentityUse::FileSystem);
    CHECK(bare.spec.text() == "/dev/vdc");
    CHECK(bare.warning == "vdc has no file-system UUID and no PARTUUID, so the capture kernel looks for it as /dev/vdc, a name that can change when disks are added or probed in another order");

    // A device that cannot be read: still the name, and the warning says why.
    storage.disk("vde");
    REQUIRE(::unlink((storage.options.dev_root + "/vde").c_str()) == 0);
    REQUIRE(::mkdir((storage.options.dev_root + "/vde").c_str(), 0755) == 0);
    auto unreadable = identity_of("vde", core::IdentityUse::FileSystem);
    CHECK(unreadable.spec.text() == "/dev/vde");
    CHECK(unreadable.warning.starts_with("vde has no file-system UUID and no PARTUUID that could be read ("));

    // A logical volume without a UUID: the /dev/mapper name the capture makes.
    core::StorageStack lvm;
    lvm.lvm = core::LvmVolume {};
    lvm.lvm->vg_name = "my-vg";
    lvm.lvm->lv_name = "crash";
    auto volume = core::stable_identity(storage.device("vdc"), core::IdentityUse::Raw, lvm, storage.options);
    REQUIRE(volume.ok());
    CHECK(volume->spec.text() == "/dev/mapper/my--vg-crash");
}

TEST_CASE("resolved target file: written and read back, strictly")
{
    core::ResolvedTarget target;
    target.device = core::DeviceSpec::parse("UUID=3f1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9").value();
    target.fs_type = "btrfs";
    target.mount_options = "subvol=/root";
    target.directory = "/var/crash dir";
    target.lvm = true;
    auto text = core::format_resolved_target(target);
    REQUIRE(text.ok());
    CHECK(text.value() == "kind filesystem\ndevice UUID=3f1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9\nfs_type btrfs\nmount_options subvol=/root\ndirectory /var/crash dir\nlvm yes\n");
    CHECK(core::parse_resolved_target(text.value(), "t").value() == target);

    core::ResolvedTarget raw;
    raw.kind = core::ResolvedTarget::Kind::Raw;
    raw.device = core::DeviceSpec::parse("PARTUUID=c0ffee00-1234-5678-9abc-def012345678").value();
    auto raw_text = core::format_resolved_target(raw).value();
    CHECK(raw_text == "kind raw\ndevice PARTUUID=c0ffee00-1234-5678-9abc-def012345678\nlvm no\n");
    CHECK(core::parse_resolved_target(raw_text, "t").value() == raw);

    auto error_of = [](std::string_view input) {
        auto parsed = core::parse_resolved_target(input, "t");
        REQUIRE_FALSE(parsed.ok());
        return parsed.error().message();
    };
    CHECK(error_of("kind raw\ndevice /dev/vda\n") == "t: 'lvm' is missing; run 'kdump rebuild' on the host to write it again");
    CHECK(error_of("kind raw\ndevice /dev/vda\nlvm no\ndirectory /x\n") == "t: 'directory' does not belong to a raw target; run 'kdump rebuild' on the host to write it again");
    CHECK(error_of("kind raw\nkind raw\n").starts_with("t:2: 'kind' appears twice"));
    CHECK(error_of("colour blue\n").starts_with("t:1: unknown key 'colour'"));
    CHECK(error_of("kind disk\n").starts_with("t:1: kind 'disk'"));
    CHECK(error_of("kind filesystem\ndevice UUID=x\nfs_type xfs\nmount_options \ndirectory var\nlvm no\n").starts_with("t:5: directory 'var' is not absolute"));
    CHECK(error_of("kind filesystem\ndevice UUID=x\nfs_type \nmount_options \ndirectory /\nlvm no\n").starts_with("t: fs_type is empty"));
    CHECK(error_of("device\n").starts_with("t:1: 'device' is not 'KEY VALUE'"));
    target.directory = "/a\nb";
    CHECK_FALSE(core::format_resolved_target(target).ok());
}

} // TEST_SUITE
