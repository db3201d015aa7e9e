// SPDX-License-Identifier: GPL-2.0-or-later
// The arm64 Image loader (arch/aarch64/host_classic.cpp): built, and so
// tested, only where the host CPU is arm64 (the aarch64 build's unit suite,
// which runs under qemu-aarch64 in CI).
#if defined(__aarch64__)
#include "arch/host.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/fdt.h"
#include "core/base/fs.h"

#include <algorithm>
#include <cerrno>
#include <doctest.h>
#include "tests/unit/test_support.h"
#include <fstream>
#include <string>
#include <vector>

using namespace arch;

namespace {

std::vector<uint8_t> fake_image(uint64_t text_offset, uint64_t image_size, uint64_t flags, size_t file_bytes = 8192)
{
    std::vector<uint8_t> image(file_bytes, 0xcc);
    core::store_uint(image.data() + 8, 8, text_offset, core::Endian::Little);
    core::store_uint(image.data() + 16, 8, image_size, core::Endian::Little);
    core::store_uint(image.data() + 24, 8, flags, core::Endian::Little);
    core::store_uint(image.data() + 56, 4, 0x644d5241, core::Endian::Little);
    return image;
}

// Lowest fitting hole in `free`, nothing handed out twice: enough of
// core/kexec's HoleFinder for the loader's requests.
struct FakeHoles {
    std::vector<PhysicalRange> free;
    std::vector<HoleRequest> requests;
    FindHole function()
    {
        return [this](HoleRequest const& request) -> core::Result<uint64_t> {
            requests.push_back(request);
            for (auto& range : free) {
                uint64_t start = core::align_up(std::max(range.start, request.min_physical), request.alignment);
                if (start > range.last || range.last - start + 1 < request.bytes)
                    continue;
                if (start + request.bytes - 1 > request.max_physical)
                    continue;
                // Keep it simple: take everything below the hole's end.
                range.start = start + request.bytes;
                return start;
            }
            return core::Error::with_code(ENOMEM, "no hole for " + std::string(request.what));
        };
    }
};

struct FakeSystem {
    test_support::ScratchDir sysfs;
    FakeSystem()
    {
        REQUIRE(core::make_directories(sysfs / "firmware").ok());
        auto dtb = core::read_file_bytes(test_support::source_path("tests/data/qemu-virt.dtb"), core::fdt::max_blob_bytes);
        REQUIRE(dtb.ok());
        std::ofstream(sysfs / "firmware/fdt", std::ios::binary).write(reinterpret_cast<char const*>(dtb->data()), static_cast<std::streamsize>(dtb->size()));
    }
};

core::fdt::Tree dtb_of(ClassicLoadPlan const& plan)
{
    for (auto const& segment : plan.segments) {
        if (segment.what == "dtb") {
            auto tree = core::fdt::parse(segment.bytes);
            REQUIRE(tree.ok());
            return tree.value();
        }
    }
    FAIL("no dtb segment");
    return {};
}

std::vector<uint8_t> be64(uint64_t value)
{
    std::vector<uint8_t> bytes(8);
    core::store_uint(bytes.data(), 8, value, core::Endian::Big);
    return bytes;
}

} // namespace

TEST_CASE("aarch64 classic: -l puts the Image 2 MiB aligned low in RAM, the initrd and the DTB above it")
{
    FakeSystem system;
    FakeHoles holes { { PhysicalRange { 0x4000'0000, 0x7fff'ffff } }, {} };
    auto kernel = fake_image(0, 0x200'0000, 0x2 /* 4K pages */);
    std::vector<uint8_t> initrd(5000, 0x5a);
    ClassicLoadInput input;
    input.kernel = kernel;
    input.initrd = initrd;
    input.cmdline = "console=ttyAMA0 root=/dev/vda1";
    input.sysfs_root = system.sysfs.path;
    auto plan = plan_classic_load(input, holes.function());
    REQUIRE(plan.ok());
    REQUIRE(plan->segments.size() == 3);
    CHECK(holes.requests[0].alignment == 2u << 20);
    auto const& image = plan->segments[0];
    CHECK(image.what == "kernel");
    CHECK(image.dest_physical == 0x4000'0000);
    CHECK(image.memory_bytes == 0x200'0000);
    CHECK(image.bytes == kernel);
    auto const& initrd_segment = plan->segments[1];
    CHECK(initrd_segment.what == "initrd");
    CHECK(initrd_segment.dest_physical >= 0x4200'0000);
    CHECK(plan->registers[0] == 0x4000'0000);
    CHECK(plan->registers[1] == plan->segments[2].dest_physical);

    auto tree = dtb_of(plan.value());
    auto const& chosen = *tree.node_at("/chosen");
    CHECK(core::fdt::string_property(chosen, "bootargs") == "console=ttyAMA0 root=/dev/vda1");
    CHECK(chosen.property("linux,initrd-start")->value == be64(initrd_segment.dest_physical));
    CHECK(chosen.property("linux,initrd-end")->value == be64(initrd_segment.dest_physical + 5000));
    CHECK(chosen.property("linux,elfcorehdr") == nullptr);
    CHECK(plan->description.find("arm64 Image (4K pages, near the start of RAM) at 0x40000000") != std::string::npos);
}

TEST_CASE("aarch64 classic: text_offset is kept from the 2 MiB aligned base; -p adds the crash properties")
{
    FakeSystem system;
    FakeHoles holes { { PhysicalRange { 0x5000'0000 + 4096, 0x5fff'ffff } }, {} };
    auto kernel = fake_image(0x8'0000, 0x180'0000, 0xa);
    ClassicLoadInput input;
    input.crash = true;
    input.kernel = kernel;
    input.cmdline = "irqpoll nr_cpus=1 reset_devices";
    input.sysfs_root = system.sysfs.path;
    input.crash_reservations = { PhysicalRange { 0x5000'0000, 0x5fff'ffff } };
    input.elfcorehdr = PhysicalRange { 0x5000'0000, 0x5000'0fff };
    auto plan = plan_classic_load(input, holes.function());
    REQUIRE(plan.ok());
    REQUIRE(plan->segments.size() == 2);
    CHECK(plan->segments[0].dest_physical == 0x5020'0000 + 0x8'0000);
    CHECK(plan->registers[0] == 0x5028'0000);
    auto tree = dtb_of(plan.value());
    auto const& chosen = *tree.node_at("/chosen");
    std::vector<uint8_t> header = be64(0x5000'0000), header_size = be64(0x1000);
    header.insert(header.end(), header_size.begin(), header_size.end());
    CHECK(chosen.property("linux,elfcorehdr")->value == header);
    std::vector<uint8_t> usable = be64(0x5000'0000), usable_size = be64(0x1000'0000);
    usable.insert(usable.end(), usable_size.begin(), usable_size.end());
    CHECK(chosen.property("linux,usable-memory-range")->value == usable);
    CHECK(chosen.property("linux,initrd-start") == nullptr);
    CHECK(plan->description.find("placed anywhere") != std::string::npos);
}

TEST_CASE("aarch64 classic: images it cannot boot are errors saying why")
{
    FakeSystem system;
    FakeHoles holes { { PhysicalRange { 0x4000'0000, 0x7fff'ffff } }, {} };
    ClassicLoadInput input;
    input.sysfs_root = system.sysfs.path;
    auto refuse = [&](std::vector<uint8_t> const& kernel, int errno_code, std::string_view text) {
        input.kernel = kernel;
        auto plan = plan_classic_load(input, holes.function());
        REQUIRE_FALSE(plan.ok());
        CHECK(plan.error().errno_code() == errno_code);
        CHECK(plan.error().message().find(text) != std::string::npos);
    };
    auto no_magic = fake_image(0, 0x100'0000, 0);
    no_magic[56] = 'X';
    refuse(no_magic, ENOEXEC, "no \"ARM\\x64\" magic");
    refuse(std::vector<uint8_t>(10, 0), ENOEXEC, "shorter than its 64-byte header");
    refuse(fake_image(0, 0, 0), ENOEXEC, "older than 3.17");
    refuse(fake_image(0, 0x100'0000, 1), ENOEXEC, "big-endian");
    refuse(fake_image(0x123, 0x100'0000, 0), ENOEXEC, "text_offset 0x123");

    input.crash = true;
    refuse(fake_image(0, 0x100'0000, 0), EADDRNOTAVAIL, "crashkernel=");
}

TEST_CASE("aarch64 classic: a missing /sys/firmware/fdt is an error naming it")
{
    test_support::ScratchDir empty;
    FakeHoles holes { { PhysicalRange { 0x4000'0000, 0x7fff'ffff } }, {} };
    auto kernel = fake_image(0, 0x100'0000, 0);
    ClassicLoadInput input;
    input.kernel = kernel;
    input.sysfs_root = empty.path;
    auto plan = plan_classic_load(input, holes.function());
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.error().message().find(empty / "firmware/fdt") != std::string::npos);
}

TEST_CASE("aarch64 classic: the embedded purgatory has our header")
{
    auto blob = purgatory_blob();
    REQUIRE(blob.size() > 24);
    CHECK(std::string(blob.begin(), blob.begin() + 8) == "KDBXPURG");
    CHECK(kexec_load_syscall_number() == 104);
    CHECK(kexec_load_arch_flags() == 183ul << 16);
}
#endif
