// SPDX-License-Identifier: GPL-2.0-or-later
// ZSTD_getFrameHeader (the window check) is in zstd's static-only API.
#define ZSTD_STATIC_LINKING_ONLY
#include "initramfs/image.h"

#include "core/base/fs.h"

#include "tests/unit/initramfs/fixtures.h"

#include "tests/unit/test_support.h"

#include <doctest.h>

using core::Compression;
namespace initramfs = core::initramfs;
using namespace initramfs_fixtures;

TEST_CASE("cpio compression: chosen from the kernel config")
{
    using core::initramfs::choose_compression;
    auto all = choose_compression("CONFIG_RD_GZIP=y\nCONFIG_RD_LZ4=y\nCONFIG_RD_ZSTD=y\n", "config-x");
    CHECK(all.compression == Compression::Zstd);
    CHECK(all.reason == "CONFIG_RD_ZSTD=y in config-x");
    CHECK(all.warning.empty());
    CHECK(choose_compression("# CONFIG_RD_ZSTD is not set\nCONFIG_RD_GZIP=y\nCONFIG_RD_LZ4=y\n", "c").compression == Compression::Gzip);
    CHECK(choose_compression("CONFIG_RD_LZ4=y\nCONFIG_RD_ZSTD=m\n", "c").compression == Compression::Lz4);
    auto none = choose_compression("CONFIG_RD_XZ=y\n", "config-y");
    CHECK(none.compression == Compression::None);
    CHECK(none.warning.find("config-y: the kernel has no zstd, gzip or lz4 initramfs decompressor") == 0);

    auto configs = glob_paths("/root/.cache/kdumpbox/vm/kernels/*/root/boot/config-*");
    if (configs.empty()) {
        SKIP_TEST("no Debian kernel config under /root/.cache/kdumpbox/vm/kernels for the real-config check");
    }
    for (auto const& config : configs) {
        auto choice = initramfs::choose_compression_for_config_file(config);
        REQUIRE(choice.ok());
        CHECK(choice.value().compression == Compression::Zstd);
    }
    CHECK_FALSE(initramfs::choose_compression_for_config_file("/nonexistent/config").ok());
}

namespace {

struct ImageFixture {
    TempDir dir;
    initramfs::InitramfsSpec spec;

    ImageFixture()
    {
        std::string modules = dir / "lib/modules/6.1.0-test";
        write_module_tree(modules);
        write_file(dir / "kdumpbox", "not really an executable, but it will do\n", 0755);
        write_file(dir / "hooks/pre.sh", "#!/bin/sh\necho pre\n", 0755);
        spec.kdumpbox_binary = dir / "kdumpbox";
        spec.applets = { "collector", "kexec", "reboot" };
        spec.kdump_conf = "ext4 UUID=1234\npath /var/crash\n";
        spec.modules_dir = modules;
        spec.modules = initramfs::resolve_modules(modules, { "virtio_blk" }).value();
        spec.hooks = { dir / "hooks/pre.sh" };
        spec.extra_files = { { "/etc/kdump/id_ecdsa", "", "KEY", 0600, "sshkey" } };
        spec.compression = { Compression::Zstd, 3 };
    }
};

} // namespace

TEST_CASE("initramfs image: contents, modules, load order and manifest")
{
    ImageFixture fixture;
    std::string output = fixture.dir / "out/initrd.img";
    make_directories(fixture.dir / "out");
    auto built = initramfs::build_initramfs(fixture.spec, output);
    REQUIRE(built.ok());
    auto const& result = built.value();
    std::string image = read_file(output);
    CHECK(result.compressed_bytes == image.size());
    CHECK(result.compression == Compression::Zstd);
    std::string plain = zstd_decompress(image);
    CHECK(result.uncompressed_bytes == plain.size());
    auto map = by_name(parse_newc(plain));

    CHECK(map["init"].mode == 0100755);
    CHECK(map["init"].data == read_file(fixture.spec.kdumpbox_binary));
    for (auto const& applet : { "collector", "kexec", "reboot" }) {
        CHECK(map[std::string("bin/") + applet].mode == 0120777);
        CHECK(map[std::string("bin/") + applet].data == "/init");
    }
    CHECK(map["etc/kdump.conf"].data == fixture.spec.kdump_conf);
    CHECK(map["dev/console"].mode == 020600);
    CHECK(map["dev/console"].rdev_major == 5);
    CHECK(map["dev/console"].rdev_minor == 1);
    for (auto const& directory : { "proc", "sys", "dev", "tmp", "mnt", "run", "etc", "bin" })
        CHECK((map[directory].mode & 0170000) == 040000);
    CHECK(map["tmp"].mode == 041777);
    CHECK_FALSE(map.contains("var/crash"));
    CHECK(map["lib/modules/6.1.0-test/kernel/drivers/virtio/virtio.ko"].data == read_file(fixture.spec.modules_dir + "/kernel/drivers/virtio/virtio.ko"));
    CHECK(map["lib/modules/load-order"].data
        == "/lib/modules/6.1.0-test/kernel/drivers/virtio/virtio_ring.ko\n"
           "/lib/modules/6.1.0-test/kernel/drivers/virtio/virtio.ko\n"
           "/lib/modules/6.1.0-test/kernel/drivers/block/virtio_blk.ko\n");
    std::string hook = fixture.spec.hooks.front().substr(1);
    CHECK(map[hook].data == "#!/bin/sh\necho pre\n");
    CHECK(map[hook].mode == 0100755);
    CHECK(map.contains("bin/sh")); // the hook's interpreter came along
    CHECK(map["etc/kdump/id_ecdsa"].mode == 0100600);

    // The manifest lists every entry with a reason.
    CHECK(result.manifest.size() + 1 == map.size()); // the trailer is not in it
    std::map<std::string, initramfs::ManifestEntry> manifest;
    for (auto const& item : result.manifest)
        manifest[item.path] = item;
    CHECK(manifest["/init"].reason == "kdumpbox (" + fixture.spec.kdumpbox_binary + ")");
    CHECK(manifest["/bin/kexec"].detail == "/init");
    CHECK(manifest["/dev/console"].detail == "5:1");
    CHECK(manifest["/lib/modules/6.1.0-test/kernel/drivers/virtio/virtio.ko"].reason == "module virtio: dependency of virtio_blk");
    CHECK(manifest["/bin/sh"].reason == "interpreter of " + fixture.spec.hooks.front());
    CHECK(manifest["/etc/kdump/id_ecdsa"].reason == "sshkey");
    CHECK(manifest["/lib/modules"].reason == "parent directory");
    for (auto const& item : result.manifest) {
        CAPTURE(item.path);
        CHECK_FALSE(item.reason.empty());
    }
    std::string listing = initramfs::format_manifest(result.manifest);
    CHECK(listing.find("crw-------         0  /dev/console (5:1)  (initial console (before devtmpfs))\n") != std::string::npos);
    CHECK(listing.find("drwxrwxrwt         0  /tmp  (scratch space)\n") != std::string::npos);
    CHECK(listing.find("lrwxrwxrwx         5  /bin/kexec -> /init  (applet)\n") != std::string::npos);

    // Written atomically: no temporary left beside it, and root-only.
    struct stat status;
    REQUIRE(::stat(output.c_str(), &status) == 0);
    CHECK((status.st_mode & 07777) == 0600);
    CHECK(glob_paths(output + "-incomplete").empty());
}

TEST_CASE("initramfs image: same inputs, same bytes and digest; any change, a new digest")
{
    ImageFixture fixture;
    std::string first = fixture.dir / "first.img";
    std::string second = fixture.dir / "second.img";
    auto one = initramfs::build_initramfs(fixture.spec, first);
    auto two = initramfs::build_initramfs(fixture.spec, second);
    REQUIRE(one.ok());
    REQUIRE(two.ok());
    CHECK(read_file(first) == read_file(second));
    CHECK(one.value().inputs_digest.size() == 64);
    CHECK(one.value().inputs_digest == two.value().inputs_digest);
    CHECK(initramfs::inputs_digest(fixture.spec).value() == one.value().inputs_digest);

    auto changed = [&](auto&& edit) {
        initramfs::InitramfsSpec spec = fixture.spec;
        edit(spec);
        return initramfs::inputs_digest(spec).value();
    };
    std::string digest = one.value().inputs_digest;
    CHECK(changed([](auto& spec) { spec.kdump_conf += "core_collector makedumpfile -d 31\n"; }) != digest);
    CHECK(changed([](auto& spec) { spec.applets.push_back("mount-and-save"); }) != digest);
    CHECK(changed([](auto& spec) { spec.compression.compression = Compression::Gzip; }) != digest);
    CHECK(changed([](auto& spec) { spec.compression.level = 5; }) != digest);
    CHECK(changed([](auto& spec) { spec.mtime = 1; }) != digest);
    CHECK(changed([](auto& spec) { spec.modules.pop_back(); }) != digest);
    // A file's bytes and its mode.
    write_file(fixture.dir / "hooks/pre.sh", "#!/bin/sh\necho PRE\n", 0755);
    CHECK(changed([](auto&) {}) != digest);
    write_file(fixture.dir / "hooks/pre.sh", "#!/bin/sh\necho pre\n", 0700);
    CHECK(changed([](auto&) {}) != digest);
    write_file(fixture.dir / "hooks/pre.sh", "#!/bin/sh\necho pre\n", 0755);
    CHECK(changed([](auto&) {}) == digest);

    // Each compression builds and unpacks to the same archive.
    std::string plain = zstd_decompress(read_file(first));
    for (auto compression : { Compression::Gzip, Compression::Lz4, Compression::None }) {
        initramfs::InitramfsSpec spec = fixture.spec;
        spec.compression = { compression, 0 };
        std::string path = fixture.dir / "other.img";
        REQUIRE(initramfs::build_initramfs(spec, path).ok());
        std::string image = read_file(path);
        std::string unpacked = compression == Compression::Gzip ? gzip_decompress(image) : compression == Compression::Lz4 ? lz4_legacy_decompress(image) : image;
        CHECK(unpacked == plain);
    }
}

TEST_CASE("initramfs image: refused inputs leave no output")
{
    ImageFixture fixture;
    std::string output = fixture.dir / "refused.img";
    SUBCASE("missing /init")
    {
        fixture.spec.kdumpbox_binary = fixture.dir / "nope";
        auto built = initramfs::build_initramfs(fixture.spec, output);
        REQUIRE_FALSE(built.ok());
        CHECK(built.error().message() == "initramfs: " + fixture.dir / "nope" + " (for /init): no such file");
    }
    SUBCASE("relative extra_bins")
    {
        fixture.spec.extra_bins = { "bin/foo" };
        CHECK(initramfs::build_initramfs(fixture.spec, output).error().message() == "bin/foo: extra_bins must be an absolute path (it is placed at the same path in the initramfs)");
    }
    SUBCASE("an applet named like a path")
    {
        fixture.spec.applets = { "../x" };
        CHECK_FALSE(initramfs::build_initramfs(fixture.spec, output).ok());
    }
    SUBCASE("an unwritable output directory")
    {
        CHECK_FALSE(initramfs::build_initramfs(fixture.spec, fixture.dir / "no/such/dir/x.img").ok());
    }
    struct stat status;
    CHECK(::stat(output.c_str(), &status) != 0);
    CHECK(glob_paths(output + "-incomplete").empty());
}

TEST_CASE("initramfs image: extra_bins bring their libraries")
{
    std::string program = ::access("/bin/ls", R_OK) == 0 ? "/bin/ls" : "/usr/bin/python3";
    ImageFixture fixture;
    fixture.spec.extra_bins = { program };
    auto plan = initramfs::plan_initramfs(fixture.spec);
    REQUIRE(plan.ok());
    CHECK(plan.value().archive.contains(program));
    bool has_libc = false;
    for (auto const& item : plan.value().manifest) {
        if (item.path.ends_with("/libc.so.6")) {
            has_libc = true;
            CHECK(item.reason.find("library of ") == 0);
        }
    }
    CHECK(has_libc);
}

// The real image: the release binary plus 6.1's virtio_blk chain, zstd.
TEST_CASE("initramfs image size with the release binary and the Debian 6.1 virtio_blk chain")
{
    std::string binary;
    if (char const* given = std::getenv("KDUMPBOX_RELEASE_BINARY"))
        binary = given;
    else if (auto self = core::self_executable_path(); self.ok())
        binary = self.value().substr(0, self.value().rfind('/')) + "/../../release/kdumpbox";
    auto trees = glob_paths("/root/.cache/kdumpbox/vm/kernels/6.1.*/root/lib/modules/*");
    if (::access(binary.c_str(), R_OK) != 0 || trees.empty()) {
        SKIP_TEST("no release binary (" + binary + "; set KDUMPBOX_RELEASE_BINARY) or no Debian 6.1 kernel for the size measurement");
    }
    TempDir dir;
    initramfs::InitramfsSpec spec;
    spec.kdumpbox_binary = binary;
    spec.applets = { "collector", "kexec", "reboot" };
    spec.kdump_conf = "ext4 UUID=00000000-0000-0000-0000-000000000000\npath /var/crash\n";
    spec.modules_dir = trees.front();
    spec.modules = initramfs::resolve_module_requests(trees.front(), { { "virtio_blk", "driver of /sys/block/vda" }, { "virtio_pci", "driver of /sys/block/vda" } }).value();
    auto built = initramfs::build_initramfs(spec, dir / "initrd.img");
    REQUIRE(built.ok());
    uint64_t inputs = 0;
    for (auto const& item : built.value().manifest)
        inputs += item.kind == 'f' ? item.size : 0;
    MESSAGE("release image (zstd 19): ", built.value().compressed_bytes, " bytes compressed, ", built.value().uncompressed_bytes, " uncompressed; ", spec.modules.size(),
        " modules; file bytes ", inputs);
    CHECK(built.value().compressed_bytes < built.value().uncompressed_bytes);
    CHECK(built.value().compressed_bytes < 2u << 20);
}

// The capture kernel's zstd decompressor allocates a workspace the size of
// the frame's window while it unpacks the image, in the tightest memory it
// ever has: the window is capped at 128 KiB, whatever the archive's size.
TEST_CASE("initramfs image: the zstd window stays at 128 KiB for a large archive")
{
    ImageFixture fixture;
    std::string large_binary(1u << 20, '\0');
    for (size_t i = 0; i < large_binary.size(); ++i)
        large_binary[i] = static_cast<char>((i * 2654435761u) >> 13); // compressible, not trivially
    write_file(fixture.dir / "kdumpbox", large_binary, 0755);
    fixture.spec.compression = { Compression::Zstd, 19 };
    std::string output = fixture.dir / "initrd.img";
    auto built = initramfs::build_initramfs(fixture.spec, output);
    REQUIRE(built.ok());
    REQUIRE(built.value().uncompressed_bytes > (1u << 20)); // a window that fits the archive would be larger
    std::string image = read_file(output);
    ZSTD_frameHeader header {};
    REQUIRE(ZSTD_getFrameHeader(&header, image.data(), image.size()) == 0);
    CHECK(header.windowSize <= (uint64_t { 1 } << initramfs::initramfs_zstd_window_log));
    CHECK(initramfs::initramfs_zstd_window_log == 17);
    CHECK(zstd_decompress(image).size() == built.value().uncompressed_bytes);
}
