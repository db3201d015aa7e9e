// SPDX-License-Identifier: GPL-2.0-or-later
#include "initramfs/image.h"
#include "initramfs/modules.h"

#include "tests/unit/initramfs/fixtures.h"

#include "tests/unit/test_support.h"

#include <doctest.h>

using core::Compression;
namespace initramfs = core::initramfs;
using namespace initramfs_fixtures;

TEST_CASE("module resolution from .modinfo without modules.dep: load order, reasons, both ELF classes")
{
    TempDir dir;
    std::string modules = dir / "lib/modules/6.1.0-test";
    write_module_tree(modules);

    auto virtio = initramfs::module_dependencies_from_modinfo(modules + "/kernel/drivers/virtio/virtio.ko"); // ELF32 big-endian
    REQUIRE(virtio.ok());
    CHECK(virtio.value() == std::vector<std::string> { "virtio_ring" });

    auto resolved = initramfs::resolve_modules(modules, { "virtio_blk", "virtio-pci", "ext4" });
    REQUIRE(resolved.ok());
    auto names = names_of(resolved.value());
    CHECK(names == std::vector<std::string> { "virtio_ring", "virtio", "virtio_blk", "virtio_pci_modern_dev", "virtio_pci" });
    auto const& modules_found = resolved.value();
    CHECK(modules_found[0].path == modules + "/kernel/drivers/virtio/virtio_ring.ko");
    CHECK(modules_found[0].reason == "dependency of virtio");
    CHECK(modules_found[1].reason == "dependency of virtio_blk");
    CHECK(modules_found[2].reason == "extra_modules");
    CHECK(modules_found[3].path == modules + "/kernel/drivers/virtio/virtio-pci-modern-dev.ko");
    CHECK(modules_found[3].reason == "dependency of virtio_pci");

    auto requested = initramfs::resolve_module_requests(modules, { { "virtio_blk", "driver of /sys/block/vda" } });
    REQUIRE(requested.ok());
    CHECK(requested.value().back().reason == "driver of /sys/block/vda");
}

TEST_CASE("module resolution: modules.dep is preferred, .ko.zst and .ko.gz are read")
{
    TempDir dir;
    std::string modules = dir / "6.1.0-test";
    write_module_tree(modules);
    SUBCASE("modules.dep")
    {
        // A dependency the .modinfo files do not have proves modules.dep was used.
        write_file(modules + "/modules.dep",
            "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko kernel/extra/helper.ko\n"
            "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
            "kernel/drivers/virtio/virtio_ring.ko:\n"
            "kernel/extra/helper.ko:\n");
        auto resolved = initramfs::resolve_modules(modules, { "virtio_blk" });
        REQUIRE(resolved.ok());
        CHECK(names_of(resolved.value()) == std::vector<std::string> { "virtio_ring", "virtio", "helper", "virtio_blk" });
        CHECK(resolved.value()[2].path == modules + "/kernel/extra/helper.ko");
        auto missing = initramfs::resolve_modules(modules, { "virtio_pci" });
        REQUIRE_FALSE(missing.ok());
        CHECK(missing.error().message().find("not in " + modules + "/modules.dep") != std::string::npos);
    }
    SUBCASE("compressed modules")
    {
        std::string ring = modules + "/kernel/drivers/virtio/virtio_ring.ko";
        write_file(ring + ".zst", compressed(read_file(ring), Compression::Zstd));
        ::unlink(ring.c_str());
        std::string virtio = modules + "/kernel/drivers/virtio/virtio.ko";
        write_file(virtio + ".gz", compressed(read_file(virtio), Compression::Gzip));
        ::unlink(virtio.c_str());
        write_file(modules + "/kernel/drivers/virtio/leaf.ko.zst", compressed(synthetic_module(modinfo_text("leaf", "virtio")), Compression::Zstd));
        auto resolved = initramfs::resolve_modules(modules, { "leaf" });
        REQUIRE(resolved.ok());
        CHECK(names_of(resolved.value()) == std::vector<std::string> { "virtio_ring", "virtio", "leaf" });
        CHECK(resolved.value()[0].path == ring + ".zst");
        CHECK(resolved.value()[1].path == virtio + ".gz");
    }
}

TEST_CASE("module resolution: errors for .ko.xz without modules.dep, unknown modules and cycles")
{
    TempDir dir;
    std::string modules = dir / "6.12.0-test";
    write_module_tree(modules);
    SUBCASE(".ko.xz needs depmod")
    {
        write_file(modules + "/kernel/drivers/block/xzmod.ko.xz", std::string("\xfd" "7zXZ\0", 6) + "not really xz");
        auto resolved = initramfs::resolve_modules(modules, { "xzmod" });
        REQUIRE_FALSE(resolved.ok());
        CHECK(resolved.error().errno_code() == ENOTSUP);
        CHECK(resolved.error().message() == "module xzmod: " + modules + "/kernel/drivers/block/xzmod.ko.xz is xz-compressed and kdumpbox has no xz decoder to read its dependencies from .modinfo; run `depmod 6.12.0-test` so " + modules + "/modules.dep exists");
    }
    SUBCASE("unknown module")
    {
        auto resolved = initramfs::resolve_modules(modules, { "no_such_driver" });
        REQUIRE_FALSE(resolved.ok());
        CHECK(resolved.error().errno_code() == ENOENT);
        CHECK(resolved.error().message() == "module no_such_driver: not found: no no_such_driver.ko, .ko.xz, .ko.zst or .ko.gz under " + modules + ", and not built in; is it the right kernel version?");
        write_file(modules + "/kernel/a.ko", synthetic_module(modinfo_text("a", "ghost")));
        auto dependency = initramfs::resolve_modules(modules, { "a" });
        REQUIRE_FALSE(dependency.ok());
        CHECK(dependency.error().message().find("module ghost (dependency of a): not found") == 0);
        CHECK_FALSE(initramfs::resolve_modules(dir / "nowhere", { "a" }).ok());
    }
    SUBCASE("a cycle is reported, not followed")
    {
        write_file(modules + "/kernel/a.ko", synthetic_module(modinfo_text("a", "b")));
        write_file(modules + "/kernel/b.ko", synthetic_module(modinfo_text("b", "c")));
        write_file(modules + "/kernel/c.ko", synthetic_module(modinfo_text("c", "a,virtio_ring")));
        auto resolved = initramfs::resolve_modules(modules, { "a" });
        REQUIRE_FALSE(resolved.ok());
        CHECK(resolved.error().message() == "module dependency cycle in " + modules + ": a -> b -> c -> a");
        write_file(modules + "/kernel/self.ko", synthetic_module(modinfo_text("self", "self")));
        CHECK_FALSE(initramfs::resolve_modules(modules, { "self" }).ok());
    }
    SUBCASE("built-in modules resolve to nothing")
    {
        auto resolved = initramfs::resolve_modules(modules, { "ext4", "rng-core" });
        REQUIRE(resolved.ok());
        CHECK(resolved.value().empty());
    }
    SUBCASE("a file that is not a module")
    {
        write_file(modules + "/kernel/junk.ko", "not an ELF file at all");
        auto resolved = initramfs::resolve_modules(modules, { "junk" });
        REQUIRE_FALSE(resolved.ok());
        CHECK(resolved.error().message().find("not an ELF file") != std::string::npos);
        std::string truncated = synthetic_module(modinfo_text("cut", ""));
        truncated.resize(truncated.size() - 70);
        write_file(modules + "/kernel/cut.ko", truncated);
        CHECK_FALSE(initramfs::resolve_modules(modules, { "cut" }).ok());
    }
}

TEST_CASE("module resolution on the real Debian kernels")
{
    auto trees = glob_paths("/root/.cache/kdumpbox/vm/kernels/6.1.*/root/lib/modules/*");
    if (trees.empty()) {
        test_support::mark_skipped("no Debian 6.1 kernel under /root/.cache/kdumpbox/vm/kernels");
    } else {
        auto resolved = initramfs::resolve_modules(trees.front(), { "virtio_blk", "virtio_pci" });
        REQUIRE(resolved.ok());
        auto names = names_of(resolved.value());
        MESSAGE("6.1 load order: ", [&] { std::string s; for (auto const& n : names) s += n + " "; return s; }());
        for (auto const& dependency : { "virtio", "virtio_ring" }) {
            CHECK(position(names, dependency) < position(names, "virtio_blk"));
            CHECK(position(names, dependency) < position(names, "virtio_pci"));
        }
        CHECK(position(names, "virtio_ring") < position(names, "virtio"));
        CHECK(position(names, "virtio_pci_modern_dev") < position(names, "virtio_pci"));
        CHECK(position(names, "virtio_pci_legacy_dev") < position(names, "virtio_pci"));
        CHECK(names.size() == 6);
    }

    auto newer = glob_paths("/root/.cache/kdumpbox/vm/kernels/6.12.*/root/usr/lib/modules/*");
    if (newer.empty()) {
        SKIP_TEST("no Debian 6.12 kernel under /root/.cache/kdumpbox/vm/kernels");
    }
    // virtio_pci is built in there; virtio_blk is a .ko.xz and the .deb has no modules.dep.
    auto builtin = initramfs::resolve_modules(newer.front(), { "virtio_pci", "virtio" });
    REQUIRE(builtin.ok());
    CHECK(builtin.value().empty());
    auto xz = initramfs::resolve_modules(newer.front(), { "virtio_blk" });
    REQUIRE_FALSE(xz.ok());
    CHECK(xz.error().message().find("run `depmod") != std::string::npos);
}

TEST_CASE("compressed modules: what the capture kernel decompresses, from its config")
{
    auto xz = initramfs::module_decompression_from_config("CONFIG_MODULES=y\nCONFIG_MODULE_COMPRESS_XZ=y\nCONFIG_MODULE_DECOMPRESS=y\n", "/boot/config-6.12.0");
    CHECK(xz.formats == std::vector<core::StreamFormat> { core::StreamFormat::Xz });
    CHECK(xz.why == "CONFIG_MODULE_DECOMPRESS=y and CONFIG_MODULE_COMPRESS_XZ=y in /boot/config-6.12.0");
    auto off = initramfs::module_decompression_from_config("CONFIG_MODULE_COMPRESS_ZSTD=y\n# CONFIG_MODULE_DECOMPRESS is not set\n", "/boot/config-6.1.0");
    CHECK(off.formats.empty());
    CHECK(off.why == "CONFIG_MODULE_DECOMPRESS is not set in /boot/config-6.1.0");
    CHECK(initramfs::module_decompression_from_config("CONFIG_MODULE_DECOMPRESS=y\n", "c").formats.empty());

    TempDir dir;
    auto missing = initramfs::module_decompression_for_config_file(dir / "config-none");
    REQUIRE(missing.ok());
    CHECK(missing->formats.empty());
    CHECK(missing->why == "there is no " + (dir / "config-none") + " to tell whether it has CONFIG_MODULE_DECOMPRESS");
}

TEST_CASE("compressed modules: kept when the capture kernel decompresses them, else zstd and gzip unpacked, xz refused")
{
    TempDir dir;
    std::string modules = dir / "6.12.0-test";
    write_module_tree(modules);
    std::string ring = modules + "/kernel/drivers/virtio/virtio_ring.ko";
    std::string ring_bytes = read_file(ring);
    write_file(ring + ".zst", compressed(ring_bytes, Compression::Zstd));
    ::unlink(ring.c_str());
    std::string virtio = modules + "/kernel/drivers/virtio/virtio.ko";
    write_file(virtio + ".gz", compressed(read_file(virtio), Compression::Gzip));
    ::unlink(virtio.c_str());
    auto resolved = initramfs::resolve_modules(modules, { "virtio_blk" });
    REQUIRE(resolved.ok());
    auto list = resolved.value(); // virtio_ring.ko.zst, virtio.ko.gz, virtio_blk.ko
    REQUIRE(list.size() == 3);

    initramfs::ModuleDecompression zstd_kernel { { core::StreamFormat::Zstd }, "zstd" };
    REQUIRE(initramfs::choose_module_storage(list, zstd_kernel).ok());
    CHECK_FALSE(list[0].decompress);
    CHECK(list[1].decompress);
    CHECK_FALSE(list[2].decompress);
    CHECK(initramfs::module_path_in_image(list[0], modules, "6.12.0-test") == "/lib/modules/6.12.0-test/kernel/drivers/virtio/virtio_ring.ko.zst");
    CHECK(initramfs::module_path_in_image(list[1], modules, "6.12.0-test") == "/lib/modules/6.12.0-test/kernel/drivers/virtio/virtio.ko");

    // The image holds what the kernel can load: the .ko.zst as it is, the
    // .ko.gz unpacked under its .ko name, and the load order says so.
    initramfs::InitramfsSpec spec;
    write_file(dir / "kdumpbox", "not really an executable\n", 0755);
    spec.kdumpbox_binary = dir / "kdumpbox";
    spec.modules_dir = modules;
    spec.modules = list;
    spec.compression = { Compression::None, 0 };
    REQUIRE(initramfs::build_initramfs(spec, dir / "image").ok());
    auto map = by_name(parse_newc(read_file(dir / "image")));
    CHECK(map["lib/modules/6.12.0-test/kernel/drivers/virtio/virtio.ko"].data.substr(0, 4) == "\x7f" "ELF");
    CHECK(map.count("lib/modules/6.12.0-test/kernel/drivers/virtio/virtio.ko.gz") == 0);
    CHECK(map["lib/modules/6.12.0-test/kernel/drivers/virtio/virtio_ring.ko.zst"].data == read_file(ring + ".zst"));
    CHECK(map["lib/modules/load-order"].data.find("/kernel/drivers/virtio/virtio.ko\n") != std::string::npos);

    // No decompression in the kernel: both unpacked by kdumpbox.
    REQUIRE(initramfs::choose_module_storage(list, {}).ok());
    CHECK(list[0].decompress);
    CHECK(list[1].decompress);

    // xz: only the kernel can, and this one cannot.
    write_file(modules + "/kernel/drivers/virtio/virtio_blk.ko.xz", std::string("\xfd" "7zXZ\0", 6) + "not really xz");
    list[2].path = modules + "/kernel/drivers/virtio/virtio_blk.ko.xz";
    list[2].reason = "driver of /dev/vda";
    auto refused = initramfs::choose_module_storage(list, { {}, "CONFIG_MODULE_DECOMPRESS is not set in /boot/config-6.12.0-test" });
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message() == "module virtio_blk (driver of /dev/vda) is xz-compressed (" + list[2].path
              + "), and neither the capture kernel (CONFIG_MODULE_DECOMPRESS is not set in /boot/config-6.12.0-test) nor kdumpbox (no xz decoder) can decompress it: install it uncompressed (unxz it, then run depmod), or use a capture kernel built with CONFIG_MODULE_DECOMPRESS=y and its CONFIG_MODULE_COMPRESS option");
    initramfs::ModuleDecompression xz_kernel { { core::StreamFormat::Xz }, "xz" };
    REQUIRE(initramfs::choose_module_storage(list, xz_kernel).ok());
    CHECK_FALSE(list[2].decompress);
}
