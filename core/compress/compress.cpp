// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/compress/compress.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/strings.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <initializer_list>
#include <vector>

#define ZLIB_CONST
#include <zlib.h>
#include <lz4.h>
#include <lz4hc.h>
#include <zstd.h>
#include <zstd_errors.h>

namespace core {

char const* codec_name(Codec codec)
{
    switch (codec) {
    case Codec::None:
        return "none";
    case Codec::Zlib:
        return "zlib";
    case Codec::Lzo:
        return "lzo";
    case Codec::Snappy:
        return "snappy";
    case Codec::Zstd:
        return "zstd";
    }
    return "unknown";
}

namespace {

// makedumpfile compresses at level 1 with every codec: the dump has to be
// written while the machine is down, so speed beats ratio.
constexpr int compression_level = 1;

Error unlinked_codec_error(Codec codec)
{
    char const* upper = codec == Codec::Lzo ? "LZO" : "snappy";
    return Error::unsupported(cat(upper, " compression is not available: kdumpbox is built with zlib and zstd only"));
}

Result<void> check_page_arguments(std::span<uint8_t const> page, std::span<uint8_t> out, size_t page_size)
{
    if (page.size() != page_size)
        return Error::invalid(cat("compress: got ", page.size(), " bytes, but the page size is ", page_size));
    if (out.size() < page_size)
        return Error::invalid(cat("compress: output buffer of ", out.size(), " bytes is smaller than a page (", page_size, ")"));
    return {};
}

// Stores nothing: every page goes to the dump raw.
class RawPages final : public PageCompressor {
public:
    explicit RawPages(size_t page_size) : m_page_size(page_size) { }
    Result<size_t> compress(std::span<uint8_t const> page, std::span<uint8_t> out) override
    {
        TRY(check_page_arguments(page, out, m_page_size));
        return size_t { 0 };
    }
    size_t max_output_size() const override { return m_page_size; }

private:
    size_t m_page_size;
};

// One zlib-wrapped deflate stream per page (what readers inflate with
// uncompress()), but one z_stream for all of them: deflateReset instead of
// deflateInit per page saved makedumpfile about 30%.
class ZlibPages final : public PageCompressor {
public:
    static Result<std::unique_ptr<PageCompressor>> create(size_t page_size)
    {
        std::unique_ptr<ZlibPages> compressor(new ZlibPages(page_size));
        int status = deflateInit(&compressor->m_stream, compression_level);
        if (status != Z_OK)
            return Error::with_code(ENOMEM, cat("zlib: cannot set up a compressor: ", zError(status)));
        compressor->m_initialized = true;
        return std::unique_ptr<PageCompressor>(std::move(compressor));
    }
    ~ZlibPages() override
    {
        if (m_initialized)
            deflateEnd(&m_stream);
    }

    Result<size_t> compress(std::span<uint8_t const> page, std::span<uint8_t> out) override
    {
        TRY(check_page_arguments(page, out, m_page_size));
        int status = deflateReset(&m_stream);
        if (status != Z_OK)
            return Error::invalid(cat("zlib: cannot reset the compressor: ", zError(status)));
        m_stream.next_in = page.data();
        m_stream.avail_in = static_cast<uInt>(page.size());
        m_stream.next_out = out.data();
        // One byte less than a page: if it does not fit, deflate stops early
        // and the page is stored raw anyway.
        m_stream.avail_out = static_cast<uInt>(m_page_size - 1);
        status = deflate(&m_stream, Z_FINISH);
        if (status == Z_STREAM_END)
            return static_cast<size_t>(m_stream.total_out);
        if (status == Z_OK || status == Z_BUF_ERROR)
            return size_t { 0 };
        return Error::invalid(cat("zlib: compressing a page failed: ", zError(status)));
    }
    size_t max_output_size() const override { return m_page_size; }

private:
    explicit ZlibPages(size_t page_size) : m_page_size(page_size) { }
    size_t m_page_size;
    z_stream m_stream {};
    bool m_initialized { false };
};

// One zstd frame per page, one context reused for all of them.
class ZstdPages final : public PageCompressor {
public:
    static Result<std::unique_ptr<PageCompressor>> create(size_t page_size)
    {
        ZSTD_CCtx* context = ZSTD_createCCtx();
        if (!context)
            return Error::with_code(ENOMEM, "zstd: cannot allocate a compression context");
        return std::unique_ptr<PageCompressor>(new ZstdPages(page_size, context));
    }
    ~ZstdPages() override { ZSTD_freeCCtx(m_context); }

    Result<size_t> compress(std::span<uint8_t const> page, std::span<uint8_t> out) override
    {
        TRY(check_page_arguments(page, out, m_page_size));
        // As with zlib: a frame that cannot beat the raw page is not wanted.
        size_t result = ZSTD_compressCCtx(m_context, out.data(), m_page_size - 1, page.data(), page.size(), m_level);
        if (!ZSTD_isError(result))
            return result;
        if (ZSTD_getErrorCode(result) == ZSTD_error_dstSize_tooSmall)
            return size_t { 0 };
        return Error::invalid(cat("zstd: compressing a page failed: ", ZSTD_getErrorName(result)));
    }
    size_t max_output_size() const override { return m_page_size; }
    void set_level(int level) override { m_level = std::clamp(level, ZSTD_minCLevel(), ZSTD_maxCLevel()); }

private:
    ZstdPages(size_t page_size, ZSTD_CCtx* context) : m_page_size(page_size), m_context(context) { }
    size_t m_page_size;
    ZSTD_CCtx* m_context;
    int m_level { compression_level };
};

// Decompression state, one per thread so that readers can decompress pages
// from several threads without allocating a context per page.
struct ZlibInflater {
    z_stream stream {};
    bool initialized { false };
    ~ZlibInflater()
    {
        if (initialized)
            inflateEnd(&stream);
    }
};

struct ZstdDecompressor {
    ZSTD_DCtx* context { nullptr };
    ~ZstdDecompressor() { ZSTD_freeDCtx(context); }
};

Result<void> inflate_page(std::span<uint8_t const> in, std::span<uint8_t> out)
{
    thread_local ZlibInflater inflater;
    z_stream& stream = inflater.stream;
    if (!inflater.initialized) {
        int status = inflateInit(&stream);
        if (status != Z_OK)
            return Error::with_code(ENOMEM, cat("zlib: cannot set up a decompressor: ", zError(status)));
        inflater.initialized = true;
    } else if (int status = inflateReset(&stream); status != Z_OK) {
        return Error::invalid(cat("zlib: cannot reset the decompressor: ", zError(status)));
    }
    if (in.size() > UINT_MAX || out.size() > UINT_MAX)
        return Error::invalid(cat("zlib: a page of ", in.size(), " compressed bytes is implausibly large"));
    stream.next_in = in.data();
    stream.avail_in = static_cast<uInt>(in.size());
    stream.next_out = out.data();
    stream.avail_out = static_cast<uInt>(out.size());
    int status = inflate(&stream, Z_FINISH);
    if (status == Z_STREAM_END) {
        if (stream.total_out != out.size())
            return Error::invalid(cat("zlib-compressed page decompresses to ", stream.total_out, " bytes instead of ", out.size()));
        return {};
    }
    if (status == Z_BUF_ERROR && stream.avail_out == 0)
        return Error::invalid(cat("zlib-compressed page decompresses to more than ", out.size(), " bytes"));
    if (status == Z_BUF_ERROR)
        return Error::invalid(cat("zlib-compressed page is truncated (", in.size(), " bytes end mid-stream)"));
    char const* detail = stream.msg ? stream.msg : zError(status);
    return Error::invalid(cat("zlib-compressed page is corrupt: ", detail));
}

Result<void> unzstd_page(std::span<uint8_t const> in, std::span<uint8_t> out)
{
    thread_local ZstdDecompressor decompressor;
    if (!decompressor.context) {
        decompressor.context = ZSTD_createDCtx();
        if (!decompressor.context)
            return Error::with_code(ENOMEM, "zstd: cannot allocate a decompression context");
    }
    size_t result = ZSTD_decompressDCtx(decompressor.context, out.data(), out.size(), in.data(), in.size());
    if (ZSTD_isError(result)) {
        if (ZSTD_getErrorCode(result) == ZSTD_error_dstSize_tooSmall)
            return Error::invalid(cat("zstd-compressed page decompresses to more than ", out.size(), " bytes"));
        return Error::invalid(cat("zstd-compressed page is corrupt: ", ZSTD_getErrorName(result)));
    }
    if (result != out.size())
        return Error::invalid(cat("zstd-compressed page decompresses to ", result, " bytes instead of ", out.size()));
    return {};
}

} // namespace

Result<std::unique_ptr<PageCompressor>> PageCompressor::create(Codec codec, size_t page_size)
{
    // The same limits readers put on a kdump block size; a page size outside
    // them is a caller's bug, not something to compress around.
    if (page_size < 4096 || page_size > 262144 || (page_size & (page_size - 1)) != 0)
        return Error::invalid(cat("compress: page size ", page_size, " is not a power of two between 4 KiB and 256 KiB"));
    switch (codec) {
    case Codec::None:
        return std::unique_ptr<PageCompressor>(new RawPages(page_size));
    case Codec::Zlib:
        return ZlibPages::create(page_size);
    case Codec::Zstd:
        return ZstdPages::create(page_size);
    case Codec::Lzo:
    case Codec::Snappy:
        return unlinked_codec_error(codec);
    }
    return Error::invalid(cat("compress: unknown codec ", hex(static_cast<uint32_t>(codec))));
}

Result<void> decompress_page(Codec codec, std::span<uint8_t const> in, std::span<uint8_t> out)
{
    switch (codec) {
    case Codec::None:
        if (in.size() != out.size())
            return Error::invalid(cat("raw page is ", in.size(), " bytes instead of ", out.size()));
        if (!in.empty())
            std::memcpy(out.data(), in.data(), in.size());
        return {};
    case Codec::Zlib:
        return inflate_page(in, out);
    case Codec::Zstd:
        return unzstd_page(in, out);
    case Codec::Lzo:
        return Error::unsupported("this dump's pages are LZO-compressed; kdumpbox cannot read LZO (it is built with zlib and zstd only)");
    case Codec::Snappy:
        return Error::unsupported("this dump's pages are snappy-compressed; kdumpbox cannot read snappy (it is built with zlib and zstd only)");
    }
    return Error::invalid(cat("page compressed with unknown codec ", hex(static_cast<uint32_t>(codec))));
}

// ---- Whole files ----

namespace {

// Read and write in pieces this big: large enough that system calls do not
// dominate, small enough for a crash kernel's memory.
constexpr size_t stream_chunk_bytes = 256 * 1024;

struct InflateEnder {
    z_stream* stream;
    ~InflateEnder() { inflateEnd(stream); }
};

struct ZstdStreamContext {
    ZSTD_DCtx* context { ZSTD_createDCtx() };
    ~ZstdStreamContext() { ZSTD_freeDCtx(context); }
};

Error truncated_stream(std::string_view what, StreamFormat format)
{
    return Error::invalid(cat(what, ": the ", stream_format_name(format), " stream ends early; the file is truncated or damaged"));
}

Error corrupt_stream(std::string_view what, StreamFormat format, std::string_view detail)
{
    return Error::invalid(cat(what, ": the ", stream_format_name(format), " stream is corrupt: ", detail));
}

Error output_too_large(std::string_view what, StreamFormat format, uint64_t max_output_bytes)
{
    constexpr uint64_t mebibyte = 1024 * 1024;
    std::string limit = max_output_bytes % mebibyte == 0 && max_output_bytes > 0 ? cat(max_output_bytes / mebibyte, " MiB") : cat(max_output_bytes, " bytes");
    return Error::with_code(EFBIG, cat(what, ": the ", stream_format_name(format), " stream decompresses to more than ", limit));
}

// Writes one piece of output, after checking that it stays within the limit.
Result<void> emit(int out_fd, std::span<uint8_t const> piece, uint64_t& total, uint64_t max_output_bytes, std::string_view what, StreamFormat format)
{
    if (piece.size() > max_output_bytes - total)
        return output_too_large(what, format, max_output_bytes);
    total += piece.size();
    return write_all(out_fd, piece, cat("the decompressed ", what));
}

Result<uint64_t> gunzip_stream(int in_fd, int out_fd, uint64_t max_output_bytes, std::string_view what)
{
    z_stream stream {};
    // 16 + MAX_WBITS: one gzip member, its header and CRC trailer checked.
    int status = inflateInit2(&stream, 16 + MAX_WBITS);
    if (status != Z_OK)
        return Error::with_code(ENOMEM, cat("zlib: cannot set up a decompressor: ", zError(status)));
    InflateEnder ender { &stream };
    std::vector<uint8_t> input(stream_chunk_bytes);
    std::vector<uint8_t> output(stream_chunk_bytes);
    uint64_t offset = 0;
    uint64_t total = 0;
    while (true) {
        size_t got = TRY(pread_full(in_fd, input, offset, what));
        if (got == 0)
            return truncated_stream(what, StreamFormat::Gzip);
        offset += got;
        stream.next_in = input.data();
        stream.avail_in = static_cast<uInt>(got);
        do {
            stream.next_out = output.data();
            stream.avail_out = static_cast<uInt>(output.size());
            status = inflate(&stream, Z_NO_FLUSH);
            if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR)
                return corrupt_stream(what, StreamFormat::Gzip, stream.msg ? stream.msg : zError(status));
            TRY(emit(out_fd, std::span<uint8_t const>(output.data(), output.size() - stream.avail_out), total, max_output_bytes, what, StreamFormat::Gzip));
            if (status == Z_STREAM_END)
                return total;
        } while (stream.avail_in > 0 || stream.avail_out == 0);
    }
}

Result<uint64_t> unzstd_stream(int in_fd, int out_fd, uint64_t max_output_bytes, std::string_view what)
{
    ZstdStreamContext decompressor;
    if (!decompressor.context)
        return Error::with_code(ENOMEM, "zstd: cannot allocate a decompression context");
    std::vector<uint8_t> input(stream_chunk_bytes);
    std::vector<uint8_t> output(stream_chunk_bytes);
    uint64_t offset = 0;
    uint64_t total = 0;
    while (true) {
        size_t got = TRY(pread_full(in_fd, input, offset, what));
        offset += got;
        ZSTD_inBuffer in { input.data(), got, 0 };
        ZSTD_outBuffer out {};
        do {
            out = ZSTD_outBuffer { output.data(), output.size(), 0 };
            size_t remaining = ZSTD_decompressStream(decompressor.context, &out, &in);
            if (ZSTD_isError(remaining))
                return corrupt_stream(what, StreamFormat::Zstd, ZSTD_getErrorName(remaining));
            TRY(emit(out_fd, std::span<uint8_t const>(output.data(), out.pos), total, max_output_bytes, what, StreamFormat::Zstd));
            if (remaining == 0)
                return total; // the end of the first frame
        } while (in.pos < in.size || out.pos == out.size);
        if (got == 0)
            return truncated_stream(what, StreamFormat::Zstd);
    }
}

} // namespace

std::string_view stream_format_name(StreamFormat format)
{
    switch (format) {
    case StreamFormat::None: return "uncompressed";
    case StreamFormat::Gzip: return "gzip";
    case StreamFormat::Zstd: return "zstd";
    case StreamFormat::Xz: return "xz";
    case StreamFormat::Bzip2: return "bzip2";
    case StreamFormat::Lz4: return "lz4";
    }
    return "unknown";
}

StreamFormat detect_stream_format(std::span<uint8_t const> head)
{
    auto starts = [&](std::initializer_list<uint8_t> magic) {
        return head.size() >= magic.size() && std::equal(magic.begin(), magic.end(), head.begin());
    };
    if (starts({ 0x1f, 0x8b }))
        return StreamFormat::Gzip;
    if (starts({ 0x28, 0xb5, 0x2f, 0xfd }))
        return StreamFormat::Zstd;
    if (starts({ 0xfd, '7', 'z', 'X', 'Z', 0x00 }))
        return StreamFormat::Xz;
    if (starts({ 'B', 'Z', 'h' }))
        return StreamFormat::Bzip2;
    // The frame format (lz4 -d), and the legacy format the kernel's own
    // CONFIG_KERNEL_LZ4 and initramfs images use.
    if (starts({ 0x04, 0x22, 0x4d, 0x18 }) || starts({ 0x02, 0x21, 0x4c, 0x18 }))
        return StreamFormat::Lz4;
    return StreamFormat::None;
}

bool can_decompress_stream(StreamFormat format) { return format == StreamFormat::Gzip || format == StreamFormat::Zstd; }

Result<uint64_t> decompress_stream(int in_fd, int out_fd, StreamFormat format, uint64_t max_output_bytes, std::string_view what)
{
    switch (format) {
    case StreamFormat::Gzip:
        return gunzip_stream(in_fd, out_fd, max_output_bytes, what);
    case StreamFormat::Zstd:
        return unzstd_stream(in_fd, out_fd, max_output_bytes, what);
    case StreamFormat::Xz:
    case StreamFormat::Bzip2:
    case StreamFormat::Lz4: {
        std::string_view name = stream_format_name(format);
        return Error::unsupported(cat(what, ": ", name, "-compressed, and kdumpbox has no ", name, " decompressor (it is built with zlib and zstd only); decompress it first with ", name, " -d"));
    }
    case StreamFormat::None:
        break;
    }
    return Error::invalid(cat(what, ": not compressed with a format kdumpbox knows (gzip or zstd)"));
}

// ---- Whole streams, compressing ----

namespace {

constexpr uint32_t lz4_legacy_magic = 0x184C2102;
// The legacy frame's fixed block size: every block but the last holds
// exactly this much input, and the kernel decompresses each into a buffer
// of this size.
constexpr size_t lz4_legacy_block_bytes = 8u << 20;

class PassThrough final : public StreamSink {
public:
    explicit PassThrough(StreamSink& next) : m_next(next) { }
    Result<void> write(std::span<uint8_t const> bytes) override { return m_next.write(bytes); }
    Result<void> finish() override { return m_next.finish(); }

private:
    StreamSink& m_next;
};

class ZstdSink final : public StreamSink {
public:
    ZstdSink(ZSTD_CCtx* context, StreamSink& next) : m_context(context), m_next(next), m_out(ZSTD_CStreamOutSize()) { }
    ~ZstdSink() override { ZSTD_freeCCtx(m_context); }

    Result<void> write(std::span<uint8_t const> bytes) override
    {
        ZSTD_inBuffer input { bytes.data(), bytes.size(), 0 };
        while (input.pos < input.size)
            TRY(step(input, ZSTD_e_continue));
        return {};
    }
    Result<void> finish() override
    {
        ZSTD_inBuffer input { nullptr, 0, 0 };
        while (TRY(step(input, ZSTD_e_end)) != 0) { }
        return m_next.finish();
    }

private:
    // Returns zstd's "bytes still to flush" hint.
    Result<size_t> step(ZSTD_inBuffer& input, ZSTD_EndDirective mode)
    {
        ZSTD_outBuffer output { m_out.data(), m_out.size(), 0 };
        size_t remaining = ZSTD_compressStream2(m_context, &output, &input, mode);
        if (ZSTD_isError(remaining))
            return Error::invalid(cat("zstd compression: ", ZSTD_getErrorName(remaining)));
        if (output.pos > 0)
            TRY(m_next.write({ m_out.data(), output.pos }));
        return remaining;
    }

    ZSTD_CCtx* m_context;
    StreamSink& m_next;
    std::vector<uint8_t> m_out;
};

class GzipSink final : public StreamSink {
public:
    explicit GzipSink(StreamSink& next) : m_next(next), m_out(stream_chunk_bytes) { }
    ~GzipSink() override
    {
        if (m_initialised)
            deflateEnd(&m_stream);
    }

    Result<void> init(int level)
    {
        // windowBits 15 + 16: zlib writes a gzip header with no name, no
        // comment and mtime 0, so the output depends on the input only.
        if (deflateInit2(&m_stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return Error::with_code(ENOMEM, "gzip compression: deflateInit2 failed");
        m_initialised = true;
        return {};
    }
    Result<void> write(std::span<uint8_t const> bytes) override
    {
        // zlib's avail_in is 32 bits wide.
        while (!bytes.empty()) {
            size_t piece = std::min<size_t>(bytes.size(), 1u << 30);
            m_stream.next_in = bytes.data();
            m_stream.avail_in = static_cast<uInt>(piece);
            while (m_stream.avail_in > 0)
                TRY(step(Z_NO_FLUSH));
            bytes = bytes.subspan(piece);
        }
        return {};
    }
    Result<void> finish() override
    {
        m_stream.next_in = nullptr;
        m_stream.avail_in = 0;
        while (TRY(step(Z_FINISH)) != Z_STREAM_END) { }
        return m_next.finish();
    }

private:
    Result<int> step(int flush)
    {
        m_stream.next_out = m_out.data();
        m_stream.avail_out = static_cast<uInt>(m_out.size());
        int status = deflate(&m_stream, flush);
        if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR)
            return Error::invalid(cat("gzip compression: deflate returned ", status));
        size_t produced = m_out.size() - m_stream.avail_out;
        if (produced > 0)
            TRY(m_next.write({ m_out.data(), produced }));
        return status;
    }

    StreamSink& m_next;
    z_stream m_stream {};
    bool m_initialised { false };
    std::vector<uint8_t> m_out;
};

class Lz4LegacySink final : public StreamSink {
public:
    Lz4LegacySink(int level, StreamSink& next)
        : m_level(level)
        , m_next(next)
        , m_state(static_cast<size_t>(LZ4_sizeofStateHC()))
        , m_out(static_cast<size_t>(LZ4_compressBound(static_cast<int>(lz4_legacy_block_bytes))) + 4)
    {
        m_in.reserve(lz4_legacy_block_bytes);
    }

    Result<void> write(std::span<uint8_t const> bytes) override
    {
        TRY(write_magic());
        while (!bytes.empty()) {
            size_t piece = std::min(bytes.size(), lz4_legacy_block_bytes - m_in.size());
            m_in.insert(m_in.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(piece));
            bytes = bytes.subspan(piece);
            if (m_in.size() == lz4_legacy_block_bytes)
                TRY(flush_block());
        }
        return {};
    }
    Result<void> finish() override
    {
        TRY(write_magic());
        if (!m_in.empty())
            TRY(flush_block());
        // No end mark: the legacy frame ends where the input ends.
        return m_next.finish();
    }

private:
    Result<void> write_magic()
    {
        if (m_magic_written)
            return {};
        uint8_t magic[4];
        store_uint(magic, 4, lz4_legacy_magic, Endian::Little);
        TRY(m_next.write({ magic, 4 }));
        m_magic_written = true;
        return {};
    }
    Result<void> flush_block()
    {
        int capacity = static_cast<int>(m_out.size() - 4);
        int size = LZ4_compress_HC_extStateHC(m_state.data(), reinterpret_cast<char const*>(m_in.data()), reinterpret_cast<char*>(m_out.data() + 4),
            static_cast<int>(m_in.size()), capacity, m_level);
        if (size <= 0)
            return Error::invalid(cat("lz4 compression of a ", m_in.size(), "-byte block failed"));
        store_uint(m_out.data(), 4, static_cast<uint32_t>(size), Endian::Little);
        TRY(m_next.write({ m_out.data(), static_cast<size_t>(size) + 4 }));
        m_in.clear();
        return {};
    }

    int m_level;
    StreamSink& m_next;
    std::vector<uint8_t> m_state; // LZ4HC's working state, reused per block
    std::vector<uint8_t> m_in;
    std::vector<uint8_t> m_out;
    bool m_magic_written { false };
};

} // namespace

std::string_view compression_name(Compression compression)
{
    switch (compression) {
    case Compression::None:
        return "none";
    case Compression::Zstd:
        return "zstd";
    case Compression::Gzip:
        return "gzip";
    case Compression::Lz4:
        return "lz4";
    }
    return "unknown";
}

Result<Compression> parse_compression(std::string_view name)
{
    if (name == "none")
        return Compression::None;
    if (name == "zstd" || name == "zst")
        return Compression::Zstd;
    if (name == "gzip" || name == "gz")
        return Compression::Gzip;
    if (name == "lz4")
        return Compression::Lz4;
    return Error::invalid(cat("unknown initramfs compression \"", name, "\" (expected zstd, gzip, lz4 or none)"));
}

int effective_level(CompressionOptions const& options)
{
    if (options.level != 0)
        return options.level;
    switch (options.compression) {
    case Compression::None:
        return 0;
    case Compression::Zstd:
        return 19;
    case Compression::Gzip:
        return 9;
    case Compression::Lz4:
        return LZ4HC_CLEVEL_MAX;
    }
    return 0;
}

Result<std::unique_ptr<StreamSink>> make_compressor(CompressionOptions const& options, StreamSink& next)
{
    int level = effective_level(options);
    switch (options.compression) {
    case Compression::None:
        return std::unique_ptr<StreamSink>(new PassThrough(next));
    case Compression::Zstd: {
        if (level < 1 || level > 19)
            return Error::invalid(cat("zstd level ", level, " is out of range (1 to 19)"));
        ZSTD_CCtx* context = ZSTD_createCCtx();
        if (context == nullptr)
            return Error::with_code(ENOMEM, "zstd compression: ZSTD_createCCtx failed");
        auto sink = std::make_unique<ZstdSink>(context, next);
        size_t status = ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level);
        if (!ZSTD_isError(status))
            status = ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1);
        if (!ZSTD_isError(status) && options.pledged_size)
            status = ZSTD_CCtx_setPledgedSrcSize(context, *options.pledged_size);
        if (!ZSTD_isError(status) && options.max_window_log)
            status = ZSTD_CCtx_setParameter(context, ZSTD_c_windowLog, *options.max_window_log);
        if (ZSTD_isError(status))
            return Error::invalid(cat("zstd compression: ", ZSTD_getErrorName(status)));
        return std::unique_ptr<StreamSink>(std::move(sink));
    }
    case Compression::Gzip: {
        if (level < 1 || level > 9)
            return Error::invalid(cat("gzip level ", level, " is out of range (1 to 9)"));
        auto sink = std::make_unique<GzipSink>(next);
        TRY(sink->init(level));
        return std::unique_ptr<StreamSink>(std::move(sink));
    }
    case Compression::Lz4:
        if (level < 1 || level > LZ4HC_CLEVEL_MAX)
            return Error::invalid(cat("lz4 level ", level, " is out of range (1 to ", LZ4HC_CLEVEL_MAX, ")"));
        return std::unique_ptr<StreamSink>(new Lz4LegacySink(level, next));
    }
    return Error::invalid("unknown compression");
}

} // namespace core
