// SPDX-License-Identifier: GPL-2.0-or-later
// Where a dump goes: a regular file written at random offsets, or
// makedumpfile's flattened stream (-F) for pipes, ssh and raw devices, where
// every write becomes an {offset, size} record. Writers use OutputSink and
// do not care which.
#pragma once

#include "core/error.h"
#include "core/fd.h"

#include <cstdint>
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
};

// pwrite into a file the caller opened. finish() fsyncs it.
class FileSink final : public OutputSink {
public:
    FileSink(int fd, std::string name) : m_fd(fd), m_name(std::move(name)) { }
    Result<void> write_at(uint64_t offset, std::span<uint8_t const> data) override;
    Result<void> finish() override;
    bool can_rewrite() const override { return true; }
    uint64_t bytes_written() const override { return m_bytes_written; }

private:
    int m_fd;
    std::string m_name;
    uint64_t m_bytes_written { 0 };
};

// makedumpfile's flattened format on a stream: a 4096-byte header
// ("makedumpfile", type 1, version 1, big-endian), then big-endian
// {int64 offset, int64 size} records each followed by its bytes, then a
// {-1, -1} end record written by finish().
class FlattenedSink final : public OutputSink {
public:
    // Writes the stream header at once.
    static Result<std::unique_ptr<FlattenedSink>> create(int fd, std::string name);
    Result<void> write_at(uint64_t offset, std::span<uint8_t const> data) override;
    Result<void> finish() override;
    bool can_rewrite() const override { return false; }
    uint64_t bytes_written() const override { return m_bytes_written; }

private:
    FlattenedSink(int fd, std::string name) : m_fd(fd), m_name(std::move(name)) { }
    int m_fd;
    std::string m_name;
    uint64_t m_bytes_written { 0 };
};

// -R: reads a flattened stream from input_fd and pwrites every record into
// output_fd, giving the file a direct write would have made. A bad
// signature, a record past sane bounds or a missing end record is an error
// naming the offset in the stream.
Result<void> rebuild_flattened(int input_fd, std::string const& input_name, int output_fd, std::string const& output_name);

// Whether the first bytes of a file are a flattened stream header.
bool is_flattened_header(std::span<uint8_t const> head);

} // namespace core
