// SPDX-License-Identifier: GPL-2.0-or-later
// doctest's runner, plus the one summary line tests/run-all.sh adds up.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest.h>

#include "tests/unit/test_support.h"

#include <cstdio>

namespace {

struct SummaryListener : doctest::IReporter {
    unsigned skipped { 0 };

    explicit SummaryListener(doctest::ContextOptions const&) { }
    void report_query(doctest::QueryData const&) override { }
    void test_run_start() override { }
    void test_run_end(doctest::TestRunStats const& stats) override
    {
        unsigned failed = stats.numTestCasesFailed;
        unsigned passed = stats.numTestCasesPassingFilters - failed - skipped;
        std::printf("kdumpbox-test-summary: unit %u %u %u\n", passed, failed, skipped);
    }
    void test_case_start(doctest::TestCaseData const&) override { (void)test_support::take_skipped(); }
    void test_case_reenter(doctest::TestCaseData const&) override { }
    // A case that skipped itself and failed nothing counts as skipped.
    void test_case_end(doctest::CurrentTestCaseStats const& stats) override
    {
        if (test_support::take_skipped() && stats.testCaseSuccess)
            ++skipped;
    }
    void test_case_exception(doctest::TestCaseException const&) override { }
    void subcase_start(doctest::SubcaseSignature const&) override { }
    void subcase_end() override { }
    void log_assert(doctest::AssertData const&) override { }
    void log_message(doctest::MessageData const&) override { }
    void test_case_skipped(doctest::TestCaseData const&) override { }
};

} // namespace

REGISTER_LISTENER("kdumpbox-summary", 1, SummaryListener);

int main(int argc, char** argv)
{
    doctest::Context context(argc, argv);
    return context.run();
}
