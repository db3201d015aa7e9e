// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/dump/dump_output.h"

#include "core/base/bytes.h"
#include "core/base/strings.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <doctest.h>
#include <fcntl.h>
#include <random>
#include <string>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using Bytes = std::vector<uint8_t>;

core::UniqueFd scratch_file()
{
    int fd = ::memfd_create("kdumpbox-dump-output-test", MFD_CLOEXEC);
    REQUIRE(fd >= 0);
    return core::UniqueFd(fd);
}

Bytes contents(int fd)
{
    struct stat status;
    REQUIRE(::fstat(fd, &status) == 0);
    Bytes bytes(static_cast<size_t>(status.st_size));
    REQUIRE(core::pread_full(fd, bytes, 0, "scratch").value() == bytes.size());
    return bytes;
}

Bytes pattern(size_t size, uint32_t seed)
{
    std::mt19937 random(seed);
    Bytes bytes(size);
    for (auto& byte : bytes)
        byte = static_cast<uint8_t>(random());
    return bytes;
}

struct Record {
    uint64_t offset;
    Bytes data;
};

struct Stream {
    std::vector<Record> records;
    bool ended { false };
};

// Decodes a flattened stream strictly; fails the test on any deviation.
Stream parse_stream(Bytes const& bytes)
{
    core::ByteReader reader(bytes, core::Endian::Big, "stream");
    REQUIRE(bytes.size() >= 4096);
    CHECK(std::memcmp(bytes.data(), "makedumpfile\0\0\0\0", 16) == 0);
    CHECK(reader.u64(16).value() == 1);
    CHECK(reader.u64(24).value() == 1);
    for (size_t index = 32; index < 4096; ++index)
        REQUIRE(bytes[index] == 0);
    Stream stream;
    uint64_t offset = 4096;
    while (offset < bytes.size()) {
        uint64_t dump_offset = reader.u64(offset).value();
        uint64_t size = reader.u64(offset + 8).value();
        offset += 16;
        if (dump_offset == ~uint64_t(0) && size == ~uint64_t(0)) {
            stream.ended = true;
            REQUIRE(offset == bytes.size());
            break;
        }
        auto data = reader.bytes(offset, size).value();
        stream.records.push_back({ dump_offset, Bytes(data.begin(), data.end()) });
        offset += size;
    }
    return stream;
}

Bytes stream_header()
{
    Bytes header(4096, 0);
    std::memcpy(header.data(), "makedumpfile", 12);
    header[23] = 1; // type, big-endian
    header[31] = 1; // version
    return header;
}

void append_record(Bytes& stream, uint64_t offset, uint64_t size, Bytes const& data)
{
    core::ByteWriter header(core::Endian::Big);
    header.put_u64(0, offset);
    header.put_u64(8, size);
    stream.insert(stream.end(), header.bytes().begin(), header.bytes().end());
    stream.insert(stream.end(), data.begin(), data.end());
}

void append_end(Bytes& stream) { append_record(stream, ~uint64_t(0), ~uint64_t(0), {}); }

// Runs rebuild_flattened on `stream` fed through a pipe, as -R reads stdin.
struct RebuildOutcome {
    core::Result<void> result;
    Bytes output;
};

// A socket pair stands in for the pipe: it is read the same way, and
// send(MSG_NOSIGNAL) lets the feeder stop quietly when rebuild gives up
// early and closes its end.
RebuildOutcome rebuild_through_pipe(Bytes const& stream, Bytes const& initial_output = {})
{
    int socket_fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, socket_fds) == 0);
    core::UniqueFd read_end(socket_fds[0]);
    core::UniqueFd write_end(socket_fds[1]);
    std::thread feeder([&stream, fd = write_end.release()] {
        // Deliberately odd-sized writes: the reader must not rely on them.
        size_t done = 0;
        size_t step = 1;
        while (done < stream.size()) {
            size_t length = std::min(step, stream.size() - done);
            ssize_t written = ::send(fd, stream.data() + done, length, MSG_NOSIGNAL);
            if (written <= 0)
                break;
            done += static_cast<size_t>(written);
            step = step * 3 + 7;
        }
        ::close(fd);
    });
    auto output = scratch_file();
    if (!initial_output.empty())
        REQUIRE(core::pwrite_all(output.get(), initial_output, 0, "output").ok());
    auto result = core::rebuild_flattened(read_end.get(), "standard input", output.get(), "out.dump");
    read_end.reset();
    feeder.join();
    return { std::move(result), contents(output.get()) };
}

} // namespace

TEST_CASE("FileSink writes at any offset and reports the high-water mark")
{
    auto fd = scratch_file();
    core::FileSink sink(fd.get(), "scratch.dump");
    CHECK(sink.can_rewrite());
    Bytes tail = pattern(100, 1);
    Bytes head = pattern(50, 2);
    REQUIRE(sink.write_at(1000, tail).ok());
    REQUIRE(sink.write_at(0, head).ok());
    REQUIRE(sink.write_at(10, Bytes {}).ok()); // empty writes are no-ops
    CHECK(sink.bytes_written() == 1100);
    REQUIRE(sink.write_at(1000, Bytes(4, 0xee)).ok()); // a rewrite does not grow it
    CHECK(sink.bytes_written() == 1100);
    REQUIRE(sink.finish().ok());
    CHECK(sink.finish().ok()); // idempotent

    Bytes file = contents(fd.get());
    REQUIRE(file.size() == 1100);
    CHECK(std::equal(head.begin(), head.end(), file.begin()));
    CHECK(std::all_of(file.begin() + 50, file.begin() + 1000, [](uint8_t byte) { return byte == 0; }));
    CHECK(std::equal(file.begin() + 1000, file.begin() + 1004, Bytes(4, 0xee).begin()));
    CHECK(std::equal(tail.begin() + 4, tail.end(), file.begin() + 1004));

    auto late = sink.write_at(0, head);
    REQUIRE_FALSE(late.ok());
    CHECK(late.error().message().find("after the dump was finished") != std::string::npos);
}

TEST_CASE("FileSink: big writes start writeback as they go, and land where they were written")
{
    // Writes of writeback_min_bytes and more are handed to the disk at once
    // and the one before is waited for (the bench shows the effect); here,
    // that the bytes are still right, out of order and overlapping.
    auto fd = scratch_file();
    core::FileSink sink(fd.get(), "scratch.dump");
    size_t big = core::FileSink::writeback_min_bytes;
    Bytes first = pattern(big, 3);
    Bytes second = pattern(big + 4096, 4);
    Bytes third = pattern(2 * big, 5);
    REQUIRE(sink.write_at(big, second).ok());
    REQUIRE(sink.write_at(0, first).ok());
    REQUIRE(sink.write_at(2 * big + 4096, third).ok());
    REQUIRE(sink.write_at(big, Bytes(100, 0xaa)).ok()); // small: no writeback hint
    REQUIRE(sink.finish().ok());
    Bytes file = contents(fd.get());
    REQUIRE(file.size() == 4 * big + 4096);
    CHECK(std::equal(first.begin(), first.end(), file.begin()));
    CHECK(std::all_of(file.begin() + static_cast<std::ptrdiff_t>(big), file.begin() + static_cast<std::ptrdiff_t>(big) + 100, [](uint8_t byte) { return byte == 0xaa; }));
    CHECK(std::equal(second.begin() + 100, second.end(), file.begin() + static_cast<std::ptrdiff_t>(big) + 100));
    CHECK(std::equal(third.begin(), third.end(), file.begin() + static_cast<std::ptrdiff_t>(2 * big + 4096)));
}

TEST_CASE("FileSink keeps ENOSPC and refuses absurd offsets")
{
    // /dev/full fails every write with ENOSPC.
    auto full = core::open_file("/dev/full", O_WRONLY);
    if (full.ok()) {
        core::FileSink sink(full->get(), "/dev/full");
        auto result = sink.write_at(4096, pattern(10, 3));
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().errno_code() == ENOSPC);
        CHECK(result.error().message().find("/dev/full") != std::string::npos);
        CHECK(sink.bytes_written() == 0);
        CHECK(sink.finish().ok()); // /dev/full cannot be synced; that is not an error
    } else {
        MESSAGE("no /dev/full here: ENOSPC not tested");
    }

    auto fd = scratch_file();
    core::FileSink scratch(fd.get(), "scratch.dump");
    auto wrapped = scratch.write_at(~uint64_t(0) - 2, pattern(10, 4));
    REQUIRE_FALSE(wrapped.ok());
    CHECK(wrapped.error().message().find("refusing to write") != std::string::npos);
    CHECK_FALSE(scratch.write_at(uint64_t(1) << 62, pattern(1, 5)).ok());
    CHECK(contents(fd.get()).empty());
}

TEST_CASE("FileSink::reserve allocates the range, so later writes there need no new space")
{
    auto fd = scratch_file();
    core::FileSink sink(fd.get(), "scratch.dump");
    REQUIRE(sink.reserve(8192, 1 << 20).ok());
    struct stat status {};
    REQUIRE(::fstat(fd.get(), &status) == 0);
    CHECK(status.st_size == 8192 + (1 << 20));
    CHECK(status.st_blocks * 512 >= (1 << 20)); // allocated, not a hole
    CHECK(sink.bytes_written() == 8192 + (1 << 20));
    CHECK(sink.reserve(0, 0).ok());
    auto wrapped = sink.reserve(~uint64_t(0) - 2, 10);
    REQUIRE_FALSE(wrapped.ok());
    CHECK(wrapped.error().message().find("refusing to write") != std::string::npos);
    // Streams and the default sink have nothing to reserve.
    auto stream_fd = scratch_file();
    auto stream = core::FlattenedSink::create(stream_fd.get(), "stream").value();
    CHECK(stream->reserve(0, 1 << 20).ok());
    CHECK(stream->bytes_written() == 0);
}

TEST_CASE("FlattenedSink writes makedumpfile's header, records and end record")
{
    auto fd = scratch_file();
    auto sink = core::FlattenedSink::create(fd.get(), "stream").value();
    CHECK_FALSE(sink->can_rewrite());
    Bytes header_only = contents(fd.get());
    CHECK(header_only == stream_header());

    Bytes first = pattern(300, 6);
    Bytes second = pattern(200, 7);
    Bytes distant = pattern(64, 8);
    REQUIRE(sink->write_at(0, first).ok());
    REQUIRE(sink->write_at(300, second).ok()); // continues: merged
    REQUIRE(sink->write_at(100, Bytes(8, 0xaa)).ok()); // overwrites pending bytes: merged
    REQUIRE(sink->write_at(1 << 20, distant).ok()); // elsewhere: a new record
    CHECK(sink->bytes_written() == (1 << 20) + 64);
    REQUIRE(sink->finish().ok());
    CHECK_FALSE(sink->write_at(0, first).ok());

    Stream stream = parse_stream(contents(fd.get()));
    CHECK(stream.ended);
    REQUIRE(stream.records.size() == 2);
    CHECK(stream.records[0].offset == 0);
    Bytes expected = first;
    expected.insert(expected.end(), second.begin(), second.end());
    std::fill(expected.begin() + 100, expected.begin() + 108, uint8_t(0xaa));
    CHECK(stream.records[0].data == expected);
    CHECK(stream.records[1].offset == (1 << 20));
    CHECK(stream.records[1].data == distant);
}

TEST_CASE("FlattenedSink caps records at max_record_bytes")
{
    constexpr size_t cap = core::FlattenedSink::max_record_bytes;
    auto fd = scratch_file();
    auto sink = core::FlattenedSink::create(fd.get(), "stream").value();
    Bytes big = pattern(cap * 2 + 123, 9);
    REQUIRE(sink->write_at(5000, big).ok()); // large: split without merging
    // Many small sequential writes: merged up to the cap, then a new record.
    Bytes small = pattern(4096, 10);
    uint64_t offset = 1ull << 32;
    for (size_t index = 0; index < cap / 4096 + 3; ++index, offset += small.size())
        REQUIRE(sink->write_at(offset, small).ok());
    REQUIRE(sink->finish().ok());

    Stream stream = parse_stream(contents(fd.get()));
    REQUIRE(stream.records.size() == 5);
    for (auto const& record : stream.records) {
        CHECK(record.data.size() > 0);
        CHECK(record.data.size() <= cap);
    }
    CHECK(stream.records[0].offset == 5000);
    CHECK(stream.records[1].offset == 5000 + cap);
    CHECK(stream.records[2].offset == 5000 + 2 * cap);
    CHECK(stream.records[2].data.size() == 123);
    CHECK(stream.records[3].offset == (1ull << 32));
    CHECK(stream.records[3].data.size() == cap);
    CHECK(stream.records[4].data.size() == 3 * 4096);
}

TEST_CASE("FlattenedSink: a failed write is sticky and keeps its errno")
{
    auto full = core::open_file("/dev/full", O_WRONLY);
    if (full.ok()) {
        auto created = core::FlattenedSink::create(full->get(), "/dev/full");
        REQUIRE_FALSE(created.ok());
        CHECK(created.error().errno_code() == ENOSPC);
    }

    // A pipe whose reader went away: EPIPE (SIGPIPE ignored for the test).
    auto old_handler = ::signal(SIGPIPE, SIG_IGN);
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    core::UniqueFd read_end(pipe_fds[0]);
    core::UniqueFd write_end(pipe_fds[1]);
    auto sink = core::FlattenedSink::create(write_end.get(), "pipe").value();
    read_end.reset();
    REQUIRE(sink->write_at(0, pattern(100, 11)).ok()); // only buffered so far
    auto failed = sink->write_at(core::FlattenedSink::max_record_bytes * 4, pattern(core::FlattenedSink::max_record_bytes, 12));
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().errno_code() == EPIPE);
    auto again = sink->write_at(0, pattern(10, 13));
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().errno_code() == EPIPE);
    CHECK(again.error().message().find("cut short") != std::string::npos);
    CHECK(sink->finish().error().errno_code() == EPIPE);
    ::signal(SIGPIPE, old_handler);
}

TEST_CASE("a stream from FlattenedSink rebuilds into what FileSink writes")
{
    auto direct_fd = scratch_file();
    core::FileSink direct(direct_fd.get(), "direct");
    auto stream_fd = scratch_file();
    auto flattened = core::FlattenedSink::create(stream_fd.get(), "stream").value();

    // Random offsets and sizes, overlaps and rewrites included, the way a
    // dump writer patches its header at the end.
    std::mt19937 random(42);
    for (int index = 0; index < 400; ++index) {
        uint64_t offset = random() % (3 << 20);
        size_t size = random() % 3 == 0 ? random() % (1 << 21) : random() % 5000 + 1;
        Bytes data = pattern(size, random());
        REQUIRE(direct.write_at(offset, data).ok());
        REQUIRE(flattened->write_at(offset, data).ok());
    }
    Bytes header_patch = pattern(464, 77);
    REQUIRE(direct.write_at(0, header_patch).ok());
    REQUIRE(flattened->write_at(0, header_patch).ok());
    REQUIRE(direct.finish().ok());
    REQUIRE(flattened->finish().ok());
    CHECK(direct.bytes_written() == flattened->bytes_written());

    auto rebuilt = rebuild_through_pipe(contents(stream_fd.get()));
    REQUIRE(rebuilt.result.ok());
    Bytes expected = contents(direct_fd.get());
    CHECK(rebuilt.output.size() == expected.size());
    CHECK(rebuilt.output == expected);
}

TEST_CASE("rebuild_flattened: later records win, holes stay zero")
{
    Bytes stream = stream_header();
    append_record(stream, 10, 4, { 1, 2, 3, 4 });
    append_record(stream, 12, 4, { 9, 9, 9, 9 });
    append_record(stream, 0, 2, { 7, 7 });
    append_end(stream);
    stream.insert(stream.end(), 20, 0x55); // trailing bytes after the end are ignored
    auto rebuilt = rebuild_through_pipe(stream);
    REQUIRE(rebuilt.result.ok());
    CHECK(rebuilt.output == Bytes { 7, 7, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 9, 9, 9, 9 });
}

TEST_CASE("rebuild_flattened rejects what is not a flattened stream")
{
    auto message_of = [](Bytes const& stream) {
        auto rebuilt = rebuild_through_pipe(stream);
        REQUIRE_FALSE(rebuilt.result.ok());
        CHECK(rebuilt.output.empty());
        return rebuilt.result.error().message();
    };
    CHECK(message_of({}).find("only 0 bytes arrived") != std::string::npos);
    CHECK(message_of({ 'm', 'a', 'k', 'e' }).find("too few for a flattened stream header") != std::string::npos);

    Bytes kdump(8192, 0);
    std::memcpy(kdump.data(), "KDUMP   ", 8);
    CHECK(message_of(kdump).find("kdump-compressed dump already") != std::string::npos);
    Bytes elf(8192, 0);
    std::memcpy(elf.data(), "\x7f"
                            "ELF",
        4);
    CHECK(message_of(elf).find("ELF file") != std::string::npos);
    CHECK(message_of(pattern(8192, 14)).find("signature") != std::string::npos);

    Bytes wrong_type = stream_header();
    wrong_type[23] = 2;
    append_end(wrong_type);
    CHECK(message_of(wrong_type).find("not a flattened dump stream") != std::string::npos);

    Bytes no_terminator = stream_header();
    no_terminator[12] = 'X'; // "makedumpfileX": the signature must end with NUL
    append_end(no_terminator);
    CHECK(message_of(no_terminator).find("not a flattened dump stream") != std::string::npos);

    Bytes short_header = stream_header();
    short_header.resize(1000);
    auto error = message_of(short_header);
    CHECK(error.find("inside its 4096-byte header") != std::string::npos);
    CHECK(error.find("incomplete") != std::string::npos);
}

TEST_CASE("rebuild_flattened: a stream that stops early keeps what arrived")
{
    Bytes full_record = pattern(5000, 15);
    Bytes stream = stream_header();
    append_record(stream, 100, full_record.size(), full_record);

    SUBCASE("stops between records")
    {
        auto rebuilt = rebuild_through_pipe(stream);
        REQUIRE_FALSE(rebuilt.result.ok());
        CHECK(rebuilt.result.error().errno_code() == ENODATA);
        auto const& message = rebuilt.result.error().message();
        CHECK(message.find("standard input") != std::string::npos);
        CHECK(message.find(core::hex(4096 + 16 + 5000)) != std::string::npos);
        CHECK(message.find("incomplete") != std::string::npos);
        CHECK(message.find("out.dump") != std::string::npos);
        REQUIRE(rebuilt.output.size() == 5100);
        CHECK(std::equal(full_record.begin(), full_record.end(), rebuilt.output.begin() + 100));
    }
    SUBCASE("stops inside a record header")
    {
        stream.insert(stream.end(), { 0, 0, 0, 0, 0 });
        auto rebuilt = rebuild_through_pipe(stream);
        REQUIRE_FALSE(rebuilt.result.ok());
        CHECK(rebuilt.result.error().message().find("inside a record header") != std::string::npos);
        CHECK(rebuilt.output.size() == 5100);
    }
    SUBCASE("stops inside a record's data")
    {
        Bytes second = pattern(3000, 16);
        append_record(stream, 20000, second.size(), second);
        stream.resize(stream.size() - 1000);
        auto rebuilt = rebuild_through_pipe(stream);
        REQUIRE_FALSE(rebuilt.result.ok());
        auto const& message = rebuilt.result.error().message();
        CHECK(message.find("inside a record of 3000 bytes for dump offset 0x4e20") != std::string::npos);
        REQUIRE(rebuilt.output.size() == 20000 + 2000);
        CHECK(std::equal(second.begin(), second.begin() + 2000, rebuilt.output.begin() + 20000));
    }
    SUBCASE("earlier contents of the output survive")
    {
        auto rebuilt = rebuild_through_pipe(stream, Bytes(200, 0x33));
        REQUIRE_FALSE(rebuilt.result.ok());
        CHECK(std::all_of(rebuilt.output.begin(), rebuilt.output.begin() + 100, [](uint8_t byte) { return byte == 0x33; }));
    }
}

TEST_CASE("rebuild_flattened rejects corrupt records, naming their stream offset")
{
    Bytes good = pattern(16, 17);
    auto corrupt = [&](uint64_t offset, uint64_t size) {
        Bytes stream = stream_header();
        append_record(stream, 0, good.size(), good);
        append_record(stream, offset, size, {});
        append_end(stream);
        auto rebuilt = rebuild_through_pipe(stream);
        REQUIRE_FALSE(rebuilt.result.ok());
        CHECK(rebuilt.result.error().errno_code() == EINVAL);
        CHECK(rebuilt.output == good); // the good record was rebuilt
        auto const& message = rebuilt.result.error().message();
        CHECK(message.find("corrupt flattened stream: the record at offset 0x1020") != std::string::npos);
        return message;
    };
    CHECK(corrupt(~uint64_t(0), 16).find("claims offset -1 and size 16") != std::string::npos);
    CHECK(corrupt(uint64_t(1) << 63, 16).find("claims offset -9223372036854775808") != std::string::npos);
    CHECK(corrupt(0, 0).find("size 0") != std::string::npos);
    CHECK(corrupt(0, ~uint64_t(0) - 1).find("size -2") != std::string::npos);
    CHECK(corrupt(~uint64_t(0), 0).find("offset -1 and size 0") != std::string::npos);
    CHECK(corrupt(uint64_t(1) << 60, 4096).find("past any plausible dump size") != std::string::npos);
    CHECK(corrupt(uint64_t(1) << 40, (uint64_t(1) << 62)).find("past any plausible dump size") != std::string::npos);
}

TEST_CASE("rebuild_flattened keeps the output's errno")
{
    Bytes stream = stream_header();
    append_record(stream, 0, 4, { 1, 2, 3, 4 });
    append_end(stream);
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    core::UniqueFd read_end(pipe_fds[0]);
    core::UniqueFd write_end(pipe_fds[1]);
    REQUIRE(core::write_all(write_end.get(), stream, "pipe").ok());
    write_end.reset();
    auto full = core::open_file("/dev/full", O_WRONLY);
    if (!full.ok()) {
        MESSAGE("no /dev/full here: ENOSPC not tested");
        return;
    }
    auto result = core::rebuild_flattened(read_end.get(), "standard input", full->get(), "/dev/full");
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().errno_code() == ENOSPC);
}

TEST_CASE("is_flattened_header")
{
    Bytes header = stream_header();
    CHECK(core::is_flattened_header(header));
    CHECK(core::is_flattened_header(std::span(header).first(24)));
    CHECK_FALSE(core::is_flattened_header(std::span(header).first(23)));
    CHECK_FALSE(core::is_flattened_header({}));
    Bytes other_type = header;
    other_type[23] = 0;
    CHECK_FALSE(core::is_flattened_header(other_type));
    Bytes kdump = header;
    std::memcpy(kdump.data(), "KDUMP   ", 8);
    CHECK_FALSE(core::is_flattened_header(kdump));
}
