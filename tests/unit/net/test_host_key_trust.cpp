// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/net/host_key_trust.h"

#include "core/base/strings.h"

#include <doctest.h>
#include <string>
#include <vector>

namespace {

// The keys of tests/unit/net/test_known_hosts.cpp.
constexpr char const* ecdsa_line = "[backup]:2222 ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOpvphbFjQLYCmgdtg8Ow0GAj0BA7rDAaKKqsAV+0bVSZ6Pa0R8FzLnZZPH34L/WqwQIAhU5raVY81ggXfegLY4=";
constexpr char const* ecdsa_fingerprint = "SHA256:KhOQ5IWlfa9tElq2qr71jyvF4cNAmgR14KjRkK1GABI";
constexpr char const* ed25519_line = "[backup]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJDyLVcjreL9mYR25g8/Qa29IjKpO5Dwu7NR034m3E8e";

std::string both() { return core::cat(ecdsa_line, "\n", ed25519_line, "\n"); }

} // namespace

TEST_CASE("host key fingerprint: SHA256 and 43 base64 characters, as ssh-keygen -l prints")
{
    CHECK(core::parse_host_key_fingerprint(ecdsa_fingerprint).value() == ecdsa_fingerprint);
    CHECK(core::parse_host_key_fingerprint(core::cat(ecdsa_fingerprint, "=")).value() == ecdsa_fingerprint);
    for (char const* bad : { "", "SHA256:", "KhOQ5IWlfa9tElq2qr71jyvF4cNAmgR14KjRkK1GABI", "MD5:12:34:56", "SHA256:KhOQ5IWlfa9tElq2qr71jyvF4cNAmgR14KjRkK1GAB",
             "SHA256:KhOQ5IWlfa9tElq2qr71jyvF4cNAmgR14KjRkK1GAB!", "sha256:KhOQ5IWlfa9tElq2qr71jyvF4cNAmgR14KjRkK1GABI" }) {
        auto refused = core::parse_host_key_fingerprint(bad);
        INFO(bad);
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().message().find("is not SHA256:<43 base64 characters>; give it as ssh-keygen -l prints it") != std::string::npos);
    }
}

TEST_CASE("host key trust: the fingerprint given picks its key; a mismatch is refused, naming what was offered")
{
    core::HostKeyTrust given { std::string(ecdsa_fingerprint), {} };
    auto trusted = core::trusted_host_keys(both(), "backup port 2222", given);
    REQUIRE(trusted.ok());
    CHECK(trusted.value() == core::cat(ecdsa_line, "\n"));

    core::HostKeyTrust wrong { std::string("SHA256:") + std::string(43, 'A'), {} };
    auto refused = core::trusted_host_keys(both(), "backup port 2222", wrong);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().errno_code() == EPERM);
    CHECK(refused.error().message().find("the host key of backup port 2222 is not SHA256:AAAA") == 0);
    CHECK(refused.error().message().find(core::cat("it offers ecdsa-sha2-nistp256 ", ecdsa_fingerprint, ", ssh-ed25519 SHA256:")) != std::string::npos);
    CHECK(refused.error().message().find('\n') == std::string::npos);
}

TEST_CASE("host key trust: asked when no fingerprint is given; no answer, no trust")
{
    std::vector<std::string> shown;
    core::HostKeyTrust yes { std::nullopt, [&](std::vector<std::string> const& keys) -> core::Result<bool> {
                                shown = keys;
                                return true;
                            } };
    auto trusted = core::trusted_host_keys(both(), "backup port 2222", yes);
    REQUIRE(trusted.ok());
    CHECK(trusted.value() == both());
    REQUIRE(shown.size() == 2);
    CHECK(shown[0] == core::cat("ecdsa-sha2-nistp256 ", ecdsa_fingerprint));

    core::HostKeyTrust no { std::nullopt, [](std::vector<std::string> const&) -> core::Result<bool> { return false; } };
    auto declined = core::trusted_host_keys(both(), "backup port 2222", no);
    REQUIRE_FALSE(declined.ok());
    CHECK(declined.error().message() == "the host key of backup port 2222 was not trusted; nothing was recorded");

    // Not a terminal and no fingerprint: refused, saying what to give.
    auto unattended = core::trusted_host_keys(both(), "backup port 2222", core::HostKeyTrust {});
    REQUIRE_FALSE(unattended.ok());
    CHECK(unattended.error().errno_code() == EPERM);
    CHECK(unattended.error().message().find("is not trusted without a check: give --host-key-fingerprint SHA256:...") != std::string::npos);
}
