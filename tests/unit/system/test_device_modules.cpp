// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/device_modules.h"

#include "tests/unit/initramfs/fixtures.h"

#include <doctest.h>

// The scratch-tree helpers of the initramfs tests build the fake sysfs.
using namespace initramfs_fixtures;

TEST_CASE("module names: '-' and '_' alike, suffix and directory dropped")
{
    CHECK(core::module_name("kernel/drivers/char/hw_random/virtio-rng.ko.xz") == "virtio_rng");
    CHECK(core::module_name("virtio_blk") == "virtio_blk");
    CHECK(core::module_name("a/b/dm-crypt.ko.zst") == "dm_crypt");
    CHECK(core::module_name("x.ko.gz") == "x");
}

// A fake sysfs: a virtio disk with a partition, and a dm-crypt device on it.
TEST_CASE("module list of a block device from a fake sysfs")
{
    TempDir dir;
    std::string sys = dir / "sys";
    std::string pci = sys + "/devices/pci0000:00/0000:00:04.0";
    std::string virtio = pci + "/virtio1";
    std::string vda = virtio + "/block/vda";
    make_directories(vda + "/vda1");
    write_file(vda + "/vda1/partition", "1\n");
    write_file(vda + "/dev", "254:0\n");
    make_symlink(virtio, vda + "/device");
    make_directories(sys + "/module/virtio_blk");
    make_directories(sys + "/module/virtio_pci");
    make_directories(sys + "/bus/virtio/drivers/virtio_blk");
    make_directories(sys + "/bus/pci/drivers/virtio-pci");
    make_symlink("../../../../module/virtio_blk", sys + "/bus/virtio/drivers/virtio_blk/module");
    make_symlink("../../../../module/virtio_pci", sys + "/bus/pci/drivers/virtio-pci/module");
    make_symlink("../../../../bus/virtio/drivers/virtio_blk", virtio + "/driver");
    make_symlink("../../../bus/pci/drivers/virtio-pci", pci + "/driver");
    // A built-in driver: a driver link but no module link.
    make_directories(sys + "/bus/pci/drivers/pcieport");
    make_symlink(sys + "/bus/pci/drivers/pcieport", sys + "/devices/pci0000:00/driver");
    make_symlink("../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda1", sys + "/dev/block/254:1");
    make_symlink("../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda", sys + "/class/block/vda");
    make_symlink("../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda1", sys + "/class/block/vda1");

    std::vector<std::string> expected { "virtio_blk", "virtio_pci" };
    CHECK(core::block_device_modules(sys, "254:1").value() == expected);
    CHECK(core::block_device_modules(sys, "vda").value() == expected);
    CHECK(core::block_device_modules(sys + "/", "/dev/vda1").value() == expected);

    // dm-crypt over vda1.
    std::string dm = sys + "/devices/virtual/block/dm-0";
    make_directories(dm + "/dm");
    write_file(dm + "/dm/uuid", "CRYPT-LUKS2-0123456789abcdef-root\n");
    make_directories(dm + "/slaves");
    make_symlink("../../../../pci0000:00/0000:00:04.0/virtio1/block/vda/vda1", dm + "/slaves/vda1");
    make_symlink("../../devices/virtual/block/dm-0", sys + "/dev/block/253:0");
    CHECK(core::block_device_modules(sys, "253:0").value() == std::vector<std::string> { "dm_mod", "dm_crypt", "virtio_blk", "virtio_pci" });

    auto missing = core::block_device_modules(sys, "/dev/nvme9n9");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message() == "/dev/nvme9n9: no such block device in " + sys + " (looked for " + sys + "/class/block/nvme9n9)");
}
