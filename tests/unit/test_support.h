// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers more than one unit-test file needs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace test_support {

// A gzip file (RFC 1952) / a zstd frame of data, made with the libraries.
std::vector<uint8_t> gzip_bytes(std::vector<uint8_t> const& data);
std::vector<uint8_t> zstd_bytes(std::vector<uint8_t> const& data);

// A shell command's standard output, trailing newlines removed ("" if it
// could not run).
std::string run_output(std::string const& command);

} // namespace test_support
