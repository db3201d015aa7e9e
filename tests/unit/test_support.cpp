// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/unit/test_support.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"

#include <fcntl.h>

#include <cstdio>
#include <utility>
#include <cstdlib>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>
#include <doctest.h>
#include <zlib.h>
#include <zstd.h>

namespace test_support {

// The compiler saw this file by a path relative to the build directory
// (which holds tests/unit-tests) or by an absolute one.
std::string source_path(std::string_view relative)
{
    std::string file = __FILE__;
    std::string test_dir = file.substr(0, file.rfind('/'));
    if (!file.starts_with('/')) {
        auto exe = core::self_executable_path();
        REQUIRE(exe.ok());
        std::string build_dir = exe->substr(0, exe->rfind('/'));
        build_dir = build_dir.substr(0, build_dir.rfind('/'));
        test_dir = core::cat(build_dir, "/", test_dir);
    }
    return core::cat(test_dir, "/../../", relative);
}

std::vector<uint8_t> gzip_bytes(std::vector<uint8_t> const& data)
{
    z_stream stream {};
    REQUIRE(deflateInit2(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::vector<uint8_t> out(deflateBound(&stream, data.size()) + 64);
    stream.next_in = const_cast<Bytef*>(data.data());
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = out.data();
    stream.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&stream, Z_FINISH) == Z_STREAM_END);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
}

std::vector<uint8_t> zstd_bytes(std::vector<uint8_t> const& data)
{
    std::vector<uint8_t> out(ZSTD_compressBound(data.size()));
    size_t size = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
    REQUIRE_FALSE(ZSTD_isError(size));
    out.resize(size);
    return out;
}

std::string run_output(std::string const& command)
{
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe)
        return out;
    char buffer[512];
    while (size_t got = std::fread(buffer, 1, sizeof buffer, pipe))
        out.append(buffer, got);
    ::pclose(pipe);
    while (!out.empty() && out.back() == '\n')
        out.pop_back();
    return out;
}

ScratchDir::ScratchDir(std::string const& prefix)
{
    std::string name = "/tmp/" + prefix + "-XXXXXX";
    REQUIRE(::mkdtemp(name.data()) != nullptr);
    path = name;
}

ScratchDir::~ScratchDir() { (void)!std::system(("rm -rf '" + path + "'").c_str()); }

std::string ScratchDir::write(std::string const& name, std::string_view text) const
{
    std::string file = path + "/" + name;
    auto fd = core::open_file(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd.ok());
    REQUIRE(core::write_all(fd.value().get(), text, file).ok());
    return file;
}

std::string run_in_new_network_namespace(std::function<std::string()> const& body)
{
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(pipe_fds[0]);
        std::string report = ::unshare(CLONE_NEWNET) == 0 ? body() : "SKIP unshare(CLONE_NEWNET) failed";
        (void)!::write(pipe_fds[1], report.data(), report.size());
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::string report;
    char buffer[512];
    ssize_t got;
    while ((got = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0)
        report.append(buffer, static_cast<size_t>(got));
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return "FAIL the namespace child died: " + report;
    return report;
}

namespace {
bool g_current_case_skipped = false;
}

void mark_skipped(std::string const& reason)
{
    g_current_case_skipped = true;
    std::printf("skipped: %s\n", reason.c_str());
}

bool take_skipped()
{
    return std::exchange(g_current_case_skipped, false);
}

} // namespace test_support
