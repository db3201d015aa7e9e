// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/fdt_chosen.h"

#include "core/base/fd.h"
#include "core/base/fs.h"

#include <doctest.h>
#include "tests/unit/test_support.h"
#include <fstream>
#include <string>
#include <vector>

using namespace core;
using namespace core::fdt;
using test_support::source_path;

namespace {

fdt::Tree qemu_virt_tree()
{
    auto bytes = core::read_file_bytes(source_path("tests/data/qemu-virt.dtb"), fdt::max_blob_bytes);
    REQUIRE(bytes.ok());
    auto tree = fdt::parse(bytes.value());
    REQUIRE(tree.ok());
    return tree.value();
}

// A predictable "random" source: 0x11, 0x12, ...
RandomFill counting_random()
{
    return [next = uint8_t { 0x11 }](std::span<uint8_t> buffer) mutable {
        for (auto& byte : buffer)
            byte = next++;
        return true;
    };
}

bool no_random(std::span<uint8_t>) { return false; }

std::vector<uint8_t> value_of(fdt::Tree const& tree, std::string_view name)
{
    auto const* chosen = tree.node_at("/chosen");
    REQUIRE(chosen);
    auto const* property = chosen->property(name);
    return property ? property->value : std::vector<uint8_t> {};
}

bool has(fdt::Tree const& tree, std::string_view name) { return tree.node_at("/chosen")->property(name) != nullptr; }

} // namespace

TEST_CASE("fdt_chosen: a reboot load sets bootargs and the initrd, fresh seeds, and no crash properties")
{
    auto tree = qemu_virt_tree();
    auto& chosen = *tree.node_at("/chosen");
    chosen.set_property("linux,elfcorehdr", { 1, 2, 3, 4 }); // left by a capture kernel
    chosen.set_property("kaslr-seed", std::vector<uint8_t>(8, 0)); // the booted kernel zeroed it
    ChosenRequest request;
    request.cmdline = "console=ttyAMA0 root=/dev/vda1";
    request.initrd = Range { 0x4800'0000, 0x12'3456 };
    REQUIRE(rewrite_chosen(tree, request, counting_random()).ok());

    CHECK(fdt::string_property(*tree.node_at("/chosen"), "bootargs") == "console=ttyAMA0 root=/dev/vda1");
    CHECK(value_of(tree, "linux,initrd-start") == std::vector<uint8_t> { 0, 0, 0, 0, 0x48, 0, 0, 0 });
    CHECK(value_of(tree, "linux,initrd-end") == std::vector<uint8_t> { 0, 0, 0, 0, 0x48, 0x12, 0x34, 0x56 });
    CHECK_FALSE(has(tree, "linux,elfcorehdr"));
    CHECK_FALSE(has(tree, "linux,usable-memory-range"));
    CHECK(value_of(tree, "kaslr-seed") == std::vector<uint8_t> { 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18 });
    auto rng = value_of(tree, "rng-seed");
    REQUIRE(rng.size() == rng_seed_bytes);
    CHECK(rng.front() == 0x19);
    CHECK(fdt::string_property(*tree.node_at("/chosen"), "stdout-path") == "/pl011@9000000");
}

TEST_CASE("fdt_chosen: without an initrd the old initrd properties go; without randomness rng-seed goes and kaslr-seed is 0")
{
    auto tree = qemu_virt_tree();
    ChosenRequest with_initrd { "a", Range { 0x5000'0000, 0x1000 }, {}, {} };
    REQUIRE(rewrite_chosen(tree, with_initrd, counting_random()).ok());
    REQUIRE(has(tree, "linux,initrd-start"));
    ChosenRequest request { "b", {}, {}, {} };
    REQUIRE(rewrite_chosen(tree, request, no_random).ok());
    CHECK_FALSE(has(tree, "linux,initrd-start"));
    CHECK_FALSE(has(tree, "linux,initrd-end"));
    CHECK_FALSE(has(tree, "rng-seed"));
    CHECK(value_of(tree, "kaslr-seed") == std::vector<uint8_t>(8, 0));
}

TEST_CASE("fdt_chosen: a crash load adds linux,elfcorehdr and the usable ranges, high first, in the root's cells")
{
    auto tree = qemu_virt_tree();
    ChosenRequest request;
    request.cmdline = "irqpoll nr_cpus=1 reset_devices";
    request.elfcorehdr = Range { 0x7f00'0000, 0x1'0000 };
    request.usable_memory = { { 0x3000'0000, 0x1000'0000 }, { 0x1'2000'0000, 0x2000'0000 } };
    REQUIRE(rewrite_chosen(tree, request, counting_random()).ok());
    CHECK(value_of(tree, "linux,elfcorehdr") == std::vector<uint8_t> { 0, 0, 0, 0, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 });
    CHECK(value_of(tree, "linux,usable-memory-range")
        == std::vector<uint8_t> { 0, 0, 0, 1, 0x20, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, /* then the low one */ 0, 0, 0, 0, 0x30, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0 });
    CHECK_FALSE(has(tree, "linux,initrd-start"));

    // One-cell roots (32-bit style trees) take 32-bit numbers, and refuse bigger ones.
    tree.root.set_property("#address-cells", fdt::cells_value(std::vector<uint32_t> { 1 }));
    tree.root.set_property("#size-cells", fdt::cells_value(std::vector<uint32_t> { 1 }));
    request.usable_memory = { { 0x3000'0000, 0x1000'0000 } };
    REQUIRE(rewrite_chosen(tree, request, counting_random()).ok());
    CHECK(value_of(tree, "linux,elfcorehdr") == std::vector<uint8_t> { 0x7f, 0, 0, 0, 0, 1, 0, 0 });
    request.usable_memory = { { 0x1'2000'0000, 0x2000'0000 } };
    auto refused = rewrite_chosen(tree, request, counting_random());
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message().find("the crash kernel range 0x120000000+0x20000000 does not fit") != std::string::npos);
}

TEST_CASE("fdt_chosen: a tree without /chosen gets one")
{
    auto tree = qemu_virt_tree();
    std::erase_if(tree.root.children, [](fdt::Node const& node) { return node.name == "chosen"; });
    REQUIRE(rewrite_chosen(tree, ChosenRequest { "x", {}, {}, {} }, counting_random()).ok());
    CHECK(fdt::string_property(*tree.node_at("/chosen"), "bootargs") == "x");
    CHECK_FALSE(has(tree, "kaslr-seed")); // only refreshed where the tree asks for it
}

TEST_CASE("fdt_chosen: build_next_device_tree reads <sysfs>/firmware/fdt and names it in errors")
{
    test_support::ScratchDir sysfs;
    REQUIRE(core::make_directories(sysfs / "firmware").ok());
    auto missing = build_next_device_tree(sysfs.path, ChosenRequest { "x", {}, {}, {} }, counting_random());
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message().find(sysfs / "firmware/fdt") != std::string::npos);

    sysfs.write("firmware/fdt", "not a device tree at all, but long enough for a header");
    auto corrupt = build_next_device_tree(sysfs.path, ChosenRequest { "x", {}, {}, {} }, counting_random());
    REQUIRE_FALSE(corrupt.ok());
    CHECK(corrupt.error().message().find("firmware/fdt: device tree: bad magic") != std::string::npos);

    auto bytes = core::read_file_bytes(source_path("tests/data/qemu-virt.dtb"), fdt::max_blob_bytes);
    REQUIRE(bytes.ok());
    std::ofstream(sysfs / "firmware/fdt", std::ios::binary).write(reinterpret_cast<char const*>(bytes->data()), static_cast<std::streamsize>(bytes->size()));
    auto blob = build_next_device_tree(sysfs.path, ChosenRequest { "console=ttyAMA0", {}, {}, {} }, counting_random());
    REQUIRE(blob.ok());
    auto tree = fdt::parse(blob.value());
    REQUIRE(tree.ok());
    CHECK(fdt::string_property(*tree->node_at("/chosen"), "bootargs") == "console=ttyAMA0");
}
