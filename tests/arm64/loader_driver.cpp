// SPDX-License-Identifier: GPL-2.0-or-later
// tests/arm64/loader.sh's driver: runs the arm64 classic loader
// (arch/aarch64/host_classic.cpp, compiled for the build host) on a real
// Image and initrd with a fake sysfs and a one-range hole finder, and
// writes each segment to OUTDIR/<what> and "what address path" lines, then
// "registers PC X0", to stdout.
//   loader_driver IMAGE INITRD SYSFS OUTDIR reboot|crash
#include "arch/host.h"
#include "core/base/fd.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

int main(int argc, char** argv)
{
    if (argc != 6) {
        std::fprintf(stderr, "usage: loader_driver IMAGE INITRD SYSFS OUTDIR reboot|crash\n");
        return 2;
    }
    auto kernel = core::read_file_bytes(argv[1], 1ull << 30);
    auto initrd = core::read_file_bytes(argv[2], 1ull << 30);
    if (!kernel || !initrd) {
        std::fprintf(stderr, "loader_driver: cannot read the image or the initrd\n");
        return 1;
    }
    arch::ClassicLoadInput input;
    input.kernel = kernel.value();
    input.initrd = initrd.value();
    input.cmdline = "console=ttyAMA0 panic=-1 rdinit=/init";
    input.sysfs_root = argv[3];
    input.crash = std::string(argv[5]) == "crash";
    // QEMU virt: 1 GiB of RAM at 0x40000000, QEMU's own DTB in its first
    // MiB; the "crash reservation" is 0x50000000-0x5fffffff, its top MiB
    // left to the purgatory and the ELF core header's place.
    arch::PhysicalRange free = input.crash ? arch::PhysicalRange { 0x5000'0000, 0x5fcf'ffff } : arch::PhysicalRange { 0x4020'0000, 0x5fcf'ffff };
    if (input.crash) {
        input.crash_reservations = { { 0x5000'0000, 0x5fff'ffff } };
        input.elfcorehdr = arch::PhysicalRange { 0x5ff0'0000, 0x5ff0'0fff };
    }
    auto plan = arch::plan_classic_load(input, [&](arch::HoleRequest const& request) -> core::Result<uint64_t> {
        uint64_t start = std::max(free.start, request.min_physical);
        start = (start + request.alignment - 1) / request.alignment * request.alignment;
        if (start > free.last || free.last - start + 1 < request.bytes)
            return core::Error::with_code(ENOMEM, "no hole for " + std::string(request.what));
        free.start = start + request.bytes;
        return start;
    });
    if (!plan) {
        std::fprintf(stderr, "loader_driver: %s\n", plan.error().message().c_str());
        return 1;
    }
    std::fprintf(stderr, "loader_driver: %s\n", plan->description.c_str());
    for (auto const& segment : plan->segments) {
        std::string path = std::string(argv[4]) + "/" + segment.what;
        std::ofstream(path, std::ios::binary).write(reinterpret_cast<char const*>(segment.bytes.data()), static_cast<std::streamsize>(segment.bytes.size()));
        std::printf("%s 0x%llx %s\n", segment.what.c_str(), static_cast<unsigned long long>(segment.dest_physical), path.c_str());
    }
    std::printf("registers 0x%llx 0x%llx\n", static_cast<unsigned long long>(plan->registers[0]), static_cast<unsigned long long>(plan->registers[1]));
    return 0;
}
