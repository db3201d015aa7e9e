// SPDX-License-Identifier: GPL-2.0-or-later
// The page decompressors of the kdump format (first byte: which codec,
// second: page size 4 KiB or 64 KiB), and the stream decompressors used on
// kernels and modules (format detected from the bytes, output capped).
#include "tests/fuzz/fuzz_support.h"

#include "core/compress/compress.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    if (size < 2)
        return 0;
    static core::Codec const codecs[] = { core::Codec::None, core::Codec::Zlib, core::Codec::Lzo, core::Codec::Snappy, core::Codec::Zstd };
    auto codec = codecs[data[0] % std::size(codecs)];
    std::vector<uint8_t> page((data[1] & 1) ? 65536 : 4096);
    auto in = fuzz::bytes_of(data + 2, size - 2);
    (void)core::decompress_page(codec, in, page);

    auto format = core::detect_stream_format(in);
    if (format == core::StreamFormat::None || !core::can_decompress_stream(format))
        return 0;
    fuzz::InputFile input(in);
    int out = ::memfd_create("kdumpbox-fuzz-output", MFD_CLOEXEC);
    if (out < 0)
        std::abort();
    core::UniqueFd output(out);
    (void)core::decompress_stream(input.fd(), output.get(), format, 4 << 20, "fuzz stream");
    return 0;
}
