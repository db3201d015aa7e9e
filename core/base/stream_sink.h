// SPDX-License-Identifier: GPL-2.0-or-later
// Sequential byte streams: where an archive, a compressor's output or a
// hash input goes, front to back. A chain is built from the far end: a
// compressor writes into a file sink, a tee feeds a hash and a compressor.
// (Dumps, whose headers are patched after the data, use the positional
// OutputSink of core/dump/dump_output.h instead.)
#pragma once

#include "core/base/error.h"

#include <cstdint>
#include <span>
#include <string>

namespace core {

// finish() flushes whatever the sink buffers and tells the next sink in
// the chain to finish.
class StreamSink {
public:
    virtual ~StreamSink() = default;
    virtual Result<void> write(std::span<uint8_t const> bytes) = 0;
    virtual Result<void> finish() = 0;
};

// Appends to a string the caller owns.
class StringSink final : public StreamSink {
public:
    explicit StringSink(std::string& out) : m_out(out) { }
    Result<void> write(std::span<uint8_t const> bytes) override;
    Result<void> finish() override { return {}; }

private:
    std::string& m_out;
};

// write(2)s to a descriptor the caller owns; counts the bytes.
class FdSink final : public StreamSink {
public:
    FdSink(int fd, std::string what) : m_fd(fd), m_what(std::move(what)) { }
    Result<void> write(std::span<uint8_t const> bytes) override;
    Result<void> finish() override { return {}; }
    uint64_t bytes_written() const { return m_bytes_written; }

private:
    int m_fd;
    std::string m_what;
    uint64_t m_bytes_written { 0 };
};

// Writes every byte to both sinks (neither owned); finish() finishes both,
// the first first.
class TeeSink final : public StreamSink {
public:
    TeeSink(StreamSink& first, StreamSink& second) : m_first(first), m_second(second) { }
    Result<void> write(std::span<uint8_t const> bytes) override;
    Result<void> finish() override;

private:
    StreamSink& m_first;
    StreamSink& m_second;
};

} // namespace core
