// SPDX-License-Identifier: GPL-2.0-or-later
// Where a dump goes: a regular file written at random offsets, or
// makedumpfile's flattened stream (-F) for pipes, ssh and raw devices, where
// every write becomes an {offset, size} record. Writers use OutputSink and
// do not care which.
#pragma once

#include "core/base/bytes.h"
#include "core/base/error.h"
#include "core/base/fd.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace core {

class OutputSink {
public:
    virtual ~OutputSink() = default;
    // Writes data at offset. Writes may come in any order and may rewrite
    // earlier bytes (the header is patched at the end).
    virtual Result<void> write_at(uint64_t offset, std::span<uint8_t const> data) = 0;
    // Flushes and, for files, fsyncs. For a flattened stream, writes the
    // end record. After finish() no more writes.
    virtual Result<void> finish() = 0;
    // Whether bytes written earlier can be rewritten in place, so that an
    // incomplete dump's header flag can be set afterwards (not in a stream).
    virtual bool can_rewrite() const = 0;
    // Total bytes of dump written so far (excluding flattened framing).
    virtual uint64_t bytes_written() const = 0;
    // Makes sure [offset, offset + length) can be written later whatever
    // else fills the disk first: a writer reserves its metadata (bitmaps,
    // page descriptors) before the page data, so that a dump cut short by
    // ENOSPC still describes what it holds. Streams have nothing to reserve.
    virtual Result<void> reserve(uint64_t offset, uint64_t length)
    {
        (void)offset;
        (void)length;
        return {};
    }
};

// pwrite into a file the caller opened. finish() fsyncs it. Errors keep
// their errno (ENOSPC stays ENOSPC), and writing may go on after one: each
// write lands at its own offset. bytes_written() is the high-water mark,
// the size the file has: what makedumpfile reports as "Write bytes".
//
// Writeback starts as the dump is written, not at finish(): each write of
// at least writeback_min_bytes is handed to the disk at once
// (sync_file_range), and the one before it is waited for. The disk then
// works while pages are compressed, the final fsync has little left, and
// the page cache never holds more than about two writes of the dump dirty,
// which matters in a capture kernel's few megabytes.
class FileSink final : public OutputSink {
public:
    FileSink(int fd, std::string name) : m_fd(fd), m_name(std::move(name)) { }
    Result<void> write_at(uint64_t offset, std::span<uint8_t const> data) override;
    Result<void> finish() override;
    bool can_rewrite() const override { return true; }
    uint64_t bytes_written() const override { return m_bytes_written; }
    // fallocate(2); where the file system has none, zeros are written.
    Result<void> reserve(uint64_t offset, uint64_t length) override;

    static constexpr size_t writeback_min_bytes = 1 << 20;

private:
    void start_writeback(uint64_t offset, size_t length);

    int m_fd;
    std::string m_name;
    uint64_t m_bytes_written { 0 };
    bool m_finished { false };
    // The last range handed to the disk; waited for when the next one goes.
    uint64_t m_writeback_offset { 0 };
    uint64_t m_writeback_length { 0 };
    bool m_writeback_works { true }; // false where sync_file_range is refused
};

// makedumpfile's flattened format on a stream: a 4096-byte header
// ("makedumpfile", type 1, version 1, big-endian), then big-endian
// {int64 offset, int64 size} records each followed by its bytes, then a
// {-1, -1} end record written by finish().
//
// Writes that continue (or overwrite part of) the pending record are merged
// into it, so a sequential writer makes records of max_record_bytes instead
// of one per call: fewer records for crash to index. A write error is
// sticky: the stream may hold half a record, so later writes and finish()
// fail too (no end record, so -R reports the dump as incomplete).
//
// Rewrites of bytes already sent become a second record: -R applies them in
// order, but crash, which reads a stream directly, may serve the stale one
// (8.0.2 does). Writers should send each range once (header last, say).
// bytes_written() is the high-water mark of dump offsets: the size of the
// file -R rebuilds, framing excluded.
class FlattenedSink final : public OutputSink {
public:
    // makedumpfile emits 64 KiB records; larger ones are fine for its -R and
    // for crash (both stream or seek within a record), and 1 MiB keeps the
    // record count, which crash sorts when it opens the stream, small.
    static constexpr size_t max_record_bytes = 1 << 20;

    // Writes the stream header at once.
    static Result<std::unique_ptr<FlattenedSink>> create(int fd, std::string name);
    Result<void> write_at(uint64_t offset, std::span<uint8_t const> data) override;
    Result<void> finish() override;
    bool can_rewrite() const override { return false; }
    uint64_t bytes_written() const override { return m_bytes_written; }

private:
    FlattenedSink(int fd, std::string name);
    Result<void> flush_pending();
    Result<void> emit_record(uint64_t offset, std::span<uint8_t const> data);
    Result<void> write_stream(std::span<uint8_t const> bytes);
    Result<void> check_usable() const;

    int m_fd;
    std::string m_name;
    uint64_t m_bytes_written { 0 };
    // The record being gathered: 16 header bytes, then its data.
    ByteWriter m_pending { Endian::Big };
    uint64_t m_pending_offset { 0 };
    size_t m_pending_bytes { 0 };
    int m_failed_errno { 0 };
    bool m_finished { false };
};

// -R: reads a flattened stream from input_fd (a pipe is fine: it is read
// front to back, never seeked) and pwrites every record into output_fd,
// giving the file a direct write would have made; a later record wins over
// an earlier one at the same offsets. A bad signature, a record past sane
// bounds or a missing end record is an error naming the offset in the
// stream; what was rebuilt before it stays in output_fd. On success
// output_fd is fsynced.
Result<void> rebuild_flattened(int input_fd, std::string const& input_name, int output_fd, std::string const& output_name);

// The same into any sink (an SftpSink: the ssh target gets an ordinary
// file from a stream); the caller finish()es the sink.
Result<void> rebuild_flattened_into(int input_fd, std::string const& input_name, OutputSink& output, std::string const& output_name);

// Whether the first bytes of a file are a flattened stream header.
bool is_flattened_header(std::span<uint8_t const> head);

} // namespace core
