// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/compress/compress.h"

#include "core/base/fd.h"

#include <cerrno>
#include <cstring>
#include <doctest.h>
#include "tests/unit/test_support.h"
#include <fcntl.h>
#include <initializer_list>
#include <random>
#include <string>
#include <thread>
#include <sys/mman.h>
#include <unistd.h>
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

// ---- Whole files ----

namespace {

using core::StreamFormat;

bool contains_text(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

struct MemFd {
    int fd;
    explicit MemFd(std::vector<uint8_t> const& bytes = {}) : fd(::memfd_create("test-compress", MFD_CLOEXEC))
    {
        REQUIRE(fd >= 0);
        REQUIRE(core::write_all(fd, bytes, "memfd").ok());
    }
    ~MemFd() { ::close(fd); }
    std::vector<uint8_t> contents() const
    {
        std::vector<uint8_t> out(static_cast<size_t>(::lseek(fd, 0, SEEK_END)));
        REQUIRE(core::pread_exact(fd, out, 0, "memfd").ok());
        return out;
    }
};

std::vector<uint8_t> compressed(StreamFormat format, std::vector<uint8_t> const& data)
{
    return format == StreamFormat::Gzip ? test_support::gzip_bytes(data) : test_support::zstd_bytes(data);
}

// Several read and write chunks of text-like data, with a random stretch
// so the compressed stream is not tiny.
std::vector<uint8_t> file_contents()
{
    std::vector<uint8_t> data;
    for (unsigned seed = 0; seed < 200; ++seed) {
        auto page = text_page(seed);
        data.insert(data.end(), page.begin(), page.end());
    }
    auto noise = random_bytes(300 * 1024, 7);
    data.insert(data.end(), noise.begin(), noise.end());
    data.push_back(0x42); // an odd size
    return data;
}

} // namespace

TEST_CASE("stream formats are recognised by their magic, and named")
{
    auto head = [](std::initializer_list<uint8_t> bytes) { return std::vector<uint8_t>(bytes); };
    CHECK(core::detect_stream_format(head({ 0x1f, 0x8b, 0x08 })) == StreamFormat::Gzip);
    CHECK(core::detect_stream_format(head({ 0x28, 0xb5, 0x2f, 0xfd, 0 })) == StreamFormat::Zstd);
    CHECK(core::detect_stream_format(head({ 0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00 })) == StreamFormat::Xz);
    CHECK(core::detect_stream_format(head({ 0xfd, 0x37, 0x7a, 0x58, 0x5a })) == StreamFormat::None); // truncated magic
    CHECK(core::detect_stream_format(head({ 'B', 'Z', 'h', '9' })) == StreamFormat::Bzip2);
    CHECK(core::detect_stream_format(head({ 0x04, 0x22, 0x4d, 0x18 })) == StreamFormat::Lz4);
    CHECK(core::detect_stream_format(head({ 0x02, 0x21, 0x4c, 0x18 })) == StreamFormat::Lz4); // legacy, as the kernel builds it
    CHECK(core::detect_stream_format(head({})) == StreamFormat::None);
    CHECK(core::detect_stream_format(head({ 0x1f })) == StreamFormat::None);
    CHECK(core::detect_stream_format(head({ 0x7f, 'E', 'L', 'F', 2, 1 })) == StreamFormat::None);
    CHECK(core::detect_stream_format(test_support::gzip_bytes(text_page(1))) == StreamFormat::Gzip);
    CHECK(core::detect_stream_format(test_support::zstd_bytes(text_page(1))) == StreamFormat::Zstd);

    CHECK(core::stream_format_name(StreamFormat::None) == "uncompressed");
    CHECK(core::stream_format_name(StreamFormat::Gzip) == "gzip");
    CHECK(core::stream_format_name(StreamFormat::Zstd) == "zstd");
    CHECK(core::stream_format_name(StreamFormat::Xz) == "xz");
    CHECK(core::stream_format_name(StreamFormat::Bzip2) == "bzip2");
    CHECK(core::stream_format_name(StreamFormat::Lz4) == "lz4");
    CHECK(core::can_decompress_stream(StreamFormat::Gzip));
    CHECK(core::can_decompress_stream(StreamFormat::Zstd));
    for (auto format : { StreamFormat::None, StreamFormat::Xz, StreamFormat::Bzip2, StreamFormat::Lz4 })
        CHECK_FALSE(core::can_decompress_stream(format));
}

TEST_CASE("gzip and zstd files stream back byte for byte, trailing data ignored")
{
    auto original = file_contents();
    for (auto format : { StreamFormat::Gzip, StreamFormat::Zstd }) {
        CAPTURE(core::stream_format_name(format));
        auto bytes = compressed(format, original);
        bytes.insert(bytes.end(), 512, 0); // padding, as after a kernel image
        MemFd in(bytes);
        MemFd out;
        auto written = core::decompress_stream(in.fd, out.fd, format, 64 << 20, "module.ko");
        REQUIRE(written.ok());
        CHECK(written.value() == original.size());
        CHECK(out.contents() == original);

        // An empty file compresses to a stream with no output.
        MemFd empty_in(compressed(format, {}));
        MemFd empty_out;
        auto nothing = core::decompress_stream(empty_in.fd, empty_out.fd, format, 0, "empty");
        REQUIRE(nothing.ok());
        CHECK(nothing.value() == 0);
    }
}

TEST_CASE("the output limit is exact, and going over it is EFBIG")
{
    auto original = file_contents();
    for (auto format : { StreamFormat::Gzip, StreamFormat::Zstd }) {
        CAPTURE(core::stream_format_name(format));
        MemFd in(compressed(format, original));
        MemFd exact;
        CHECK(core::decompress_stream(in.fd, exact.fd, format, original.size(), "module.ko").ok());

        MemFd over;
        auto refused = core::decompress_stream(in.fd, over.fd, format, original.size() - 1, "module.ko");
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().errno_code() == EFBIG);
        CHECK(refused.error().message() == std::string("module.ko: the ") + std::string(core::stream_format_name(format)) + " stream decompresses to more than " + std::to_string(original.size() - 1) + " bytes");
        CHECK(over.contents().size() <= original.size() - 1);

        MemFd small;
        auto mebibytes = core::decompress_stream(in.fd, small.fd, format, 1 << 20, "vmlinuz");
        REQUIRE_FALSE(mebibytes.ok());
        CHECK(mebibytes.error().message().ends_with("decompresses to more than 1 MiB"));
    }
}

TEST_CASE("truncated and corrupt streams are refused with the file's name")
{
    auto original = file_contents();
    for (auto format : { StreamFormat::Gzip, StreamFormat::Zstd }) {
        CAPTURE(core::stream_format_name(format));
        auto half = compressed(format, original);
        half.resize(half.size() / 2);
        MemFd truncated_in(half);
        MemFd truncated_out;
        auto truncated = core::decompress_stream(truncated_in.fd, truncated_out.fd, format, 64 << 20, "/lib/modules/x.ko");
        REQUIRE_FALSE(truncated.ok());
        CHECK(truncated.error().errno_code() == EINVAL);
        CHECK(truncated.error().message() == std::string("/lib/modules/x.ko: the ") + std::string(core::stream_format_name(format)) + " stream ends early; the file is truncated or damaged");

        auto damaged = compressed(format, original);
        for (size_t at = 20; at < 200; ++at)
            damaged[at] ^= 0x5a;
        MemFd corrupt_in(damaged);
        MemFd corrupt_out;
        auto corrupt = core::decompress_stream(corrupt_in.fd, corrupt_out.fd, format, 64 << 20, "/lib/modules/x.ko");
        REQUIRE_FALSE(corrupt.ok());
        CHECK(corrupt.error().errno_code() == EINVAL);
        CHECK(corrupt.error().message().starts_with(std::string("/lib/modules/x.ko: the ") + std::string(core::stream_format_name(format)) + " stream is corrupt: "));

        MemFd empty_in;
        MemFd empty_out;
        CHECK(core::decompress_stream(empty_in.fd, empty_out.fd, format, 64 << 20, "empty").error().message() == std::string("empty: the ") + std::string(core::stream_format_name(format)) + " stream ends early; the file is truncated or damaged");
    }

    // A gzip header on a zstd stream, and the other way round.
    MemFd zstd_in(test_support::zstd_bytes(original));
    MemFd out;
    CHECK(contains_text(core::decompress_stream(zstd_in.fd, out.fd, StreamFormat::Gzip, 64 << 20, "x").error().message(), "the gzip stream is corrupt"));
    MemFd gzip_in(test_support::gzip_bytes(original));
    CHECK(contains_text(core::decompress_stream(gzip_in.fd, out.fd, StreamFormat::Zstd, 64 << 20, "x").error().message(), "the zstd stream is corrupt"));
}

TEST_CASE("formats without a decompressor are named, and read and write errors passed on")
{
    MemFd in(std::vector<uint8_t> { 0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3 });
    MemFd out;
    for (auto format : { StreamFormat::Xz, StreamFormat::Bzip2, StreamFormat::Lz4 }) {
        CAPTURE(core::stream_format_name(format));
        auto refused = core::decompress_stream(in.fd, out.fd, format, 64 << 20, "x.ko.xz");
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().errno_code() == ENOTSUP);
        std::string name(core::stream_format_name(format));
        CHECK(refused.error().message() == "x.ko.xz: " + name + "-compressed, and kdumpbox has no " + name + " decompressor (it is built with zlib and zstd only); decompress it first with " + name + " -d");
    }
    auto plain = core::decompress_stream(in.fd, out.fd, StreamFormat::None, 64 << 20, "x.ko");
    REQUIRE_FALSE(plain.ok());
    CHECK(plain.error().errno_code() == EINVAL);
    CHECK(plain.error().message() == "x.ko: not compressed with a format kdumpbox knows (gzip or zstd)");
    CHECK(out.contents().empty());

    // Unreadable input (a write-only descriptor) and unwritable output.
    MemFd packed(test_support::gzip_bytes(text_page(3)));
    int write_only = ::open(("/proc/self/fd/" + std::to_string(out.fd)).c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(write_only >= 0);
    CHECK(core::decompress_stream(write_only, out.fd, StreamFormat::Gzip, 64 << 20, "x.ko.gz").error().errno_code() == EBADF);
    int read_only = ::open(("/proc/self/fd/" + std::to_string(out.fd)).c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(read_only >= 0);
    auto unwritable = core::decompress_stream(packed.fd, read_only, StreamFormat::Gzip, 64 << 20, "x.ko.gz");
    REQUIRE_FALSE(unwritable.ok());
    CHECK(unwritable.error().errno_code() == EBADF);
    CHECK(contains_text(unwritable.error().message(), "the decompressed x.ko.gz"));
    ::close(write_only);
    ::close(read_only);
}

// ---- Whole streams, compressing ----

TEST_CASE("stream compressors: what zstd and gzip write, decompress_stream reads back; none passes through")
{
    auto original = file_contents();
    struct Case {
        core::Compression compression;
        StreamFormat format;
    };
    for (auto [compression, format] : { Case { core::Compression::Zstd, StreamFormat::Zstd }, Case { core::Compression::Gzip, StreamFormat::Gzip } }) {
        CAPTURE(core::compression_name(compression));
        std::string packed;
        core::StringSink sink(packed);
        auto compressor = core::make_compressor({ compression, 0, original.size() }, sink);
        REQUIRE(compressor.ok());
        // In two writes, as an archive writer streams.
        std::span<uint8_t const> all(original);
        REQUIRE(compressor.value()->write(all.first(1000)).ok());
        REQUIRE(compressor.value()->write(all.subspan(1000)).ok());
        REQUIRE(compressor.value()->finish().ok());
        std::vector<uint8_t> bytes(packed.begin(), packed.end());
        CHECK(core::detect_stream_format(bytes) == format);
        MemFd in(bytes);
        MemFd out;
        REQUIRE(core::decompress_stream(in.fd, out.fd, format, 64 << 20, "image").ok());
        CHECK(out.contents() == original);
    }
    std::string plain;
    core::StringSink sink(plain);
    auto none = core::make_compressor({ core::Compression::None }, sink);
    REQUIRE(none.ok());
    REQUIRE(none.value()->write(original).ok());
    REQUIRE(none.value()->finish().ok());
    CHECK(std::vector<uint8_t>(plain.begin(), plain.end()) == original);

    CHECK(core::compression_name(core::Compression::Lz4) == "lz4");
    CHECK(core::effective_level({ core::Compression::None }) == 0);
    CHECK(core::effective_level({ core::Compression::Zstd, 7 }) == 7);
    CHECK(core::make_compressor({ core::Compression::Lz4, 13 }, sink).error().message() == "lz4 level 13 is out of range (1 to 12)");
    CHECK(core::make_compressor({ core::Compression::Zstd, 20 }, sink).error().message() == "zstd level 20 is out of range (1 to 19)");
}

TEST_CASE("stream sinks: a tee feeds both sinks and finishes both")
{
    std::string first, second;
    core::StringSink one(first), two(second);
    core::TeeSink tee(one, two);
    std::string_view text = "newc";
    REQUIRE(tee.write({ reinterpret_cast<uint8_t const*>(text.data()), text.size() }).ok());
    REQUIRE(tee.finish().ok());
    CHECK(first == "newc");
    CHECK(second == "newc");
}
