// SPDX-License-Identifier: GPL-2.0-or-later
#include "initramfs/cpio.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/strings.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <lz4.h>
#include <lz4hc.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

namespace core::cpio {

namespace {

constexpr std::string_view newc_magic = "070701";
constexpr uint64_t header_bytes = 110; // magic + 13 fields of 8 hex digits
constexpr std::string_view trailer_name = "TRAILER!!!";
// The kernel's initramfs unpacker copies names into a PATH_MAX buffer.
constexpr size_t max_name_bytes = 4095;
constexpr uint64_t max_field_value = 0xffffffffu;
constexpr size_t copy_chunk_bytes = 256 * 1024;

constexpr uint32_t lz4_legacy_magic = 0x184C2102;
// The legacy frame's fixed block size: every block but the last holds
// exactly this much input, and the kernel decompresses each into a buffer
// of this size.
constexpr size_t lz4_legacy_block_bytes = 8u << 20;

uint64_t pad4(uint64_t size) { return align_up(size, 4) - size; }

void append_field(std::string& out, uint64_t value)
{
    static constexpr char digits[] = "0123456789ABCDEF";
    for (int shift = 28; shift >= 0; shift -= 4)
        out.push_back(digits[(value >> shift) & 0xf]);
}

uint32_t type_bits(EntryKind kind)
{
    switch (kind) {
    case EntryKind::Directory:
        return S_IFDIR;
    case EntryKind::File:
        return S_IFREG;
    case EntryKind::Symlink:
        return S_IFLNK;
    case EntryKind::CharDevice:
        return S_IFCHR;
    }
    return 0;
}

struct HeaderFields {
    uint64_t inode;
    uint64_t mode;
    uint64_t nlink;
    uint64_t mtime;
    uint64_t file_size;
    uint64_t rdev_major;
    uint64_t rdev_minor;
};

// One header plus the name and the padding after it.
std::string encode_header(HeaderFields const& fields, std::string_view name)
{
    std::string out;
    out.reserve(header_bytes + name.size() + 4);
    out.append(newc_magic);
    append_field(out, fields.inode);
    append_field(out, fields.mode);
    append_field(out, 0); // uid
    append_field(out, 0); // gid
    append_field(out, fields.nlink);
    append_field(out, fields.mtime);
    append_field(out, fields.file_size);
    append_field(out, 0); // devmajor: the device holding the file; none
    append_field(out, 0); // devminor
    append_field(out, fields.rdev_major);
    append_field(out, fields.rdev_minor);
    append_field(out, name.size() + 1); // namesize counts the NUL
    append_field(out, 0);               // check: only the "070702" variant uses it
    out.append(name);
    out.push_back('\0');
    out.append(pad4(out.size()), '\0');
    return out;
}

uint64_t entry_bytes(std::string_view name, uint64_t data_size)
{
    uint64_t head = header_bytes + name.size() + 1;
    return head + pad4(head) + data_size + pad4(data_size);
}

Result<void> write_text(Sink& sink, std::string_view text)
{
    return sink.write({ reinterpret_cast<uint8_t const*>(text.data()), text.size() });
}

Result<void> write_zeros(Sink& sink, uint64_t count)
{
    static constexpr uint8_t zeros[4] = {};
    if (count == 0)
        return {};
    return sink.write({ zeros, static_cast<size_t>(count) });
}

// Streams exactly `size` bytes of source_path into the sink.
Result<void> copy_file(Sink& sink, std::string const& source_path, uint64_t size, std::string_view archive_path)
{
    auto fd = TRY(open_file(source_path, O_RDONLY));
    struct stat status;
    if (::fstat(fd.get(), &status) != 0)
        return Error::from_errno(cat("stat ", source_path));
    if (static_cast<uint64_t>(status.st_size) != size)
        return Error::with_code(EAGAIN, cat(source_path, ": its size changed from ", size, " to ", static_cast<uint64_t>(status.st_size), " bytes while the archive was being built (for ", archive_path, "); build again"));
    std::vector<uint8_t> buffer(std::min<uint64_t>(copy_chunk_bytes, std::max<uint64_t>(size, 1)));
    uint64_t offset = 0;
    while (offset < size) {
        size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), size - offset));
        size_t got = TRY(pread_full(fd.get(), std::span<uint8_t>(buffer.data(), want), offset, source_path));
        if (got != want)
            return Error::with_code(EAGAIN, cat(source_path, ": the file ended at ", offset + got, " bytes, short of the ", size, " it had when added (for ", archive_path, "); build again"));
        TRY(sink.write({ buffer.data(), got }));
        offset += got;
    }
    return {};
}

// ---- Compressors ----

class PassThrough final : public Sink {
public:
    explicit PassThrough(Sink& next) : m_next(next) { }
    Result<void> write(std::span<uint8_t const> bytes) override { return m_next.write(bytes); }
    Result<void> finish() override { return m_next.finish(); }

private:
    Sink& m_next;
};

class ZstdSink final : public Sink {
public:
    ZstdSink(ZSTD_CCtx* context, Sink& next) : m_context(context), m_next(next), m_out(ZSTD_CStreamOutSize()) { }
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
    Sink& m_next;
    std::vector<uint8_t> m_out;
};

class GzipSink final : public Sink {
public:
    explicit GzipSink(Sink& next) : m_next(next), m_out(copy_chunk_bytes) { }
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
            m_stream.next_in = const_cast<Bytef*>(bytes.data());
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

    Sink& m_next;
    z_stream m_stream {};
    bool m_initialised { false };
    std::vector<uint8_t> m_out;
};

class Lz4LegacySink final : public Sink {
public:
    Lz4LegacySink(int level, Sink& next)
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
        store_le32(magic, lz4_legacy_magic);
        TRY(m_next.write({ magic, 4 }));
        m_magic_written = true;
        return {};
    }
    static void store_le32(uint8_t* out, uint32_t value)
    {
        for (int index = 0; index < 4; ++index)
            out[index] = static_cast<uint8_t>(value >> (8 * index));
    }
    Result<void> flush_block()
    {
        int capacity = static_cast<int>(m_out.size() - 4);
        int size = LZ4_compress_HC_extStateHC(m_state.data(), reinterpret_cast<char const*>(m_in.data()), reinterpret_cast<char*>(m_out.data() + 4),
            static_cast<int>(m_in.size()), capacity, m_level);
        if (size <= 0)
            return Error::invalid(cat("lz4 compression of a ", m_in.size(), "-byte block failed"));
        store_le32(m_out.data(), static_cast<uint32_t>(size));
        TRY(m_next.write({ m_out.data(), static_cast<size_t>(size) + 4 }));
        m_in.clear();
        return {};
    }

    int m_level;
    Sink& m_next;
    std::vector<uint8_t> m_state; // LZ4HC's working state, reused per block
    std::vector<uint8_t> m_in;
    std::vector<uint8_t> m_out;
    bool m_magic_written { false };
};

} // namespace

Result<void> StringSink::write(std::span<uint8_t const> bytes)
{
    m_out.append(reinterpret_cast<char const*>(bytes.data()), bytes.size());
    return {};
}

Result<void> FdSink::write(std::span<uint8_t const> bytes)
{
    TRY(write_all(m_fd, bytes, m_what));
    m_bytes_written += bytes.size();
    return {};
}

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

Result<std::unique_ptr<Sink>> make_compressor(CompressionOptions const& options, Sink& next)
{
    int level = effective_level(options);
    switch (options.compression) {
    case Compression::None:
        return std::unique_ptr<Sink>(new PassThrough(next));
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
        if (ZSTD_isError(status))
            return Error::invalid(cat("zstd compression: ", ZSTD_getErrorName(status)));
        return std::unique_ptr<Sink>(std::move(sink));
    }
    case Compression::Gzip: {
        if (level < 1 || level > 9)
            return Error::invalid(cat("gzip level ", level, " is out of range (1 to 9)"));
        auto sink = std::make_unique<GzipSink>(next);
        TRY(sink->init(level));
        return std::unique_ptr<Sink>(std::move(sink));
    }
    case Compression::Lz4:
        if (level < 1 || level > LZ4HC_CLEVEL_MAX)
            return Error::invalid(cat("lz4 level ", level, " is out of range (1 to ", LZ4HC_CLEVEL_MAX, ")"));
        return std::unique_ptr<Sink>(new Lz4LegacySink(level, next));
    }
    return Error::invalid("unknown compression");
}

CompressionChoice choose_compression(std::string_view kernel_config_text, std::string_view config_name)
{
    std::set<std::string_view> enabled;
    for (auto line : split(kernel_config_text, '\n')) {
        line = trim(line);
        if (line.ends_with("=y") && line.starts_with("CONFIG_RD_"))
            enabled.insert(line.substr(0, line.size() - 2));
    }
    struct Candidate {
        std::string_view option;
        Compression compression;
    };
    static constexpr Candidate candidates[] = {
        { "CONFIG_RD_ZSTD", Compression::Zstd },
        { "CONFIG_RD_GZIP", Compression::Gzip },
        { "CONFIG_RD_LZ4", Compression::Lz4 },
    };
    for (auto const& candidate : candidates) {
        if (enabled.contains(candidate.option))
            return { candidate.compression, cat(candidate.option, "=y in ", config_name), {} };
    }
    return { Compression::None, cat("none of CONFIG_RD_ZSTD, CONFIG_RD_GZIP, CONFIG_RD_LZ4 is set in ", config_name),
        cat(config_name, ": the kernel has no zstd, gzip or lz4 initramfs decompressor; the initramfs is left uncompressed (larger, and it all sits in the crash kernel's memory)") };
}

Result<CompressionChoice> choose_compression_for_config_file(std::string const& kernel_config_path)
{
    auto text = TRY(read_text_file(kernel_config_path, 16 << 20));
    return choose_compression(text, kernel_config_path);
}

// ---- Archive ----

Result<std::string> Archive::normalise_path(std::string_view path)
{
    std::string out;
    for (auto component : split(path, '/')) {
        if (component.empty())
            continue;
        if (component == "." || component == "..")
            return Error::invalid(cat("cpio: \"", path, "\": \".\" and \"..\" are not allowed in archive paths"));
        if (!out.empty())
            out.push_back('/');
        out.append(component);
    }
    if (out.empty())
        return Error::invalid(cat("cpio: \"", path, "\" names no file (the archive root is implicit)"));
    if (out.size() > max_name_bytes)
        return Error::invalid(cat("cpio: a ", out.size(), "-byte path is longer than the kernel's limit of ", max_name_bytes));
    if (out == trailer_name)
        return Error::invalid(cat("cpio: \"", trailer_name, "\" is reserved for the end-of-archive marker"));
    return out;
}

Result<void> Archive::ensure_parents(std::string const& normalised)
{
    for (size_t slash = normalised.find('/'); slash != std::string::npos; slash = normalised.find('/', slash + 1)) {
        std::string parent = normalised.substr(0, slash);
        auto found = m_entries.find(parent);
        if (found == m_entries.end()) {
            Entry directory {};
            directory.kind = EntryKind::Directory;
            directory.permissions = 0755;
            directory.implicit = true;
            m_entries.emplace(parent, std::move(directory));
        } else if (found->second.kind != EntryKind::Directory) {
            return Error::with_code(ENOTDIR, cat("cpio: /", parent, " is already in the archive and not as a directory, so /", normalised, " cannot go under it"));
        }
    }
    return {};
}

Result<void> Archive::add_entry(std::string normalised, Entry entry)
{
    auto found = m_entries.find(normalised);
    if (found != m_entries.end()) {
        if (found->second.kind == EntryKind::Directory && entry.kind == EntryKind::Directory) {
            // Declaring a directory twice (or after a child made it) only
            // sets its permissions.
            found->second.permissions = entry.permissions;
            found->second.implicit = false;
            return {};
        }
        return Error::with_code(EEXIST, cat("cpio: /", normalised, " is already in the archive"));
    }
    TRY(ensure_parents(normalised));
    m_entries.emplace(std::move(normalised), std::move(entry));
    return {};
}

Result<void> Archive::add_directory(std::string_view path, uint32_t permissions)
{
    Entry entry {};
    entry.kind = EntryKind::Directory;
    entry.permissions = permissions & 07777;
    return add_entry(TRY(normalise_path(path)), std::move(entry));
}

Result<void> Archive::add_file(std::string_view path, std::string data, uint32_t permissions)
{
    if (data.size() > max_field_value)
        return Error::with_code(EFBIG, cat("cpio: ", path, ": ", data.size(), " bytes is more than a newc header can describe (4 GiB - 1)"));
    Entry entry {};
    entry.kind = EntryKind::File;
    entry.permissions = permissions & 07777;
    entry.size = data.size();
    entry.data = std::move(data);
    return add_entry(TRY(normalise_path(path)), std::move(entry));
}

Result<void> Archive::add_file_from_path(std::string_view path, std::string const& source_path, std::optional<uint32_t> permissions)
{
    struct stat status;
    if (::stat(source_path.c_str(), &status) != 0)
        return Error::from_errno(cat("cpio: ", source_path, " (for /", TRY(normalise_path(path)), ")"));
    if (!S_ISREG(status.st_mode))
        return Error::invalid(cat("cpio: ", source_path, " is not a regular file"));
    if (static_cast<uint64_t>(status.st_size) > max_field_value)
        return Error::with_code(EFBIG, cat("cpio: ", source_path, ": ", static_cast<uint64_t>(status.st_size), " bytes is more than a newc header can describe (4 GiB - 1)"));
    Entry entry {};
    entry.kind = EntryKind::File;
    entry.permissions = permissions.value_or(status.st_mode) & 07777;
    entry.size = static_cast<uint64_t>(status.st_size);
    entry.source_path = source_path;
    return add_entry(TRY(normalise_path(path)), std::move(entry));
}

Result<void> Archive::add_symlink(std::string_view path, std::string_view target)
{
    if (target.empty())
        return Error::invalid(cat("cpio: ", path, ": a symlink needs a target"));
    Entry entry {};
    entry.kind = EntryKind::Symlink;
    entry.permissions = 0777;
    entry.target = std::string(target);
    entry.size = target.size();
    return add_entry(TRY(normalise_path(path)), std::move(entry));
}

Result<void> Archive::add_char_device(std::string_view path, uint32_t major, uint32_t minor, uint32_t permissions)
{
    Entry entry {};
    entry.kind = EntryKind::CharDevice;
    entry.permissions = permissions & 07777;
    entry.rdev_major = major;
    entry.rdev_minor = minor;
    return add_entry(TRY(normalise_path(path)), std::move(entry));
}

bool Archive::contains(std::string_view path) const
{
    auto normalised = normalise_path(path);
    return normalised.ok() && m_entries.contains(normalised.value());
}

uint64_t Archive::serialized_size() const
{
    uint64_t total = 0;
    for (auto const& [name, entry] : m_entries)
        total += entry_bytes(name, entry.kind == EntryKind::File || entry.kind == EntryKind::Symlink ? entry.size : 0);
    return total + entry_bytes(trailer_name, 0);
}

Result<uint64_t> Archive::write(Sink& sink) const
{
    // A directory's link count is 2 (its entry in the parent and its own
    // ".") plus one for each subdirectory's "..".
    std::map<std::string_view, uint64_t> subdirectories;
    for (auto const& [name, entry] : m_entries) {
        if (entry.kind != EntryKind::Directory)
            continue;
        auto slash = name.rfind('/');
        if (slash != std::string::npos)
            ++subdirectories[std::string_view(name).substr(0, slash)];
    }

    uint64_t written = 0;
    uint64_t inode = 1;
    for (auto const& [name, entry] : m_entries) {
        HeaderFields fields {};
        fields.inode = inode++;
        fields.mode = type_bits(entry.kind) | entry.permissions;
        fields.mtime = m_mtime;
        fields.nlink = 1;
        if (entry.kind == EntryKind::Directory) {
            auto found = subdirectories.find(name);
            fields.nlink = 2 + (found == subdirectories.end() ? 0 : found->second);
        }
        if (entry.kind == EntryKind::File || entry.kind == EntryKind::Symlink)
            fields.file_size = entry.size;
        if (entry.kind == EntryKind::CharDevice) {
            fields.rdev_major = entry.rdev_major;
            fields.rdev_minor = entry.rdev_minor;
        }
        std::string header = encode_header(fields, name);
        TRY(write_text(sink, header));
        written += header.size();
        if (entry.kind == EntryKind::File) {
            if (!entry.source_path.empty())
                TRY(copy_file(sink, entry.source_path, entry.size, name));
            else
                TRY(write_text(sink, entry.data));
        } else if (entry.kind == EntryKind::Symlink) {
            TRY(write_text(sink, entry.target));
        }
        uint64_t data_size = fields.file_size;
        TRY(write_zeros(sink, pad4(data_size)));
        written += data_size + pad4(data_size);
    }
    HeaderFields trailer {};
    trailer.nlink = 1;
    std::string header = encode_header(trailer, trailer_name);
    TRY(write_text(sink, header));
    written += header.size();
    return written;
}

Result<std::string> Archive::to_bytes(CompressionOptions const& options) const
{
    std::string out;
    StringSink string_sink(out);
    CompressionOptions with_size = options;
    if (!with_size.pledged_size)
        with_size.pledged_size = serialized_size();
    auto compressor = TRY(make_compressor(with_size, string_sink));
    TRY(write(*compressor));
    TRY(compressor->finish());
    return out;
}

} // namespace core::cpio
