// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/net/known_hosts.h"

#include "tests/unit/test_support.h"

#include <cstdlib>
#include <doctest.h>
#include <string>
#include <unistd.h>

namespace {

// Made with `ssh-keygen -t ecdsa -b 256 -C ''` and `ssh-keygen -t ed25519`;
// the hashed line is `ssh-keygen -H` of "[10.0.0.5]:2222 <ecdsa key>".
constexpr char const* ecdsa_type = "ecdsa-sha2-nistp256";
constexpr char const* ecdsa_key = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOpvphbFjQLYCmgdtg8Ow0GAj0BA7rDAaKKqsAV+0bVSZ6Pa0R8FzLnZZPH34L/WqwQIAhU5raVY81ggXfegLY4=";
constexpr char const* ecdsa_fingerprint = "SHA256:KhOQ5IWlfa9tElq2qr71jyvF4cNAmgR14KjRkK1GABI";
constexpr char const* ed25519_key = "AAAAC3NzaC1lZDI1NTE5AAAAIJDyLVcjreL9mYR25g8/Qa29IjKpO5Dwu7NR034m3E8e";
constexpr char const* hashed_line = "|1|hjxMKAtlHiciG8nOQvgVO8QA7sc=|Liu+cdFSGTih5oRP0yM9Ihwq578= ecdsa-sha2-nistp256 "
                                    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOpvphbFjQLYCmgdtg8Ow0GAj0BA7rDAaKKqsAV+0bVSZ6Pa0R8FzLnZZPH34L/WqwQIAhU5raVY81ggXfegLY4=";

std::vector<uint8_t> blob_of(char const* base64) { return core::base64_decode(base64, "test key").value(); }

core::KnownHostsEntry parse_ok(std::string const& line)
{
    auto parsed = core::parse_known_hosts_line(line, 7);
    REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? std::string() : parsed.error().message()));
    REQUIRE(parsed->has_value());
    return **parsed;
}

using TempDir = test_support::ScratchDir;

bool have_ssh_keygen() { return ::access("/usr/bin/ssh-keygen", X_OK) == 0 || !test_support::run_output("command -v ssh-keygen").empty(); }

} // namespace

TEST_CASE("known_hosts: base64 round trips and rejects garbage")
{
    std::vector<uint8_t> data { 'a', 'b', 'c', 'd', 'e' };
    for (size_t length = 0; length <= data.size(); ++length) {
        std::span<uint8_t const> part(data.data(), length);
        auto text = core::base64_encode(part);
        if (length == 0)
            continue;
        auto back = core::base64_decode(text, "x");
        REQUIRE(back.ok());
        CHECK(std::vector<uint8_t>(part.begin(), part.end()) == *back);
    }
    CHECK(core::base64_encode(data) == "YWJjZGU=");
    CHECK(core::base64_encode(data, false) == "YWJjZGU");
    CHECK_FALSE(core::base64_decode("YWJjZGU", "x").ok());
    CHECK_FALSE(core::base64_decode("YW*jZGU=", "x").ok());
    CHECK_FALSE(core::base64_decode("A===", "x").ok());
    CHECK_FALSE(core::base64_decode("", "x").ok());
    CHECK(core::base64_decode("YW J", "key").error().message() == "key: bad base64 character at position 2");
}

TEST_CASE("known_hosts: key types, blobs and fingerprints")
{
    CHECK(core::ssh_key_type_from_name("ssh-rsa") == core::SshKeyType::Rsa);
    CHECK(core::ssh_key_type_from_name("ecdsa-sha2-nistp521") == core::SshKeyType::EcdsaNistp521);
    CHECK_FALSE(core::ssh_key_type_from_name("ssh-dss").has_value());
    CHECK(core::ssh_key_type_supported(core::SshKeyType::EcdsaNistp384));
    CHECK_FALSE(core::ssh_key_type_supported(core::SshKeyType::Ed25519));
    auto error = core::unsupported_host_key_error("ssh-ed25519", "host key of backup");
    CHECK(error.errno_code() == ENOTSUP);
    CHECK(error.message().find("host key of backup: ssh-ed25519 keys are not supported") == 0);
    CHECK(error.message().find("ssh-keygen -t ecdsa") != std::string::npos);

    auto ecdsa = blob_of(ecdsa_key);
    CHECK(core::ssh_key_blob_type(ecdsa).value() == ecdsa_type);
    CHECK(core::ssh_fingerprint_sha256(ecdsa) == ecdsa_fingerprint);
    CHECK(core::ssh_key_blob_type(blob_of(ed25519_key)).value() == "ssh-ed25519");
    // Every truncation of a real blob is refused, never read past.
    for (size_t length = 0; length < ecdsa.size(); ++length)
        CHECK_FALSE(core::ssh_key_blob_type(std::span<uint8_t const>(ecdsa.data(), length)).ok());
}

TEST_CASE("known_hosts: plain entries match port 22 only, [host]:port other ports")
{
    auto plain = parse_ok(std::string("backup.example.com,10.0.0.5 ") + ecdsa_type + " " + ecdsa_key + " root@backup");
    CHECK(plain.line_number == 7);
    CHECK(plain.patterns.size() == 2);
    CHECK(plain.comment == "root@backup");
    CHECK(plain.key_type == core::SshKeyType::EcdsaNistp256);
    CHECK(plain.matches_host("backup.example.com", 22));
    CHECK(plain.matches_host("BACKUP.example.COM", 22));
    CHECK(plain.matches_host("10.0.0.5", 22));
    CHECK_FALSE(plain.matches_host("10.0.0.5", 2222)); // libssh2 would match this
    CHECK_FALSE(plain.matches_host("10.0.0.6", 22));

    auto ported = parse_ok(std::string("[10.0.0.5]:2222 ") + ecdsa_type + " " + ecdsa_key);
    CHECK(ported.matches_host("10.0.0.5", 2222));
    CHECK_FALSE(ported.matches_host("10.0.0.5", 22));
    CHECK_FALSE(ported.matches_host("10.0.0.5", 2223));

    auto wild = parse_ok(std::string("*.example.com,!evil.example.com ") + ecdsa_type + " " + ecdsa_key);
    CHECK(wild.matches_host("a.example.com", 22));
    CHECK_FALSE(wild.matches_host("evil.example.com", 22));
    CHECK_FALSE(wild.matches_host("example.org", 22));
    auto single = parse_ok(std::string("host?.lan ") + ecdsa_type + " " + ecdsa_key);
    CHECK(single.matches_host("host1.lan", 22));
    CHECK_FALSE(single.matches_host("host12.lan", 22));
}

TEST_CASE("known_hosts: hashed entries made by ssh-keygen -H")
{
    auto hashed = parse_ok(hashed_line);
    CHECK(hashed.hashed);
    CHECK(hashed.salt.size() == 20);
    CHECK(hashed.matches_host("10.0.0.5", 2222));
    CHECK_FALSE(hashed.matches_host("10.0.0.5", 22));
    CHECK_FALSE(hashed.matches_host("10.0.0.6", 2222));

    // Our own hashing agrees with ssh-keygen's.
    auto blob = blob_of(ecdsa_key);
    auto line = core::format_hashed_known_hosts_entry("10.0.0.5", 2222, ecdsa_type, blob, hashed.salt);
    REQUIRE(line.ok());
    CHECK(*line == hashed_line);
    CHECK_FALSE(core::format_hashed_known_hosts_entry("h", 22, ecdsa_type, blob, std::vector<uint8_t>(5)).ok());
}

TEST_CASE("known_hosts: comments, blank lines, markers and garbage")
{
    CHECK_FALSE(core::parse_known_hosts_line("", 1).value().has_value());
    CHECK_FALSE(core::parse_known_hosts_line("   \t \r", 1).value().has_value());
    CHECK_FALSE(core::parse_known_hosts_line("# a comment", 1).value().has_value());
    CHECK_FALSE(core::parse_known_hosts_line("  #indented", 1).value().has_value());

    auto revoked = parse_ok(std::string("@revoked * ") + ecdsa_type + " " + ecdsa_key);
    CHECK(revoked.marker == core::KnownHostsMarker::Revoked);
    auto authority = parse_ok(std::string("@cert-authority *.example.com ") + ecdsa_type + " " + ecdsa_key);
    CHECK(authority.marker == core::KnownHostsMarker::CertAuthority);
    auto unknown_type = parse_ok("old.example.com ssh-dss AAAAB3NzaC1kc3MAAAAA");
    CHECK_FALSE(unknown_type.key_type.has_value());

    std::string key(ecdsa_key);
    std::vector<std::string> bad {
        "host",
        std::string("host ") + ecdsa_type,
        std::string("@bogus host ") + ecdsa_type + " " + key,
        std::string("@revoked ") + ecdsa_type + " " + key,
        std::string("host ") + ecdsa_type + " " + key.substr(0, key.size() - 8),
        std::string("host ") + ecdsa_type + " " + key.substr(0, 40) + "====",
        std::string("host ssh-rsa ") + key,                // the blob says ecdsa
        std::string("host ") + ecdsa_type + " !!!!",       // not base64
        std::string("|1|abc|def ") + ecdsa_type + " " + key, // salt too short
        std::string("|1|onlysalt ") + ecdsa_type + " " + key,
        std::string("|2|x|y ") + ecdsa_type + " " + key,
        std::string("a,,b ") + ecdsa_type + " " + key,
        std::string("host ") + ecdsa_type + " AAAA",
        std::string("host\0x ", 7) + ecdsa_type + " " + key,
    };
    for (auto const& line : bad) {
        auto parsed = core::parse_known_hosts_line(line, 3);
        CHECK_MESSAGE(!parsed.ok(), line);
        if (!parsed.ok())
            CHECK(parsed.error().message().find("line 3: ") == 0);
    }
    // Every prefix of a good line either parses or is an error: no crash.
    std::string good = std::string("[h]:2 ") + ecdsa_type + " " + key;
    for (size_t length = 0; length <= good.size(); ++length)
        (void)core::parse_known_hosts_line(good.substr(0, length), 1);
}

TEST_CASE("known_hosts: match and verify with OpenSSH semantics")
{
    auto blob = blob_of(ecdsa_key);
    std::string text = std::string("# recorded by kdump propagate\n\n") + "[10.0.0.5]:2222 " + ecdsa_type + " " + ecdsa_key + "\n"
        + "garbage line\n" + "other.example.com " + ecdsa_type + " " + ecdsa_key + "\n" + "edonly.example.com ssh-ed25519 " + ed25519_key + "\n" + "@cert-authority ca.example.com " + ecdsa_type + " " + ecdsa_key + "\n";
    auto known = core::KnownHosts::parse(text, "/etc/kdump/known_hosts");
    CHECK(known.entries().size() == 4);
    REQUIRE(known.skipped().size() == 1);
    CHECK(known.skipped()[0].message().find("/etc/kdump/known_hosts: line 4: ") == 0);

    auto matched = known.match("10.0.0.5", 2222, ecdsa_type, blob);
    CHECK(matched.status == core::HostKeyStatus::Match);
    CHECK(matched.line_number == 3);
    CHECK(known.verify("10.0.0.5", 2222, blob).ok());
    CHECK(known.key_types_for("10.0.0.5", 2222) == std::vector<std::string> { ecdsa_type });

    // Plain entry, wrong port: unknown, and the message explains why.
    auto wrong_port = known.verify("other.example.com", 2222, blob);
    REQUIRE_FALSE(wrong_port.ok());
    CHECK(wrong_port.error().errno_code() == EPERM);
    CHECK(wrong_port.error().message().find("plain host entry is for port 22 only") != std::string::npos);
    CHECK(wrong_port.error().message().find(ecdsa_fingerprint) != std::string::npos);
    CHECK(wrong_port.error().message().find("kdump propagate") != std::string::npos);
    CHECK(known.verify("other.example.com", 22, blob).ok());

    // Same type, other key: a mismatch naming the line.
    auto other_blob = blob;
    other_blob.back() ^= 1;
    auto mismatch = known.verify("10.0.0.5", 2222, other_blob);
    REQUIRE_FALSE(mismatch.ok());
    CHECK(mismatch.error().message().find("HOST KEY MISMATCH for [10.0.0.5]:2222") == 0);
    CHECK(mismatch.error().message().find("/etc/kdump/known_hosts:3") != std::string::npos);
    CHECK(mismatch.error().message().find(core::ssh_fingerprint_sha256(other_blob)) != std::string::npos);

    // Only an Ed25519 key recorded: unusable, said so.
    auto ed_only = known.verify("edonly.example.com", 22, blob);
    REQUIRE_FALSE(ed_only.ok());
    CHECK(ed_only.error().message().find("records only ssh-ed25519 keys") != std::string::npos);
    CHECK(ed_only.error().message().find("ECDSA host key") != std::string::npos);

    auto ca_only = known.match("ca.example.com", 22, ecdsa_type, blob);
    CHECK(ca_only.status == core::HostKeyStatus::NotFound);
    CHECK(ca_only.only_cert_authority);

    auto absent = known.verify("nowhere.example.com", 22, blob);
    REQUIRE_FALSE(absent.ok());
    CHECK(absent.error().message().find("has no entry for it") != std::string::npos);
    CHECK(absent.error().message().find("1 malformed line(s) were skipped") != std::string::npos);

    // @revoked wins over a matching entry.
    auto revoked = core::KnownHosts::parse(text + "@revoked * " + ecdsa_type + " " + ecdsa_key + "\n", "kh");
    CHECK(revoked.match("10.0.0.5", 2222, ecdsa_type, blob).status == core::HostKeyStatus::Revoked);
    auto refused = revoked.verify("10.0.0.5", 2222, blob);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message().find("@revoked in kh:8") != std::string::npos);

    auto missing = core::KnownHosts::load("/nonexistent/known_hosts");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().errno_code() == ENOENT);
}

TEST_CASE("known_hosts: formatting for kdump propagate round trips")
{
    auto blob = blob_of(ecdsa_key);
    CHECK(core::format_known_hosts_entry("backup", 22, ecdsa_type, blob) == std::string("backup ") + ecdsa_type + " " + ecdsa_key);
    auto line = core::format_known_hosts_entry("Backup", 2222, ecdsa_type, blob);
    CHECK(line == std::string("[Backup]:2222 ") + ecdsa_type + " " + ecdsa_key);
    auto known = core::KnownHosts::parse(line, "kh");
    CHECK(known.verify("backup", 2222, blob).ok());
}

TEST_CASE("known_hosts: keys made by ssh-keygen, plain and hashed")
{
    if (!have_ssh_keygen())
        SKIP_TEST("ssh-keygen not found (openssh-client)");
    TempDir dir;
    struct Made {
        char const* args;
        char const* type;
    };
    Made const kinds[] = {
        { "-t rsa -b 2048", "ssh-rsa" },
        { "-t ecdsa -b 256", "ecdsa-sha2-nistp256" },
        { "-t ecdsa -b 384", "ecdsa-sha2-nistp384" },
        { "-t ecdsa -b 521", "ecdsa-sha2-nistp521" },
        { "-t ed25519", "ssh-ed25519" },
    };
    std::string plain;
    for (size_t i = 0; i < std::size(kinds); ++i) {
        std::string key = dir.path + "/key" + std::to_string(i);
        REQUIRE(std::system(("ssh-keygen -q -N '' -C test " + std::string(kinds[i].args) + " -f " + key + " >/dev/null 2>&1").c_str()) == 0);
        auto pub = test_support::run_output("cat " + key + ".pub");
        auto entry = parse_ok("[host" + std::to_string(i) + "]:2200 " + pub);
        CHECK(entry.key_type_name == kinds[i].type);
        CHECK(entry.comment == "test");
        // Our fingerprint is ssh-keygen's.
        auto listed = test_support::run_output("ssh-keygen -l -E sha256 -f " + key + ".pub");
        CHECK(listed.find(core::ssh_fingerprint_sha256(entry.key_blob)) != std::string::npos);
        plain += "[host" + std::to_string(i) + "]:2200 " + pub + "\n";
    }
    std::string file = dir.path + "/known_hosts";
    REQUIRE(std::system(("printf '%s' '" + plain + "' > " + file + " && ssh-keygen -q -H -f " + file + " >/dev/null 2>&1").c_str()) == 0);
    auto plain_known = core::KnownHosts::parse(plain, "plain");
    auto hashed_known = core::KnownHosts::load(file);
    REQUIRE(hashed_known.ok());
    REQUIRE(hashed_known->entries().size() == std::size(kinds));
    CHECK(hashed_known->skipped().empty());
    for (size_t i = 0; i < std::size(kinds); ++i) {
        auto const& hashed = hashed_known->entries()[i];
        CHECK(hashed.hashed);
        auto const& blob = plain_known.entries()[i].key_blob;
        std::string host = "host" + std::to_string(i);
        CHECK(hashed_known->match(host, 2200, kinds[i].type, blob).status == core::HostKeyStatus::Match);
        CHECK(hashed_known->match(host, 22, kinds[i].type, blob).status == core::HostKeyStatus::NotFound);
        CHECK(hashed_known->match("host9", 2200, kinds[i].type, blob).status == core::HostKeyStatus::NotFound);
    }
}
