// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/fdt.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/strings.h"

#include <doctest.h>
#include "tests/unit/test_support.h"
#include <fstream>
#include <string>
#include <vector>

using namespace core;
using test_support::source_path;

namespace {

// QEMU's own tree (qemu-system-aarch64 -M virt,dumpdtb=... -cpu max -smp 2
// -m 1024, compacted by dtc -I dtb -O dtb): /chosen has kaslr-seed and rng-seed.
std::vector<uint8_t> qemu_virt_dtb()
{
    auto bytes = core::read_file_bytes(source_path("tests/data/qemu-virt.dtb"), fdt::max_blob_bytes);
    REQUIRE(bytes.ok());
    return bytes.value();
}

bool same_node(fdt::Node const& a, fdt::Node const& b)
{
    if (a.name != b.name || a.properties.size() != b.properties.size() || a.children.size() != b.children.size())
        return false;
    for (size_t i = 0; i < a.properties.size(); ++i)
        if (a.properties[i].name != b.properties[i].name || a.properties[i].value != b.properties[i].value)
            return false;
    for (size_t i = 0; i < a.children.size(); ++i)
        if (!same_node(a.children[i], b.children[i]))
            return false;
    return true;
}

void put_be32(std::vector<uint8_t>& blob, size_t offset, uint32_t value)
{
    core::store_uint(blob.data() + offset, 4, value, core::Endian::Big);
}

std::string error_text(std::vector<uint8_t> const& blob)
{
    auto parsed = fdt::parse(blob);
    REQUIRE(parsed.ok() == false);
    return parsed.error().message();
}

} // namespace

TEST_CASE("fdt: QEMU's virt tree parses into its nodes and properties")
{
    auto tree = fdt::parse(qemu_virt_dtb());
    REQUIRE(tree.ok());
    auto const& root = tree.value().root;
    CHECK(root.name == "");
    CHECK(fdt::u32_property(root, "#address-cells") == 2u);
    CHECK(fdt::u32_property(root, "#size-cells") == 2u);
    CHECK(fdt::string_property(root, "compatible") == "linux,dummy-virt");
    auto const* chosen = tree.value().node_at("/chosen");
    REQUIRE(chosen);
    CHECK(chosen->property("kaslr-seed")->value.size() == 8);
    CHECK(chosen->property("rng-seed")->value.size() == 32);
    CHECK(fdt::string_property(*chosen, "stdout-path") == "/pl011@9000000");
    auto const* memory = tree.value().node_at("/memory@40000000");
    REQUIRE(memory);
    std::vector<uint8_t> reg { 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0 }; // 1 GiB at 0x40000000
    CHECK(memory->property("reg")->value == reg);
    CHECK(tree.value().node_at("/cpus/cpu@1") != nullptr);
    CHECK(tree.value().node_at("/nowhere") == nullptr);
}

TEST_CASE("fdt: serialise then parse gives the same tree, and serialising again the same bytes")
{
    auto tree = fdt::parse(qemu_virt_dtb());
    REQUIRE(tree.ok());
    tree.value().reserved.push_back({ 0x48000000, 0x1000 });
    tree.value().boot_cpuid = 1;
    auto blob = fdt::serialise(tree.value());
    auto again = fdt::parse(blob);
    REQUIRE(again.ok());
    CHECK(same_node(tree.value().root, again.value().root));
    CHECK(again.value().reserved == tree.value().reserved);
    CHECK(again.value().boot_cpuid == 1);
    CHECK(fdt::serialise(again.value()) == blob);
    // dtc compacts the same way QEMU's blob was compacted: no reservation, same size.
    tree.value().reserved.clear();
    tree.value().boot_cpuid = 0;
    CHECK(fdt::serialise(tree.value()).size() == qemu_virt_dtb().size());
}

TEST_CASE("fdt: edits: set, replace and delete properties, add nodes")
{
    auto parsed = fdt::parse(qemu_virt_dtb());
    REQUIRE(parsed.ok());
    auto& tree = parsed.value();
    auto* chosen = tree.node_at("/chosen");
    REQUIRE(chosen);
    size_t count = chosen->properties.size();
    chosen->set_property("bootargs", fdt::string_value("console=ttyAMA0 panic=1"));
    CHECK(chosen->properties.size() == count + 1);
    chosen->set_property("bootargs", fdt::string_value("console=ttyAMA0"));
    CHECK(chosen->properties.size() == count + 1);
    CHECK(chosen->delete_property("kaslr-seed"));
    CHECK_FALSE(chosen->delete_property("kaslr-seed"));
    auto& added = tree.root.ensure_child("reserved-memory");
    added.set_property("ranges", {});
    CHECK(&tree.root.ensure_child("reserved-memory") == tree.node_at("/reserved-memory"));

    auto again = fdt::parse(fdt::serialise(tree));
    REQUIRE(again.ok());
    auto const* chosen_again = again.value().node_at("/chosen");
    REQUIRE(chosen_again);
    CHECK(fdt::string_property(*chosen_again, "bootargs") == "console=ttyAMA0");
    CHECK(chosen_again->property("kaslr-seed") == nullptr);
    REQUIRE(again.value().node_at("/reserved-memory"));
    CHECK(again.value().node_at("/reserved-memory")->property("ranges")->value.empty());
}

TEST_CASE("fdt: numbers as one or two cells")
{
    CHECK(fdt::number_value(0x1'2345'6789, 2).value() == std::vector<uint8_t> { 0, 0, 0, 1, 0x23, 0x45, 0x67, 0x89 });
    CHECK(fdt::number_value(0x89, 1).value() == std::vector<uint8_t> { 0, 0, 0, 0x89 });
    CHECK(fdt::number_value(0x1'0000'0000, 1).ok() == false);
    CHECK(fdt::number_value(1, 3).ok() == false);
}

TEST_CASE("fdt: truncated and corrupt blobs are errors naming the offset")
{
    auto blob = qemu_virt_dtb();
    CHECK(error_text({ blob.begin(), blob.begin() + 20 }).find("truncated header") != std::string::npos);

    // The header says more bytes than there are.
    CHECK(error_text({ blob.begin(), blob.end() - 1 }).find("total size") != std::string::npos);

    auto bad_magic = blob;
    bad_magic[0] = 0xde;
    CHECK(error_text(bad_magic).find("bad magic 0xde0dfeed") != std::string::npos);

    auto bad_version = blob;
    put_be32(bad_version, 24, 18); // last compatible version
    CHECK(error_text(bad_version).find("unsupported version") != std::string::npos);

    uint32_t struct_offset = static_cast<uint32_t>(core::load_uint(blob.data() + 8, 4, core::Endian::Big));
    uint32_t struct_bytes = static_cast<uint32_t>(core::load_uint(blob.data() + 36, 4, core::Endian::Big));

    auto bad_token = blob;
    put_be32(bad_token, struct_offset, 7);
    CHECK(error_text(bad_token) == "device tree: unknown structure token 0x7 at offset " + core::hex(struct_offset));

    // The root's first property (after the 4-byte token and the empty name's padded NUL) claims a huge value.
    auto long_value = blob;
    REQUIRE(core::load_uint(blob.data() + struct_offset + 8, 4, core::Endian::Big) == 3);
    put_be32(long_value, struct_offset + 12, 0xffffff00);
    CHECK(error_text(long_value).find("past the structure block at offset " + core::hex(struct_offset + 8)) != std::string::npos);

    auto bad_name = blob;
    put_be32(bad_name, struct_offset + 16, 0x7fffffff);
    CHECK(error_text(bad_name).find("outside the strings block") != std::string::npos);

    // The structure block cut short before its FDT_END.
    auto short_struct = blob;
    put_be32(short_struct, 36, struct_bytes - 4);
    CHECK(error_text(short_struct) == "device tree: structure block ends without FDT_END at offset " + core::hex(struct_offset + struct_bytes - 4));

    // FDT_END in place of the root's last FDT_END_NODE.
    auto unclosed = blob;
    put_be32(unclosed, struct_offset + struct_bytes - 8, 9);
    CHECK(error_text(unclosed).find("FDT_END inside an open node") != std::string::npos);

    // Every truncation of the blob fails cleanly (the header keeps the full size).
    for (size_t length = 0; length < blob.size(); length += 97)
        CHECK(fdt::parse(std::span(blob.data(), length)).ok() == false);
}

TEST_CASE("fdt: nodes nested too deep are refused")
{
    fdt::Tree tree;
    fdt::Node* node = &tree.root;
    for (unsigned depth = 0; depth < fdt::max_depth + 1; ++depth)
        node = &node->ensure_child("n");
    auto parsed = fdt::parse(fdt::serialise(tree));
    REQUIRE(parsed.ok() == false);
    CHECK(parsed.error().message().find("nested deeper than 64") != std::string::npos);
}

TEST_CASE("fdt: dtc decompiles what we write")
{
    if (test_support::run_output("command -v dtc").empty())
        SKIP_TEST("dtc (device-tree-compiler) is not installed");
    auto parsed = fdt::parse(qemu_virt_dtb());
    REQUIRE(parsed.ok());
    parsed.value().node_at("/chosen")->set_property("bootargs", fdt::string_value("console=ttyAMA0 kdumpbox"));
    parsed.value().reserved.push_back({ 0x48000000, 0x2000 });
    test_support::ScratchDir scratch;
    auto blob = fdt::serialise(parsed.value());
    std::ofstream(scratch / "out.dtb", std::ios::binary).write(reinterpret_cast<char const*>(blob.data()), static_cast<std::streamsize>(blob.size()));
    std::string source = test_support::run_output("dtc -q -I dtb -O dts " + scratch / "out.dtb" + " 2>&1");
    CHECK(source.find("bootargs = \"console=ttyAMA0 kdumpbox\";") != std::string::npos);
    CHECK(source.find("/memreserve/\t0x0000000048000000 0x0000000000002000;") != std::string::npos);
    CHECK(source.find("compatible = \"linux,dummy-virt\";") != std::string::npos);
}
