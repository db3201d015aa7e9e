// SPDX-License-Identifier: GPL-2.0-or-later
// Benchmark helper, not part of the product: how fast each codec packs the
// pages a dump keeps, one page at a time as the kdump format requires, on
// one CPU. It shows the floor under the collector's time: whatever the
// pipeline does, compressing N pages costs at least N / (pages per second
// per CPU x CPUs). lz4 is not a kdump codec; it stands in for LZO-class
// speed (makedumpfile -l), and zstd's negative levels for trading ratio.
//   page_codecs VMCORE   (an ELF vmcore; best: our -E output of the dump level)
#include "core/compress/compress.h"
#include "core/vmcore/vmcore_file.h"

#include <chrono>
#include <cstdio>
#include <functional>
#include <lz4.h>
#include <string>
#include <vector>
#include <zstd.h>

namespace {

struct Measured {
    double seconds;
    uint64_t bytes;
};

Measured measure(std::vector<uint8_t> const& pages, size_t page_size, std::function<size_t(uint8_t const*, std::vector<uint8_t>&)> const& pack)
{
    std::vector<uint8_t> out(2 * page_size);
    auto start = std::chrono::steady_clock::now();
    uint64_t total = 0;
    for (size_t at = 0; at + page_size <= pages.size(); at += page_size) {
        size_t size = pack(pages.data() + at, out);
        total += size == 0 || size >= page_size ? page_size : size; // stored raw
    }
    return { std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), total };
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: page_codecs VMCORE\n");
        return 2;
    }
    auto opened = core::VmcoreFile::open(argv[1]);
    if (!opened.ok()) {
        std::fprintf(stderr, "page_codecs: %s\n", opened.error().message().c_str());
        return 1;
    }
    auto const& vmcore = *opened.value();
    size_t page_size = vmcore.page_size();
    std::vector<uint8_t> pages;
    std::vector<uint8_t> page(page_size);
    for (uint64_t pfn = 0; pfn < vmcore.pfn_limit(); ++pfn) {
        if (!vmcore.has_page(pfn) || !vmcore.read(pfn * page_size, page).ok())
            continue;
        pages.insert(pages.end(), page.begin(), page.end());
    }
    size_t page_count = pages.size() / page_size;
    std::printf("%zu pages (%.1f MiB), one CPU\n", page_count, pages.size() / 1048576.0);
    auto report = [&](char const* name, Measured measured) {
        std::printf("%-24s %8.3f s %8.0f pages/s %7.0f MB/s %12llu bytes\n", name, measured.seconds, page_count / measured.seconds,
            pages.size() / measured.seconds / 1e6, static_cast<unsigned long long>(measured.bytes));
    };
    for (auto codec : { core::Codec::Zstd, core::Codec::Zlib }) {
        auto compressor = std::move(core::PageCompressor::create(codec, page_size)).release_value();
        report(codec == core::Codec::Zstd ? "zstd 1 (the collector)" : "zlib 1 (-c)", measure(pages, page_size, [&](uint8_t const* in, std::vector<uint8_t>& out) {
            return compressor->compress({ in, page_size }, out).value_or(0);
        }));
    }
    ZSTD_CCtx* context = ZSTD_createCCtx();
    for (int level : { -1, -5 }) {
        std::string name = "zstd " + std::to_string(level);
        report(name.c_str(), measure(pages, page_size, [&](uint8_t const* in, std::vector<uint8_t>& out) {
            size_t size = ZSTD_compressCCtx(context, out.data(), page_size - 1, in, page_size, level);
            return ZSTD_isError(size) ? 0 : size;
        }));
    }
    ZSTD_freeCCtx(context);
    report("lz4 (LZO-class speed)", measure(pages, page_size, [&](uint8_t const* in, std::vector<uint8_t>& out) {
        return static_cast<size_t>(LZ4_compress_default(reinterpret_cast<char const*>(in), reinterpret_cast<char*>(out.data()), static_cast<int>(page_size), static_cast<int>(page_size - 1)));
    }));
    return 0;
}
