// SPDX-License-Identifier: GPL-2.0-or-later
// The collector's makedumpfile command line (core_collector in kdump.conf
// reaches it): NUL-separated words through the option parser, then the
// rules that turn the request into a plan.
#include "tests/fuzz/fuzz_support.h"

#include "core/dump/makedumpfile.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    std::vector<std::string> words;
    for (auto part : fuzz::split_parts(fuzz::text_of(data, size), 64))
        words.emplace_back(part);
    auto request = core::parse_makedumpfile_arguments(words);
    if (request)
        (void)core::plan_makedumpfile(*request);
    return 0;
}
