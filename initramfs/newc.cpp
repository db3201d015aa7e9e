// SPDX-License-Identifier: GPL-2.0-or-later
#include "initramfs/newc.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/strings.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace core::cpio {

namespace {

constexpr std::string_view newc_magic = "070701";
constexpr uint64_t header_bytes = 110; // magic + 13 fields of 8 hex digits
constexpr std::string_view trailer_name = "TRAILER!!!";
// The kernel's initramfs unpacker copies names into a PATH_MAX buffer.
constexpr size_t max_name_bytes = 4095;
constexpr uint64_t max_field_value = 0xffffffffu;
constexpr size_t copy_chunk_bytes = 256 * 1024;

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

Result<void> write_text(StreamSink& sink, std::string_view text)
{
    return sink.write({ reinterpret_cast<uint8_t const*>(text.data()), text.size() });
}

Result<void> write_zeros(StreamSink& sink, uint64_t count)
{
    static constexpr uint8_t zeros[4] = {};
    if (count == 0)
        return {};
    return sink.write({ zeros, static_cast<size_t>(count) });
}

// Streams exactly `size` bytes of source_path into the sink.
Result<void> copy_file(StreamSink& sink, std::string const& source_path, uint64_t size, std::string_view archive_path)
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

} // namespace

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

Result<uint64_t> Archive::write(StreamSink& sink) const
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
