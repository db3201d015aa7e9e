// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/compress.h"

#include <cstring>
#include <doctest.h>
#include <random>
#include <string>
#include <thread>
#include <vector>
#include <zlib.h>
#include <zstd.h>

using core::Codec;
using core::PageCompressor;

namespace {

constexpr size_t page_size = 4096;

std::vector<uint8_t> text_page(unsigned seed, size_t size = page_size)
{
    std::vector<uint8_t> page(size);
    std::string line = "struct page " + std::to_string(seed) + " flags=0x" + std::to_string(seed * 7919) + " mapping=NULL\n";
    for (size_t index = 0; index < page.size(); ++index)
        page[index] = static_cast<uint8_t>(line[index % line.size()]);
    return page;
}

std::vector<uint8_t> random_bytes(size_t size, unsigned seed)
{
    std::mt19937 generator(seed);
    std::vector<uint8_t> bytes(size);
    for (auto& byte : bytes)
        byte = static_cast<uint8_t>(generator());
    return bytes;
}

std::unique_ptr<PageCompressor> make(Codec codec, size_t size = page_size)
{
    auto compressor = PageCompressor::create(codec, size);
    REQUIRE(compressor.ok());
    return std::move(compressor).release_value();
}

std::vector<uint8_t> compress(PageCompressor& compressor, std::vector<uint8_t> const& page)
{
    std::vector<uint8_t> out(compressor.max_output_size());
    auto size = compressor.compress(page, out);
    REQUIRE(size.ok());
    out.resize(size.value());
    return out;
}

} // namespace

TEST_CASE("codec names and page descriptor flag values")
{
    CHECK(std::string(core::codec_name(Codec::None)) == "none");
    CHECK(std::string(core::codec_name(Codec::Zlib)) == "zlib");
    CHECK(std::string(core::codec_name(Codec::Lzo)) == "lzo");
    CHECK(std::string(core::codec_name(Codec::Snappy)) == "snappy");
    CHECK(std::string(core::codec_name(Codec::Zstd)) == "zstd");
    CHECK(static_cast<uint32_t>(Codec::Zlib) == 0x1);
    CHECK(static_cast<uint32_t>(Codec::Lzo) == 0x2);
    CHECK(static_cast<uint32_t>(Codec::Snappy) == 0x4);
    CHECK(static_cast<uint32_t>(Codec::Zstd) == 0x20);
}

TEST_CASE("LZO and snappy compressors are refused with a clear error")
{
    auto lzo = PageCompressor::create(Codec::Lzo, page_size);
    REQUIRE_FALSE(lzo.ok());
    CHECK(lzo.error().errno_code() == ENOTSUP);
    CHECK(lzo.error().message().find("LZO") != std::string::npos);
    auto snappy = PageCompressor::create(Codec::Snappy, page_size);
    REQUIRE_FALSE(snappy.ok());
    CHECK(snappy.error().message().find("snappy") != std::string::npos);
}

TEST_CASE("page sizes outside 4 KiB..256 KiB or not a power of two are refused")
{
    CHECK_FALSE(PageCompressor::create(Codec::Zstd, 0).ok());
    CHECK_FALSE(PageCompressor::create(Codec::Zstd, 2048).ok());
    CHECK_FALSE(PageCompressor::create(Codec::Zlib, 5000).ok());
    CHECK_FALSE(PageCompressor::create(Codec::None, 512 * 1024).ok());
    CHECK(PageCompressor::create(Codec::Zstd, 65536).ok());
    CHECK(PageCompressor::create(Codec::Zlib, 262144).ok());
}

TEST_CASE("zlib pages are zlib-wrapped level-1 deflate streams, identical to compress2")
{
    auto compressor = make(Codec::Zlib);
    CHECK(compressor->max_output_size() >= page_size);
    // Many pages through one reused stream: reuse must not leak state.
    for (unsigned seed = 0; seed < 50; ++seed) {
        auto page = text_page(seed);
        auto packed = compress(*compressor, page);
        REQUIRE(!packed.empty());
        CHECK(packed.size() < page_size);
        CHECK(packed[0] == 0x78); // zlib header, 32K window

        std::vector<uint8_t> reference(compressBound(page_size));
        uLongf reference_size = reference.size();
        REQUIRE(compress2(reference.data(), &reference_size, page.data(), page.size(), 1) == Z_OK);
        reference.resize(reference_size);
        CHECK(packed == reference);

        std::vector<uint8_t> restored(page_size);
        REQUIRE(core::decompress_page(Codec::Zlib, packed, restored).ok());
        CHECK(restored == page);
    }
}

TEST_CASE("zstd pages are single level-1 frames, identical to ZSTD_compress")
{
    auto compressor = make(Codec::Zstd);
    for (unsigned seed = 0; seed < 50; ++seed) {
        auto page = text_page(seed);
        auto packed = compress(*compressor, page);
        REQUIRE(!packed.empty());
        CHECK(ZSTD_getFrameContentSize(packed.data(), packed.size()) == page_size);
        CHECK(ZSTD_findFrameCompressedSize(packed.data(), packed.size()) == packed.size());

        std::vector<uint8_t> reference(ZSTD_compressBound(page_size));
        size_t reference_size = ZSTD_compress(reference.data(), reference.size(), page.data(), page.size(), 1);
        REQUIRE_FALSE(ZSTD_isError(reference_size));
        reference.resize(reference_size);
        CHECK(packed == reference);

        std::vector<uint8_t> restored(page_size);
        REQUIRE(core::decompress_page(Codec::Zstd, packed, restored).ok());
        CHECK(restored == page);
    }
}

TEST_CASE("incompressible pages and Codec::None report 0: store the page raw")
{
    auto noise = random_bytes(page_size, 7);
    CHECK(compress(*make(Codec::Zlib), noise).empty());
    CHECK(compress(*make(Codec::Zstd), noise).empty());
    CHECK(compress(*make(Codec::None), text_page(1)).empty());
    // A compressor stays usable after a page it could not shrink.
    auto compressor = make(Codec::Zstd);
    CHECK(compress(*compressor, noise).empty());
    auto packed = compress(*compressor, text_page(3));
    std::vector<uint8_t> restored(page_size);
    REQUIRE(core::decompress_page(Codec::Zstd, packed, restored).ok());
    CHECK(restored == text_page(3));
}

TEST_CASE("all-zero and large pages compress and restore")
{
    for (size_t size : { size_t(4096), size_t(65536), size_t(262144) }) {
        for (Codec codec : { Codec::Zlib, Codec::Zstd }) {
            auto compressor = make(codec, size);
            std::vector<uint8_t> zeros(size, 0);
            auto packed = compress(*compressor, zeros);
            REQUIRE(!packed.empty());
            CHECK(packed.size() < size / 8);
            std::vector<uint8_t> restored(size, 0xaa);
            REQUIRE(core::decompress_page(codec, packed, restored).ok());
            CHECK(restored == zeros);
        }
    }
}

TEST_CASE("compress checks its buffers")
{
    auto compressor = make(Codec::Zstd);
    std::vector<uint8_t> out(page_size);
    auto short_page = text_page(1, 100);
    auto wrong = compressor->compress(short_page, out);
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().message().find("page size") != std::string::npos);
    std::vector<uint8_t> small_out(16);
    auto page = text_page(1);
    CHECK_FALSE(compressor->compress(page, small_out).ok());
    CHECK_FALSE(make(Codec::Zlib)->compress(page, small_out).ok());
}

TEST_CASE("decompression must yield exactly a page")
{
    auto page = text_page(9);
    auto half = text_page(9, page_size / 2);
    for (Codec codec : { Codec::Zlib, Codec::Zstd }) {
        CAPTURE(core::codec_name(codec));
        auto packed = compress(*make(codec), page);
        std::vector<uint8_t> out(page_size);

        std::vector<uint8_t> small_out(page_size / 2);
        auto too_long = core::decompress_page(codec, packed, small_out);
        REQUIRE_FALSE(too_long.ok());
        CHECK(too_long.error().message().find("more than") != std::string::npos);

        // A stream of half a page does not fill a page.
        std::vector<uint8_t> half_packed(page_size);
        if (codec == Codec::Zlib) {
            uLongf size = half_packed.size();
            REQUIRE(compress2(half_packed.data(), &size, half.data(), half.size(), 1) == Z_OK);
            half_packed.resize(size);
        } else {
            size_t size = ZSTD_compress(half_packed.data(), half_packed.size(), half.data(), half.size(), 1);
            REQUIRE_FALSE(ZSTD_isError(size));
            half_packed.resize(size);
        }
        auto too_short = core::decompress_page(codec, half_packed, out);
        REQUIRE_FALSE(too_short.ok());
        CHECK(too_short.error().message().find("instead of 4096") != std::string::npos);

        // Every truncation is an error, never a crash.
        for (size_t length = 0; length < packed.size(); ++length) {
            std::vector<uint8_t> cut(packed.begin(), packed.begin() + static_cast<ptrdiff_t>(length));
            CHECK_FALSE(core::decompress_page(codec, cut, out).ok());
        }
        // Flipped bytes: an error or (rarely) other page bytes, never a crash.
        for (size_t at = 0; at < packed.size(); ++at) {
            auto corrupt = packed;
            corrupt[at] ^= 0x5a;
            (void)core::decompress_page(codec, corrupt, out);
        }
        // Garbage in.
        for (unsigned seed = 0; seed < 64; ++seed) {
            auto garbage = random_bytes(1 + seed * 37, seed);
            CHECK_FALSE(core::decompress_page(codec, garbage, out).ok());
        }
    }
}

TEST_CASE("raw pages must be exactly a page")
{
    auto page = text_page(2);
    std::vector<uint8_t> out(page_size);
    REQUIRE(core::decompress_page(Codec::None, page, out).ok());
    CHECK(out == page);
    auto half = text_page(2, 100);
    CHECK_FALSE(core::decompress_page(Codec::None, half, out).ok());
}

TEST_CASE("LZO, snappy and unknown codecs cannot be decompressed, and the error says which")
{
    std::vector<uint8_t> in(100, 1);
    std::vector<uint8_t> out(page_size);
    auto lzo = core::decompress_page(Codec::Lzo, in, out);
    REQUIRE_FALSE(lzo.ok());
    CHECK(lzo.error().message().find("LZO-compressed") != std::string::npos);
    CHECK(lzo.error().errno_code() == ENOTSUP);
    auto snappy = core::decompress_page(Codec::Snappy, in, out);
    REQUIRE_FALSE(snappy.ok());
    CHECK(snappy.error().message().find("snappy") != std::string::npos);
    auto unknown = core::decompress_page(static_cast<Codec>(0x40), in, out);
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().message().find("0x40") != std::string::npos);
}

TEST_CASE("decompression works from several threads at once")
{
    std::vector<std::vector<uint8_t>> pages;
    std::vector<std::vector<uint8_t>> zlib_packed, zstd_packed;
    auto zlib = make(Codec::Zlib);
    auto zstd = make(Codec::Zstd);
    for (unsigned seed = 0; seed < 16; ++seed) {
        pages.push_back(text_page(seed));
        zlib_packed.push_back(compress(*zlib, pages.back()));
        zstd_packed.push_back(compress(*zstd, pages.back()));
    }
    std::vector<int> failures(4, 0);
    std::vector<std::thread> threads;
    for (size_t thread_index = 0; thread_index < failures.size(); ++thread_index) {
        threads.emplace_back([&, thread_index] {
            std::vector<uint8_t> out(page_size);
            for (int round = 0; round < 200; ++round) {
                size_t index = (round + thread_index) % pages.size();
                bool ok = core::decompress_page(Codec::Zlib, zlib_packed[index], out).ok() && out == pages[index];
                ok = ok && core::decompress_page(Codec::Zstd, zstd_packed[index], out).ok() && out == pages[index];
                if (!ok)
                    ++failures[thread_index];
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    for (int count : failures)
        CHECK(count == 0);
}
