// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/safe_file.h"

#include "core/base/clock.h"
#include "core/base/fd.h"
#include "core/base/fs.h"

#include <doctest.h>
#include "tests/unit/test_support.h"
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using test_support::ScratchDir;

std::string contents(std::string const& path) { return core::read_text_file(path).value_or(std::string("<unreadable>")); }

unsigned mode_of(std::string const& path)
{
    struct stat status;
    REQUIRE(::stat(path.c_str(), &status) == 0);
    return status.st_mode & 07777;
}

} // namespace

// --- SafeFile::create, as the capture saves files ----------------------------------

TEST_CASE("SafeFile writes NAME-incomplete with mode 0600, then renames on commit")
{
    ScratchDir dir("kdumpbox-safe-file");
    auto file = core::SafeFile::create(dir.path, "vmcore");
    REQUIRE(file.ok());
    CHECK(file->incomplete_path() == dir.path + "/vmcore-incomplete");
    CHECK(file->final_path() == dir.path + "/vmcore");
    CHECK(core::path_exists_no_follow(dir.path + "/vmcore-incomplete"));
    CHECK_FALSE(core::path_exists_no_follow(dir.path + "/vmcore"));
    CHECK(mode_of(dir.path + "/vmcore-incomplete") == 0600);

    REQUIRE(file->write(std::string_view("page data")).ok());
    REQUIRE(file->commit().ok());
    CHECK(file->committed());
    CHECK_FALSE(core::path_exists_no_follow(dir.path + "/vmcore-incomplete"));
    CHECK(contents(dir.path + "/vmcore") == "page data");
    CHECK(mode_of(dir.path + "/vmcore") == 0600);
    CHECK(file->commit().ok()); // again: nothing to do
    CHECK_FALSE(file->write(std::string_view("late")).ok());
}

TEST_CASE("SafeFile refuses an existing -incomplete file (O_EXCL) and an existing final file")
{
    ScratchDir dir("kdumpbox-safe-file");
    auto first = core::SafeFile::create(dir.path, "vmcore");
    REQUIRE(first.ok());
    auto second = core::SafeFile::create(dir.path, "vmcore");
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().errno_code() == EEXIST);
    CHECK(second.error().message().find("vmcore-incomplete already exists") != std::string::npos);

    REQUIRE(core::write_file_safely(dir.path, "vmcore-dmesg.txt", std::string_view("log")).ok());
    auto again = core::write_file_safely(dir.path, "vmcore-dmesg.txt", std::string_view("other"));
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().errno_code() == EEXIST);
    CHECK(contents(dir.path + "/vmcore-dmesg.txt") == "log");
    CHECK_FALSE(core::path_exists_no_follow(dir.path + "/vmcore-dmesg.txt-incomplete"));

    CHECK_FALSE(core::SafeFile::create(dir.path, "../escape").ok());
    CHECK_FALSE(core::SafeFile::create(dir.path, "").ok());
}

TEST_CASE("SafeFile destroyed without commit leaves the -incomplete file as evidence")
{
    ScratchDir dir("kdumpbox-safe-file");
    {
        auto file = core::SafeFile::create(dir.path, "vmcore").value();
        REQUIRE(file.write(std::string_view("half a dump")).ok());
    }
    CHECK(contents(dir.path + "/vmcore-incomplete") == "half a dump");
    CHECK_FALSE(core::path_exists_no_follow(dir.path + "/vmcore"));
}

TEST_CASE("SafeFile commit never replaces a file that appeared meanwhile")
{
    ScratchDir dir("kdumpbox-safe-file");
    auto file = core::SafeFile::create(dir.path, "vmcore").value();
    REQUIRE(file.write(std::string_view("new")).ok());
    {
        // Another writer, not through SafeFile.
        auto other = core::open_file(dir.path + "/vmcore", O_WRONLY | O_CREAT | O_EXCL, 0600).value();
        REQUIRE(core::write_all(other.get(), std::string_view("old"), "vmcore").ok());
    }
    auto committed = file.commit();
    REQUIRE_FALSE(committed.ok());
    CHECK(committed.error().errno_code() == EEXIST);
    CHECK(contents(dir.path + "/vmcore") == "old");
    CHECK(contents(dir.path + "/vmcore-incomplete") == "new");
}

TEST_CASE("SafeFile write_from copies a pipe until end of file")
{
    ScratchDir dir("kdumpbox-safe-file");
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::string payload(300000, 'x');
    payload += "end";
    FILE* writer = ::fdopen(fds[1], "w");
    REQUIRE(writer);
    // The pipe holds 64 KiB: write from a child so the copy can drain it.
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(fds[0]);
        std::fwrite(payload.data(), 1, payload.size(), writer);
        std::fclose(writer);
        ::_exit(0);
    }
    std::fclose(writer);
    auto file = core::SafeFile::create(dir.path, "vmcore-dmesg.txt").value();
    auto copied = file.write_from(fds[0], "pipe");
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(copied.ok());
    CHECK(*copied == payload.size());
    REQUIRE(file.commit().ok());
    CHECK(contents(dir.path + "/vmcore-dmesg.txt") == payload);
}

TEST_CASE("SafeFile create_replacing: written as NAME-incomplete, renamed over NAME on commit")
{
    ScratchDir dir("kdumpbox-safe-file");
    std::string final_path = dir.path + "/dump";
    REQUIRE(core::write_text_atomically(final_path, "old").ok());
    REQUIRE(core::write_text_atomically(final_path + "-incomplete-not-ours", "x").ok());
    {
        // A leftover -incomplete is truncated, not appended to.
        auto leftover = core::open_file(final_path + "-incomplete", O_WRONLY | O_CREAT | O_TRUNC, 0600).value();
        REQUIRE(core::write_all(leftover.get(), std::string_view("stale bytes from an earlier run"), "leftover").ok());
    }
    auto file = core::SafeFile::create_replacing(final_path, 0600);
    REQUIRE(file.ok());
    CHECK(file->incomplete_path() == final_path + "-incomplete");
    REQUIRE(file->write(std::string_view("new")).ok());
    CHECK(contents(final_path) == "old"); // readers see the old file until commit
    REQUIRE(file->commit().ok());
    CHECK(file->committed());
    CHECK(contents(final_path) == "new");
    CHECK_FALSE(core::path_exists(final_path + "-incomplete"));
    CHECK((mode_of(final_path) & 0077) == 0);
}

TEST_CASE("SafeFile: a write that never completes leaves no file under the final name")
{
    ScratchDir dir("kdumpbox-safe-file");
    std::string final_path = dir.path + "/vmcore";
    {
        auto file = core::SafeFile::create_replacing(final_path, 0600).value();
        REQUIRE(file.write(std::string_view("half a dump")).ok());
        // The writer fails here (disk full, stream cut): no commit.
    }
    CHECK_FALSE(core::path_exists(final_path));
    CHECK(contents(final_path + "-incomplete") == "half a dump");

    // A write error is returned, naming the -incomplete file.
    auto file = core::SafeFile::create_replacing(final_path, 0600).value();
    REQUIRE(file.commit().ok());
    auto late = file.write(std::string_view("more"));
    REQUIRE_FALSE(late.ok());
    CHECK(late.error().message().find(final_path + "-incomplete") != std::string::npos);
}

TEST_CASE("SafeFile Leftover::Remove: an unfinished file leaves nothing behind, a moved one is removed once")
{
    ScratchDir dir("kdumpbox-safe-file");
    std::string final_path = dir.path + "/initrd.img";
    REQUIRE(core::write_text_atomically(final_path, "old image").ok());
    {
        auto file = core::SafeFile::create_replacing(final_path, 0600, core::SafeFile::Leftover::Remove).value();
        REQUIRE(file.write(std::string_view("half an image")).ok());
        // Moving the file moves the duty to remove it: the moved-from object
        // must not remove it early, the new owner removes it at its end.
        core::SafeFile owner = std::move(file);
        CHECK(core::path_exists(final_path + "-incomplete"));
    }
    CHECK_FALSE(core::path_exists(final_path + "-incomplete"));
    CHECK(contents(final_path) == "old image");

    auto committed = core::SafeFile::create_replacing(final_path, 0600, core::SafeFile::Leftover::Remove).value();
    REQUIRE(committed.write(std::string_view("new image")).ok());
    REQUIRE(committed.commit().ok());
    CHECK(committed.commit().ok()); // once committed, again is a no-op
    CHECK(contents(final_path) == "new image");
}

TEST_CASE("SafeFile create_replacing: the mode is exact, whatever the umask or a leftover's mode")
{
    ScratchDir dir("kdumpbox-safe-file");
    std::string final_path = dir.path + "/known_hosts";
    {
        auto leftover = core::open_file(final_path + "-incomplete", O_WRONLY | O_CREAT | O_TRUNC, 0666).value();
        REQUIRE(::fchmod(leftover.get(), 0666) == 0);
    }
    mode_t old_umask = ::umask(0077);
    auto file = core::SafeFile::create_replacing(final_path, 0644);
    ::umask(old_umask);
    REQUIRE(file.ok());
    REQUIRE(file->commit().ok());
    CHECK((mode_of(final_path) & 0777) == 0644);
}

TEST_CASE("SafeFile adopt: a file another program wrote gets mode 0600 and its name")
{
    ScratchDir dir("kdumpbox-safe-file");
    std::string final_path = dir.path + "/vmcore";
    {
        auto written = core::open_file(final_path + "-incomplete", O_WRONLY | O_CREAT | O_TRUNC, 0644).value();
        REQUIRE(core::write_all(written.get(), std::string_view("external collector output"), "external").ok());
    }
    auto adopted = core::SafeFile::adopt(final_path);
    REQUIRE(adopted.ok());
    REQUIRE(adopted->commit().ok());
    CHECK(contents(final_path) == "external collector output");
    CHECK(mode_of(final_path) == 0600);
    CHECK_FALSE(core::path_exists(final_path + "-incomplete"));

    auto missing = core::SafeFile::adopt(dir.path + "/nothing");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message().find("nothing-incomplete") != std::string::npos);

    // A FIFO at the name neither blocks the open nor passes for a dump.
    REQUIRE(::mkfifo((dir.path + "/fifo-incomplete").c_str(), 0600) == 0);
    auto fifo = core::SafeFile::adopt(dir.path + "/fifo");
    REQUIRE_FALSE(fifo.ok());
    CHECK(fifo.error().message().find("is not a regular file") != std::string::npos);
}

TEST_CASE("write_text_atomically leaves no -incomplete file behind and replaces the old text")
{
    ScratchDir dir("kdumpbox-safe-file");
    std::string path = dir.path + "/digest";
    REQUIRE(core::write_text_atomically(path, "one\n").ok());
    REQUIRE(core::write_text_atomically(path, "two\n", 0600).ok());
    CHECK(contents(path) == "two\n");
    CHECK_FALSE(core::path_exists(path + "-incomplete"));
    auto nowhere = core::write_text_atomically(dir.path + "/missing/digest", "x");
    CHECK_FALSE(nowhere.ok());
}

TEST_CASE("rename_durably and fsync_directory report their errors")
{
    ScratchDir dir("kdumpbox-safe-file");
    auto missing = core::fsync_directory(dir.path + "/missing");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().errno_code() == ENOENT);
    auto not_directory = core::rename_durably(dir.path + "/a", dir.path + "/b");
    REQUIRE_FALSE(not_directory.ok());
    CHECK(not_directory.error().message().find("rename ") == 0);
    REQUIRE(core::write_text_atomically(dir.path + "/a", "a").ok());
    CHECK(core::rename_durably(dir.path + "/a", dir.path + "/b").ok());
    CHECK(contents(dir.path + "/b") == "a");
    // The directory sync after a rename is not best effort any more: a
    // rename into a directory that cannot be opened for the sync fails.
    // (Not reproducible without a file system that refuses it; the code
    // path is fsync_directory's, checked above.)
}

TEST_CASE("base_name, path_exists, make_directories, monotonic_ms")
{
    CHECK(core::base_name("/a/b") == "b");
    CHECK(core::base_name("/a/b/") == "b");
    CHECK(core::base_name("b") == "b");
    CHECK(core::base_name("/") == "/");
    CHECK(core::base_name("/usr/lib/systemd/systemd") == "systemd");

    ScratchDir dir("kdumpbox-safe-file");
    CHECK(core::path_exists(dir.path));
    CHECK_FALSE(core::path_exists(dir.path + "/none"));
    REQUIRE(::symlink("/nonexistent-kdumpbox", (dir.path + "/dangling").c_str()) == 0);
    CHECK_FALSE(core::path_exists(dir.path + "/dangling"));
    CHECK(core::path_exists_no_follow(dir.path + "/dangling"));

    REQUIRE(core::make_directories(dir.path + "/x/y/z", 0700).ok());
    CHECK(mode_of(dir.path + "/x/y/z") == 0700);
    REQUIRE(core::make_directories(dir.path + "/x/y/z").ok()); // existing is fine
    REQUIRE(core::write_text_atomically(dir.path + "/file", "f").ok());
    auto blocked = core::make_directories(dir.path + "/file/sub");
    REQUIRE_FALSE(blocked.ok());
    CHECK(blocked.error().errno_code() == ENOTDIR);
    REQUIRE(core::make_parent_directories(dir.path + "/p/q/leaf").ok());
    CHECK(core::path_exists(dir.path + "/p/q"));
    CHECK_FALSE(core::path_exists(dir.path + "/p/q/leaf"));

    uint64_t before = core::monotonic_ms();
    ::usleep(20 * 1000);
    CHECK(core::monotonic_ms() >= before + 15);
}
