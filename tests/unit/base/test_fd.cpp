// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/fd.h"

#include <cstdlib>
#include <doctest.h>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace {

// A scratch file that removes itself.
struct TempFile {
    std::string path;
    TempFile()
    {
        char name[] = "/tmp/kdumpbox-test-XXXXXX";
        int fd = ::mkstemp(name);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = name;
    }
    ~TempFile() { ::unlink(path.c_str()); }
};

} // namespace

TEST_CASE("UniqueFd closes once and can release")
{
    int raw;
    {
        auto fd = core::open_file("/dev/null", O_RDONLY).value();
        raw = fd.get();
        CHECK(fd.valid());
        CHECK((::fcntl(raw, F_GETFD) & FD_CLOEXEC) != 0);
        core::UniqueFd moved = std::move(fd);
        CHECK_FALSE(fd.valid());
        CHECK(moved.get() == raw);
    }
    CHECK(::fcntl(raw, F_GETFD) == -1); // closed by the destructor

    auto fd = core::open_file("/dev/null", O_RDONLY).value();
    int released = fd.release();
    CHECK_FALSE(fd.valid());
    CHECK(::close(released) == 0);
}

TEST_CASE("open errors name the path and keep errno")
{
    auto missing = core::open_file("/nonexistent/kdumpbox", O_RDONLY);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().errno_code() == ENOENT);
    CHECK(missing.error().message() == "open /nonexistent/kdumpbox: No such file or directory");
}

TEST_CASE("write, pwrite and pread round trip; short reads are reported")
{
    TempFile file;
    auto fd = core::open_file(file.path, O_RDWR | O_TRUNC).value();
    REQUIRE(core::write_all(fd.get(), std::string_view("hello world"), "test").ok());
    std::string patch = "W";
    REQUIRE(core::pwrite_all(fd.get(), { reinterpret_cast<uint8_t const*>(patch.data()), 1 }, 6, "test").ok());

    uint8_t buffer[11];
    REQUIRE(core::pread_exact(fd.get(), buffer, 0, "test").ok());
    CHECK(std::string(reinterpret_cast<char*>(buffer), 11) == "hello World");

    uint8_t larger[16];
    CHECK(core::pread_full(fd.get(), larger, 4, "test").value() == 7);
    auto short_read = core::pread_exact(fd.get(), larger, 4, "vmcore");
    REQUIRE_FALSE(short_read.ok());
    CHECK(short_read.error().message() == "vmcore: file ends at offset 0xb, 9 bytes short of what its headers promise; it is truncated");
}

TEST_CASE("text files: read whole, with a size limit; write")
{
    TempFile file;
    REQUIRE(core::write_text_file(file.path, "1\n").ok());
    CHECK(core::read_text_file(file.path).value() == "1\n");
    CHECK_FALSE(core::read_text_file(file.path, 1).ok());
    // procfs reports size 0 but has content.
    CHECK(core::read_text_file("/proc/self/stat").value().size() > 0);
    CHECK(core::read_text_file("/nonexistent").error().errno_code() == ENOENT);
}

TEST_CASE("mappings unmap on destruction and move")
{
    TempFile file;
    auto fd = core::open_file(file.path, O_RDWR | O_TRUNC).value();
    std::string page(4096, 'k');
    REQUIRE(core::write_all(fd.get(), std::string_view(page), "test").ok());
    auto region = core::MappedRegion::map(fd.get(), 0, 4096, PROT_READ, MAP_SHARED, "test").value();
    CHECK(region.bytes().size() == 4096);
    CHECK(region.bytes()[4095] == 'k');
    core::MappedRegion moved = std::move(region);
    CHECK_FALSE(region.valid());
    CHECK(moved.valid());

    auto unaligned = core::MappedRegion::map(fd.get(), 1, 4096, PROT_READ, MAP_SHARED, "vmcore");
    REQUIRE_FALSE(unaligned.ok());
    CHECK(unaligned.error().errno_code() == EINVAL);
}
