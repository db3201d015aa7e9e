// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers more than one unit-test file needs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace test_support {

// A gzip file (RFC 1952) / a zstd frame of data, made with the libraries.
std::vector<uint8_t> gzip_bytes(std::vector<uint8_t> const& data);
std::vector<uint8_t> zstd_bytes(std::vector<uint8_t> const& data);

// A shell command's standard output, trailing newlines removed ("" if it
// could not run).
std::string run_output(std::string const& command);

// Runs body in a forked child inside a fresh network namespace and returns
// what it returned, or "SKIP ..." when the namespace cannot be made (not
// root). A child that dies without reporting gives "FAIL ...".
std::string run_in_new_network_namespace(std::function<std::string()> const& body);

// A file of the source tree (tests/data/..., tests/fuzz/regressions/...),
// by its path relative to the repository's top.
std::string source_path(std::string_view relative);

// A fresh directory under /tmp (mkdtemp with `prefix`), removed with all
// it holds when destroyed.
struct ScratchDir {
    std::string path;
    explicit ScratchDir(std::string const& prefix = "kdumpbox-test");
    ~ScratchDir();
    std::string operator/(std::string_view name) const { return path + "/" + std::string(name); }
    // Writes TEXT to NAME inside the directory (mode 0600); returns its path.
    std::string write(std::string const& name, std::string_view text) const;
    ScratchDir(ScratchDir const&) = delete;
    ScratchDir& operator=(ScratchDir const&) = delete;
};

// Marks the running test case as skipped (what it needs is missing here)
// and prints why. tests/unit/main.cpp counts such a case as skipped, not
// passed. Use SKIP_TEST, which also leaves the test case.
void mark_skipped(std::string const& reason);
// Whether the test case that just ended called mark_skipped; clears it.
bool take_skipped();

} // namespace test_support

#define SKIP_TEST(reason)                             \
    do {                                              \
        ::test_support::mark_skipped(reason);         \
        return;                                       \
    } while (0)
