// SPDX-License-Identifier: GPL-2.0-or-later
// The collector's --adaptive-level: the zstd level follows the bottleneck.
#include "core/dump/collector.h"

#include "core/compress/compress.h"
#include "core/dump/kdump_format.h"
#include "tests/unit/synthetic_vmcore.h"
#include "tests/unit/test_support.h"

#include <cstring>
#include <doctest.h>
#include <vector>

using test_support::ScratchDir;

// The level moves one step at a time toward the bottleneck, and a dump
// that mixes levels reads back page for page.
TEST_CASE("adaptive level: one step toward the bottleneck, within the levels")
{
    using core::next_adaptive_level;
    CHECK(next_adaptive_level(1, 3.0, 1.0) == -1); // the writer waits: the CPUs are the limit, go faster
    CHECK(next_adaptive_level(1, 1.0, 3.0) == 2);  // the writer writes: the target is the limit, go smaller
    CHECK(next_adaptive_level(1, 1.5, 1.0) == 1);  // neither by twice: stay
    CHECK(next_adaptive_level(1, 1.0, 1.5) == 1);
    CHECK(next_adaptive_level(-7, 9.0, 0.0) == -7); // the fastest stays the fastest
    CHECK(next_adaptive_level(3, 0.0, 9.0) == 3);   // the smallest stays the smallest
    CHECK(next_adaptive_level(19, 1.0, 1.0) == core::adaptive_start_level); // not one of ours
    int level = core::adaptive_start_level;
    for (int step = 0; step < 20; ++step)
        level = next_adaptive_level(level, 1.0, 0.0);
    CHECK(level == core::adaptive_zstd_levels[0]);
}

TEST_CASE("adaptive level: pages compressed at different zstd levels all decode, and the levels differ")
{
    auto compressor = core::PageCompressor::create(core::Codec::Zstd, 4096);
    REQUIRE(compressor.ok());
    std::vector<uint8_t> page(4096);
    for (size_t i = 0; i < page.size(); ++i)
        page[i] = static_cast<uint8_t>("kdumpbox adaptive level "[i % 24] + (i / 97) % 5);
    std::vector<uint8_t> out(compressor.value()->max_output_size());
    std::vector<size_t> sizes;
    for (int level : core::adaptive_zstd_levels) {
        compressor.value()->set_level(level);
        auto size = compressor.value()->compress(page, out);
        REQUIRE(size.ok());
        REQUIRE(size.value() > 0);
        std::vector<uint8_t> back(4096);
        REQUIRE(core::decompress_page(core::Codec::Zstd, std::span(out).first(size.value()), back).ok());
        CHECK(back == page);
        sizes.push_back(size.value());
    }
    CHECK(sizes.front() > sizes.back()); // -7 is larger than 3: the level is applied
}

TEST_CASE("adaptive level: a dump written with --adaptive-level reads back page for page")
{
    ScratchDir dir;
    test::SyntheticVmcore vmcore;
    vmcore.add_load(0, 8 << 20);
    // Compressible, and different on every page, so that no page is shared.
    std::vector<uint8_t> bytes(8 << 20);
    for (size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<uint8_t>(i % 64 < 48 ? 'a' + i % 7 : (i * 2654435761u) >> 24);
    for (uint32_t pfn = 0; pfn < 2048; ++pfn) // every page its own
        std::memcpy(bytes.data() + pfn * 4096, &pfn, sizeof pfn);
    vmcore.write(0, bytes);
    auto input = vmcore.write_file();
    core::CollectorOptions options;
    options.input_path = input.path();
    options.output_path = dir / "vmcore";
    options.dump_level = 1;
    options.message_level = core::message_level::error;
    options.adaptive_level = true;
    auto report = core::collect(options);
    REQUIRE_MESSAGE(report.ok(), report.error().message());
    CHECK(report.value().written_pages == 2048);
    auto dump = core::KdumpFile::open(dir / "vmcore");
    REQUIRE(dump.ok());
    std::vector<uint8_t> back(bytes.size());
    REQUIRE(dump.value()->read(0, back).ok());
    CHECK(back == bytes);
}
