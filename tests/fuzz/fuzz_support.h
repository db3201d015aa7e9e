// SPDX-License-Identifier: GPL-2.0-or-later
// What every libFuzzer harness of tests/fuzz/ shares: the input as a file
// (for parsers that take a path or an fd), the input as text, and a quiet
// log. A harness must never abort on bad input itself: only the code under
// test may, and then it is a finding.
#pragma once
#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/log.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <span>
#include <string>
#include <string_view>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace fuzz {

inline std::span<uint8_t const> bytes_of(uint8_t const* data, size_t size) { return { data, size }; }

inline std::string_view text_of(uint8_t const* data, size_t size)
{
    return { reinterpret_cast<char const*>(data), size };
}

// The input in an anonymous memory file: nothing is written outside memory,
// and /proc/self/fd/N names it for parsers that open a path.
class InputFile {
public:
    explicit InputFile(std::span<uint8_t const> bytes)
        : m_fd(::memfd_create("kdumpbox-fuzz-input", MFD_CLOEXEC))
    {
        if (!m_fd.valid() || !core::write_all(m_fd.get(), bytes, "fuzz input")) {
            std::perror("memfd for the fuzz input");
            std::abort(); // the machine, not the code under test
        }
    }
    int fd() const { return m_fd.get(); }
    std::string path() const { return "/proc/self/fd/" + std::to_string(m_fd.get()); }

private:
    core::UniqueFd m_fd;
};

// Parsers log warnings about what they skip; at libFuzzer's speed that
// would be all the run prints. KDUMPBOX_FUZZ_VERBOSE=1 keeps them (for
// reproducing a finding).
inline void quiet_log()
{
    static bool done = false;
    if (done)
        return;
    done = true;
    if (std::getenv("KDUMPBOX_FUZZ_VERBOSE"))
        return;
    int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd >= 0)
        core::log::set_console_for_testing(null_fd, nullptr);
}

// Several inputs in one: parts separated by a NUL byte (text formats have
// none of their own), at most max_parts (the last takes the rest).
inline std::vector<std::string_view> split_parts(std::string_view text, size_t max_parts)
{
    std::vector<std::string_view> parts;
    while (parts.size() + 1 < max_parts) {
        auto end = text.find('\0');
        if (end == std::string_view::npos)
            break;
        parts.push_back(text.substr(0, end));
        text.remove_prefix(end + 1);
    }
    parts.push_back(text);
    return parts;
}

} // namespace fuzz
