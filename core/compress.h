// SPDX-License-Identifier: GPL-2.0-or-later
// Per-page compression for the kdump-compressed format: each page is one
// independent zlib stream, zstd frame, LZ4 block... Compressors are reused
// page after page (one per thread): per-page setup dominates otherwise.
#pragma once

#include "core/error.h"

#include <cstdint>
#include <memory>
#include <span>

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
};

// Decompresses one page; the result must fill `out` exactly.
Result<void> decompress_page(Codec codec, std::span<uint8_t const> in, std::span<uint8_t> out);

} // namespace core
