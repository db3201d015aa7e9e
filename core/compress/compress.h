// SPDX-License-Identifier: GPL-2.0-or-later
// All of kdumpbox's compression, in three shapes:
// - per page, for the kdump-compressed format: each page is one independent
//   zlib stream, zstd frame, LZ4 block... Compressors are reused page after
//   page (one per thread): per-page setup dominates otherwise;
// - whole files decompressed, streamed from one descriptor to another:
//   compressed kernel images for kexec, .ko.gz/.ko.zst modules;
// - whole streams compressed, through a StreamSink chain: the initramfs
//   image, in the formats the kernel's initramfs unpacker reads.
// zlib, zstd and lz4 are set up here and nowhere else.
#pragma once

#include "core/base/error.h"
#include "core/base/stream_sink.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

namespace core {

// Values are the kdump page_desc flag bits.
enum class Codec : uint32_t {
    None = 0,
    Zlib = 0x1,
    Lzo = 0x2,
    Snappy = 0x4,
    Zstd = 0x20,
};

char const* codec_name(Codec codec);

class PageCompressor {
public:
    static Result<std::unique_ptr<PageCompressor>> create(Codec codec, size_t page_size);
    virtual ~PageCompressor() = default;
    // Compresses one page into out (at least max_output_size() bytes).
    // Returns the compressed size, or 0 when compression would not make the
    // page smaller (the caller stores it raw, as makedumpfile does).
    virtual Result<size_t> compress(std::span<uint8_t const> page, std::span<uint8_t> out) = 0;
    virtual size_t max_output_size() const = 0;
    // zstd only (the others ignore it): the level for the pages after this
    // call. Every level writes the same kind of frame, which readers decode
    // alike, so one dump may mix levels (the collector's --adaptive-level).
    virtual void set_level(int level) { (void)level; }
};

// Decompresses one page; the result must fill `out` exactly.
Result<void> decompress_page(Codec codec, std::span<uint8_t const> in, std::span<uint8_t> out);

// ---- Whole files ----

// What a file is compressed with, told by its magic number. Only gzip and
// zstd can be decompressed; the others are recognised to name them in errors.
enum class StreamFormat { None, Gzip, Zstd, Xz, Bzip2, Lz4 };
// "uncompressed", "gzip", "zstd", "xz", "bzip2", "lz4".
std::string_view stream_format_name(StreamFormat format);
// From the first bytes of the file; 6 are enough for every format.
StreamFormat detect_stream_format(std::span<uint8_t const> head);
// Whether decompress_stream takes this format (gzip and zstd).
bool can_decompress_stream(StreamFormat format);

// Decompresses the first gzip member or zstd frame of in_fd, read from
// offset 0 with pread(2) (a regular file or memfd), and write(2)s the
// output to out_fd. Whatever follows that member or frame (padding) is
// ignored, as the kernel's own decompressors do. Returns the number of bytes
// written. Errors name `what` (a path) and the problem: EINVAL for a corrupt
// or truncated stream, EFBIG when the output would exceed max_output_bytes
// (a decompression bomb, or not what the caller expects), ENOTSUP for xz,
// bzip2 and lz4, EINVAL for StreamFormat::None; out_fd then holds whatever
// was written before the error.
Result<uint64_t> decompress_stream(int in_fd, int out_fd, StreamFormat format, uint64_t max_output_bytes, std::string_view what);

// ---- Whole streams, compressing ----

// What a whole stream can be compressed with: the kernel's initramfs
// decompressors that kdumpbox can also write.
enum class Compression { None, Zstd, Gzip, Lz4 };

// "none", "zstd", "gzip", "lz4".
std::string_view compression_name(Compression compression);
// The inverse of compression_name; "gz" and "zst" are accepted too.
Result<Compression> parse_compression(std::string_view name);

struct CompressionOptions {
    Compression compression { Compression::Zstd };
    // 0 picks the default: zstd 19, gzip 9, lz4 (HC) 12. zstd 1..19,
    // gzip 1..9, lz4 1..12.
    int level { 0 };
    // The uncompressed size, if known: zstd records it in the frame and
    // shrinks its window (and so the capture kernel's decompression
    // workspace) to fit a small archive.
    std::optional<uint64_t> pledged_size {};
    // zstd only: the largest window, as log2 bytes (10..27). The decoder
    // allocates a window-sized workspace; the capture kernel unpacks its
    // initramfs in the tightest memory it ever has.
    std::optional<int> max_window_log {};
};

// The level make_compressor uses for these options (0 resolved).
int effective_level(CompressionOptions const& options);

// A sink that compresses everything written to it into `next` (not
// owned; it must outlive the compressor). Single-threaded with fixed
// parameters, so the same input always gives the same bytes. The formats:
// - zstd: one frame with a checksum;
// - gzip: zlib's gzip wrapper, no file name, mtime 0;
// - lz4: the legacy frame (magic 0x184C2102, then per 8 MiB of input a
//   little-endian compressed size and an LZ4-HC block), the only lz4
//   format the kernel's initramfs decompressor reads.
// Compression::None passes bytes through.
Result<std::unique_ptr<StreamSink>> make_compressor(CompressionOptions const& options, StreamSink& next);

} // namespace core
