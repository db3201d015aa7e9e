// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/dump/dump_output.h"

#include "core/base/strings.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace core {

namespace {

constexpr size_t stream_header_bytes = 4096;
constexpr size_t record_header_bytes = 16;
constexpr uint64_t stream_type = 1;
constexpr uint64_t stream_version = 1;
// "makedumpfile" and its NUL: makedumpfile -R and crash both compare this.
constexpr std::string_view stream_signature { "makedumpfile\0", 13 };
constexpr uint64_t end_marker = ~uint64_t(0); // int64 -1
// No real dump comes near 4 PiB; a record ending past it is corruption, and
// refusing it early beats a pwrite that makes a vast sparse file.
constexpr uint64_t max_dump_bytes = uint64_t(1) << 52;
constexpr size_t rebuild_chunk_bytes = 1 << 20;

// fsync, tolerating descriptors that cannot be synced (pipes, /dev/null):
// for them there is nothing to make durable.
Result<void> sync_output(int fd, std::string_view name)
{
    while (::fsync(fd) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EINVAL || errno == EROFS)
            return {};
        return Error::from_errno(cat("sync ", name));
    }
    return {};
}

Error extent_error(std::string_view name, uint64_t offset, size_t length)
{
    return Error::invalid(cat(name, ": refusing to write ", length, " bytes at offset ", hex(offset), ": a dump does not reach past ", hex(max_dump_bytes)));
}

// Reads until the buffer is full or the stream ends; returns the bytes read.
// Streams are read front to back (stdin may be a pipe or a socket).
Result<size_t> read_stream(int fd, std::span<uint8_t> buffer, std::string_view name)
{
    size_t done = 0;
    while (done < buffer.size()) {
        ssize_t got = ::read(fd, buffer.data() + done, buffer.size() - done);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                // A non-blocking stdin: wait for data rather than fail.
                pollfd waiting { fd, POLLIN, 0 };
                if (::poll(&waiting, 1, -1) < 0 && errno != EINTR)
                    return Error::from_errno(cat("wait for ", name));
                continue;
            }
            return Error::from_errno(cat("read ", name));
        }
        if (got == 0)
            break;
        done += static_cast<size_t>(got);
    }
    return done;
}

bool starts_with(std::span<uint8_t const> bytes, std::string_view prefix)
{
    return bytes.size() >= prefix.size()
        && std::equal(prefix.begin(), prefix.end(), bytes.begin(), [](char expected, uint8_t byte) { return byte == static_cast<uint8_t>(expected); });
}

// For a stream that is not flattened: say what it looks like instead.
std::string_view describe_unflattened(std::span<uint8_t const> head)
{
    if (starts_with(head, "KDUMP   ") || starts_with(head, "DISKDUMP"))
        return "it is a kdump-compressed dump already, which needs no rebuilding";
    if (starts_with(head, "\x7f"
                          "ELF"))
        return "it is an ELF file (an ELF dump needs no rebuilding)";
    return "it does not start with makedumpfile's flattened-format signature";
}

Error incomplete_stream(std::string_view input_name, std::string_view output_name, uint64_t stream_offset, std::string_view where)
{
    return Error::with_code(ENODATA,
        cat(input_name, ": the flattened stream ends at offset ", hex(stream_offset), ' ', where,
            ", before its end record: the sender stopped early and the dump is incomplete; what arrived is rebuilt in ", output_name));
}

} // namespace

// --- FileSink -------------------------------------------------------------

Result<void> FileSink::write_at(uint64_t offset, std::span<uint8_t const> data)
{
    if (m_finished)
        return Error::invalid(cat(m_name, ": write after the dump was finished"));
    if (data.empty())
        return {};
    auto end = checked_add(offset, data.size());
    if (!end || *end > max_dump_bytes)
        return extent_error(m_name, offset, data.size());
    TRY(pwrite_all(m_fd, data, offset, m_name));
    m_bytes_written = std::max(m_bytes_written, *end);
    if (data.size() >= writeback_min_bytes)
        start_writeback(offset, data.size());
    return {};
}

void FileSink::start_writeback(uint64_t offset, size_t length)
{
    if (!m_writeback_works)
        return;
    // Only a hint: a write error still surfaces at finish()'s fsync, so a
    // refusal here (a pipe, a file system without it) just stops the hints.
    if (::sync_file_range(m_fd, static_cast<off_t>(offset), static_cast<off_t>(length), SYNC_FILE_RANGE_WRITE) != 0) {
        m_writeback_works = false;
        return;
    }
    if (m_writeback_length != 0) {
        unsigned wait = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
        (void)::sync_file_range(m_fd, static_cast<off_t>(m_writeback_offset), static_cast<off_t>(m_writeback_length), wait);
    }
    m_writeback_offset = offset;
    m_writeback_length = length;
}

Result<void> FileSink::reserve(uint64_t offset, uint64_t length)
{
    if (length == 0)
        return {};
    auto end = checked_add(offset, length);
    if (!end || *end > max_dump_bytes)
        return extent_error(m_name, offset, length);
    if (::fallocate(m_fd, 0, static_cast<off_t>(offset), static_cast<off_t>(length)) != 0) {
        if (errno != EOPNOTSUPP && errno != ENOSYS)
            return Error::from_errno(cat(m_name, ": reserving ", length, " bytes at offset ", hex(offset), " for the dump's bitmaps and page descriptors"));
        // No fallocate here (some network file systems): allocate by writing.
        std::vector<uint8_t> zeros(static_cast<size_t>(std::min<uint64_t>(length, 1 << 20)), 0);
        for (uint64_t done = 0; done < length;) {
            uint64_t piece = std::min<uint64_t>(length - done, zeros.size());
            TRY(pwrite_all(m_fd, std::span<uint8_t const>(zeros.data(), static_cast<size_t>(piece)), offset + done, m_name));
            done += piece;
        }
    }
    m_bytes_written = std::max(m_bytes_written, *end);
    return {};
}

Result<void> FileSink::finish()
{
    if (m_finished)
        return {};
    TRY(sync_output(m_fd, m_name));
    m_finished = true;
    return {};
}

// --- FlattenedSink --------------------------------------------------------

FlattenedSink::FlattenedSink(int fd, std::string name)
    : m_fd(fd)
    , m_name(std::move(name))
{
}

Result<std::unique_ptr<FlattenedSink>> FlattenedSink::create(int fd, std::string name)
{
    std::unique_ptr<FlattenedSink> sink(new FlattenedSink(fd, std::move(name)));
    ByteWriter header(Endian::Big);
    header.put_string(0, stream_signature);
    header.put_u64(16, stream_type);
    header.put_u64(24, stream_version);
    header.resize(stream_header_bytes);
    TRY(sink->write_stream(header.bytes()));
    return sink;
}

Result<void> FlattenedSink::check_usable() const
{
    if (m_finished)
        return Error::invalid(cat(m_name, ": write after the flattened stream was finished"));
    if (m_failed_errno != 0)
        return Error::with_code(m_failed_errno, cat(m_name, ": an earlier write failed, so the flattened stream is cut short and cannot be continued"));
    return {};
}

Result<void> FlattenedSink::write_stream(std::span<uint8_t const> bytes)
{
    TRY(check_usable());
    auto written = write_all(m_fd, bytes, m_name);
    if (!written.ok())
        m_failed_errno = written.error().errno_code() != 0 ? written.error().errno_code() : EIO;
    return written;
}

Result<void> FlattenedSink::emit_record(uint64_t offset, std::span<uint8_t const> data)
{
    ByteWriter header(Endian::Big);
    header.put_u64(0, offset);
    header.put_u64(8, data.size());
    TRY(write_stream(header.bytes()));
    return write_stream(data);
}

Result<void> FlattenedSink::flush_pending()
{
    if (m_pending_bytes == 0)
        return {};
    m_pending.put_u64(0, m_pending_offset);
    m_pending.put_u64(8, m_pending_bytes);
    TRY(write_stream(m_pending.bytes()));
    m_pending.buffer().clear();
    m_pending_bytes = 0;
    return {};
}

Result<void> FlattenedSink::write_at(uint64_t offset, std::span<uint8_t const> data)
{
    TRY(check_usable());
    if (data.empty())
        return {};
    auto end = checked_add(offset, data.size());
    if (!end || *end > max_dump_bytes)
        return extent_error(m_name, offset, data.size());
    m_bytes_written = std::max(m_bytes_written, *end);

    while (!data.empty()) {
        // Starts inside or right at the end of the pending record: merge
        // as much as fits (an overwrite simply replaces buffered bytes).
        if (m_pending_bytes > 0 && offset >= m_pending_offset && offset - m_pending_offset <= m_pending_bytes) {
            size_t relative = static_cast<size_t>(offset - m_pending_offset);
            size_t taken = std::min(max_record_bytes - relative, data.size());
            if (taken > 0) {
                m_pending.put_bytes(record_header_bytes + relative, data.first(taken));
                m_pending_bytes = std::max(m_pending_bytes, relative + taken);
                offset += taken;
                data = data.subspan(taken);
            }
            if (data.empty())
                break;
            TRY(flush_pending());
            continue;
        }
        TRY(flush_pending());
        if (data.size() >= max_record_bytes) {
            // Big writes go out as they are, without a copy.
            TRY(emit_record(offset, data.first(max_record_bytes)));
            offset += max_record_bytes;
            data = data.subspan(max_record_bytes);
            continue;
        }
        if (m_pending.buffer().capacity() < record_header_bytes + max_record_bytes)
            m_pending.buffer().reserve(record_header_bytes + max_record_bytes);
        m_pending_offset = offset;
        m_pending.put_bytes(record_header_bytes, data);
        m_pending_bytes = data.size();
        break;
    }
    return {};
}

Result<void> FlattenedSink::finish()
{
    if (m_finished)
        return {};
    TRY(flush_pending());
    ByteWriter end_record(Endian::Big);
    end_record.put_u64(0, end_marker);
    end_record.put_u64(8, end_marker);
    TRY(write_stream(end_record.bytes()));
    TRY(sync_output(m_fd, m_name));
    m_finished = true;
    return {};
}

// --- Rebuilding (-R) ------------------------------------------------------

bool is_flattened_header(std::span<uint8_t const> head)
{
    ByteReader reader(head, Endian::Big, "flattened header");
    auto type = reader.u64(16);
    return starts_with(head, stream_signature) && type.ok() && type.value() == stream_type;
}

Result<void> rebuild_flattened(int input_fd, std::string const& input_name, int output_fd, std::string const& output_name)
{
    FileSink output(output_fd, output_name);
    TRY(rebuild_flattened_into(input_fd, input_name, output, output_name));
    return sync_output(output_fd, output_name);
}

Result<void> rebuild_flattened_into(int input_fd, std::string const& input_name, OutputSink& output, std::string const& output_name)
{
    std::array<uint8_t, stream_header_bytes> header {};
    size_t header_got = TRY(read_stream(input_fd, header, input_name));
    std::span<uint8_t const> head(header.data(), header_got);
    if (!is_flattened_header(head)) {
        if (header_got < 24)
            return Error::invalid(cat(input_name, ": only ", header_got, " bytes arrived, too few for a flattened stream header"));
        return Error::invalid(cat(input_name, ": not a flattened dump stream: ", describe_unflattened(head)));
    }
    if (header_got < stream_header_bytes)
        return incomplete_stream(input_name, output_name, header_got, "inside its 4096-byte header");

    std::vector<uint8_t> chunk(rebuild_chunk_bytes);
    uint64_t stream_offset = stream_header_bytes;
    while (true) {
        std::array<uint8_t, record_header_bytes> record_header {};
        size_t got = TRY(read_stream(input_fd, record_header, input_name));
        if (got < record_header_bytes)
            return incomplete_stream(input_name, output_name, stream_offset + got, got == 0 ? "between records" : "inside a record header");
        ByteReader reader(record_header, Endian::Big, "flattened record header");
        uint64_t dump_offset = TRY(reader.u64(0));
        uint64_t size_bytes = TRY(reader.u64(8));
        if (dump_offset == end_marker && size_bytes == end_marker)
            break;
        auto describe = [&] {
            return cat(input_name, ": corrupt flattened stream: the record at offset ", hex(stream_offset), " claims offset ",
                static_cast<int64_t>(dump_offset), " and size ", static_cast<int64_t>(size_bytes));
        };
        if (size_bytes == 0 || static_cast<int64_t>(dump_offset) < 0 || static_cast<int64_t>(size_bytes) < 0)
            return Error::invalid(describe());
        auto end = checked_add(dump_offset, size_bytes);
        if (!end || *end > max_dump_bytes)
            return Error::invalid(cat(describe(), ", past any plausible dump size (", hex(max_dump_bytes), ")"));
        stream_offset += record_header_bytes;

        uint64_t remaining = size_bytes;
        uint64_t write_offset = dump_offset;
        while (remaining > 0) {
            size_t wanted = static_cast<size_t>(std::min<uint64_t>(remaining, chunk.size()));
            size_t arrived = TRY(read_stream(input_fd, std::span(chunk.data(), wanted), input_name));
            // Keep whatever part of the record did arrive.
            if (arrived > 0)
                TRY(output.write_at(write_offset, std::span<uint8_t const>(chunk.data(), arrived)));
            stream_offset += arrived;
            if (arrived < wanted)
                return incomplete_stream(input_name, output_name, stream_offset, cat("inside a record of ", size_bytes, " bytes for dump offset ", hex(dump_offset)));
            remaining -= arrived;
            write_offset += arrived;
        }
    }
    return {};
}

} // namespace core
