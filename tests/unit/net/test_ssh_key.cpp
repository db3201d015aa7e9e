// SPDX-License-Identifier: GPL-2.0-or-later
// core/net/ssh_key: sshkey files made by the host's ssh-keygen in every
// format it writes, converted and checked against ssh-keygen's own view of
// them; hostile OpenSSH-format files refused, never read past.
#include "core/net/ssh_key.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/strings.h"
#include "tests/unit/test_support.h"

#include <cerrno>
#include <cstdlib>
#include <doctest.h>
#include <fcntl.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <string>
#include <vector>

namespace {

bool have_ssh_keygen() { return !test_support::run_output("command -v ssh-keygen").empty(); }

struct KeyDir : test_support::ScratchDir {
    KeyDir() : ScratchDir("kdumpbox-ssh-key-test") { }
    // ssh-keygen -t ... into NAME (and NAME.pub); args add -b, -m, -N.
    std::string make(std::string const& name, std::string const& args) const
    {
        std::string file = path + "/" + name;
        std::string command = "ssh-keygen -q -C kdumpbox-test " + args + " -f " + file + " </dev/null >/dev/null 2>&1";
        REQUIRE_MESSAGE(std::system(command.c_str()) == 0, command);
        return file;
    }
};

std::string read(std::string const& path) { return core::read_text_file(path).value(); }

// The base64 field of a public key line.
std::string key_field(std::string_view line) { return std::string(core::split(core::trim(line), ' ').at(1)); }

// mbedTLS itself reads the PEM text back, as libssh2 will.
bool mbedtls_reads(std::string const& pem)
{
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    bool ok = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, nullptr, 0) == 0
        && mbedtls_pk_parse_key(&pk, reinterpret_cast<unsigned char const*>(pem.c_str()), pem.size() + 1, nullptr, 0, mbedtls_ctr_drbg_random, &drbg) == 0;
    mbedtls_pk_free(&pk);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return ok;
}

// The decoded bytes of an OpenSSH-format key file, and back.
std::vector<uint8_t> unarmor(std::string const& text)
{
    std::string base64;
    bool inside = false;
    for (auto line : core::split(text, '\n')) {
        if (line.starts_with("-----BEGIN")) {
            inside = true;
            continue;
        }
        if (line.starts_with("-----END"))
            break;
        if (inside)
            base64 += core::trim(line);
    }
    return core::base64_decode(base64, "test key").value();
}

std::string armor(std::vector<uint8_t> const& bytes)
{
    std::string base64 = core::base64_encode(bytes);
    std::string text = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
    for (size_t i = 0; i < base64.size(); i += 70)
        text += base64.substr(i, 70) + "\n";
    return text + "-----END OPENSSH PRIVATE KEY-----\n";
}

uint32_t get_u32(std::vector<uint8_t> const& bytes, size_t offset) { return static_cast<uint32_t>(core::load_uint(bytes.data() + offset, 4, core::Endian::Big)); }
void set_u32(std::vector<uint8_t>& bytes, size_t offset, uint32_t value) { core::store_uint(bytes.data() + offset, 4, value, core::Endian::Big); }

// Offsets in an unencrypted key: magic (15), "none", "none", "" then the
// key count.
constexpr size_t key_count_offset = 15 + 8 + 8 + 4;

} // namespace

TEST_CASE("sshkey: OpenSSH-format RSA and ECDSA keys become PEM that mbedTLS and ssh-keygen read, with the same public key")
{
    if (!have_ssh_keygen())
        SKIP_TEST("ssh-keygen not installed");
    KeyDir dir;
    struct Case {
        char const* name;
        char const* args;
        char const* pem_header;
        core::SshKeyType type;
    };
    for (auto const& key_case : { Case { "rsa2048", "-t rsa -b 2048", "-----BEGIN RSA PRIVATE KEY-----", core::SshKeyType::Rsa },
             Case { "rsa3072", "-t rsa -b 3072", "-----BEGIN RSA PRIVATE KEY-----", core::SshKeyType::Rsa },
             Case { "ecdsa256", "-t ecdsa -b 256", "-----BEGIN EC PRIVATE KEY-----", core::SshKeyType::EcdsaNistp256 },
             Case { "ecdsa384", "-t ecdsa -b 384", "-----BEGIN EC PRIVATE KEY-----", core::SshKeyType::EcdsaNistp384 },
             Case { "ecdsa521", "-t ecdsa -b 521", "-----BEGIN EC PRIVATE KEY-----", core::SshKeyType::EcdsaNistp521 } }) {
        CAPTURE(key_case.name);
        std::string file = dir.make(key_case.name, std::string(key_case.args) + " -N ''");
        REQUIRE(read(file).starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        auto key = core::read_ssh_private_key(file);
        REQUIRE_MESSAGE(key.ok(), (key.ok() ? std::string() : key.error().message()));
        CHECK(key->file_format == core::SshKeyFileFormat::OpenSsh);
        CHECK(key->type == key_case.type);
        CHECK(key->comment == "kdumpbox-test");
        CHECK(key->pem.starts_with(key_case.pem_header));
        CHECK(mbedtls_reads(key->pem));
        // The public half equals the .pub ssh-keygen wrote...
        std::string pub = read(file + ".pub");
        CHECK(core::base64_encode(key->public_blob) == key_field(pub));
        CHECK(core::check_ssh_public_key_matches(key.value(), pub, file, file + ".pub").ok());
        // ...and OpenSSH derives the same public key from the PEM.
        std::string pem_file = dir.write(std::string(key_case.name) + ".pem", key->pem);
        CHECK(test_support::run_output("ssh-keygen -y -f " + pem_file).find(key_field(pub)) != std::string::npos);
        // The same key read twice gives the same text (the initramfs digest
        // does not change at every start).
        CHECK(core::read_ssh_private_key(file).value().pem == key->pem);
    }
}

TEST_CASE("sshkey: PEM keys (PKCS#1, SEC1, PKCS#8) are kept as they are")
{
    if (!have_ssh_keygen())
        SKIP_TEST("ssh-keygen not installed");
    KeyDir dir;
    for (auto const& [name, args] : { std::pair { "rsa-pem", "-t rsa -b 2048 -m PEM" }, std::pair { "ecdsa-pem", "-t ecdsa -b 256 -m PEM" },
             std::pair { "rsa-pkcs8", "-t rsa -b 2048 -m PKCS8" } }) {
        CAPTURE(name);
        std::string file = dir.make(name, std::string(args) + " -N ''");
        auto key = core::read_ssh_private_key(file);
        REQUIRE_MESSAGE(key.ok(), (key.ok() ? std::string() : key.error().message()));
        CHECK(key->file_format == core::SshKeyFileFormat::Pem);
        CHECK(key->pem == read(file));
        CHECK(core::base64_encode(key->public_blob) == key_field(read(file + ".pub")));
    }
}

TEST_CASE("sshkey: Ed25519 keys, keys with a passphrase and a wrong .pub are refused, saying what to do")
{
    if (!have_ssh_keygen())
        SKIP_TEST("ssh-keygen not installed");
    KeyDir dir;
    std::string ed25519 = dir.make("ed25519", "-t ed25519 -N ''");
    auto refused = core::read_ssh_private_key(ed25519);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().errno_code() == ENOTSUP);
    CHECK(refused.error().message() == "sshkey " + ed25519 + " is an Ed25519 key, which kdumpbox cannot use (its libssh2 with mbedTLS takes RSA and ECDSA keys only); make an RSA or ECDSA key: ssh-keygen -t ecdsa -N '' -f " + ed25519 + ", then run 'kdump propagate'");

    // A passphrase on an Ed25519 key: the type is what to fix.
    std::string ed25519_locked = dir.make("ed25519-locked", "-t ed25519 -N secret");
    CHECK(core::read_ssh_private_key(ed25519_locked).error().message().find("is an Ed25519 key") != std::string::npos);

    for (auto const& [name, args] : { std::pair { "rsa-locked", "-t rsa -b 2048 -N secret" }, std::pair { "ecdsa-locked", "-t ecdsa -N secret" },
             std::pair { "rsa-pem-locked", "-t rsa -b 2048 -m PEM -N secret" }, std::pair { "rsa-pkcs8-locked", "-t rsa -b 2048 -m PKCS8 -N secret" } }) {
        CAPTURE(name);
        std::string file = dir.make(name, args);
        auto locked = core::read_ssh_private_key(file);
        REQUIRE_FALSE(locked.ok());
        CHECK(locked.error().errno_code() == ENOTSUP);
        CHECK(locked.error().message() == "sshkey " + file + " has a passphrase; the capture kernel cannot ask for it: remove it with ssh-keygen -p -N '' -f " + file + " (or make a key without one), then run 'kdump start' again");
    }

    std::string dsa_like = dir.write("dsa", "-----BEGIN DSA PRIVATE KEY-----\nAAAA\n-----END DSA PRIVATE KEY-----\n");
    CHECK(core::read_ssh_private_key(dsa_like).error().message().find("is a DSA key, which kdumpbox cannot use") != std::string::npos);
    CHECK(core::parse_ssh_private_key("ssh-rsa AAAA", "/k").error().message() == "sshkey /k: neither an OpenSSH-format nor a PEM private key");
    CHECK(core::read_ssh_private_key(dir.path + "/missing").error().errno_code() == ENOENT);

    std::string one = dir.make("one", "-t ecdsa -N ''");
    std::string other = dir.make("other", "-t ecdsa -N ''");
    auto key = core::read_ssh_private_key(one).value();
    auto mismatch = core::check_ssh_public_key_matches(key, read(other + ".pub"), one, one + ".pub");
    REQUIRE_FALSE(mismatch.ok());
    CHECK(mismatch.error().message() == one + ".pub is not the public half of sshkey " + one + "; write it again with: ssh-keygen -y -f " + one + " > " + one + ".pub");
    CHECK_FALSE(core::check_ssh_public_key_matches(key, "garbage", one, one + ".pub").ok());
}

TEST_CASE("sshkey: hostile OpenSSH-format files are refused, never read past")
{
    if (!have_ssh_keygen())
        SKIP_TEST("ssh-keygen not installed");
    KeyDir dir;
    std::string file = dir.make("good", "-t ecdsa -b 256 -N ''");
    auto good = unarmor(read(file));
    REQUIRE(core::parse_openssh_private_key(armor(good), "good").ok());
    size_t public_length_offset = key_count_offset + 4;
    size_t private_length_offset = public_length_offset + 4 + get_u32(good, public_length_offset);
    size_t check_offset = private_length_offset + 4;
    REQUIRE(check_offset + 8 < good.size());

    auto refused = [](std::vector<uint8_t> const& bytes) {
        auto key = core::parse_openssh_private_key(armor(bytes), "bad");
        return key.ok() ? std::string() : key.error().message();
    };
    // Every truncation.
    for (size_t length = 0; length < good.size(); ++length) {
        CAPTURE(length);
        CHECK_FALSE(refused(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<long>(length))).empty());
    }
    SUBCASE("lengths past the end")
    {
        for (size_t offset : { size_t(15), public_length_offset, private_length_offset }) {
            CAPTURE(offset);
            for (uint32_t length : { 0xffffffffu, 0x7fffffffu, static_cast<uint32_t>(good.size()) }) {
                auto bytes = good;
                set_u32(bytes, offset, length);
                CHECK(refused(bytes).find("past the end") != std::string::npos);
            }
        }
    }
    SUBCASE("check numbers that differ")
    {
        auto bytes = good;
        set_u32(bytes, check_offset + 4, get_u32(bytes, check_offset) ^ 1);
        CHECK(refused(bytes).find("check numbers differ") != std::string::npos);
    }
    SUBCASE("a key count other than 1")
    {
        for (uint32_t count : { 0u, 2u, 0xffffffffu }) {
            auto bytes = good;
            set_u32(bytes, key_count_offset, count);
            CHECK(refused(bytes).find("holds " + std::to_string(count) + " keys") != std::string::npos);
        }
    }
    SUBCASE("bad magic, bad padding, a damaged scalar, trailing bytes")
    {
        auto bytes = good;
        bytes[3] ^= 0x20;
        CHECK(refused(bytes).find("bad magic") != std::string::npos);
        bytes = good;
        if (good.back() < 8) {
            bytes.back() ^= 0x40;
            CHECK(refused(bytes).find("padding") != std::string::npos);
        }
        // The scalar's last byte sits before the comment (13 bytes
        // "kdumpbox-test" and its length) and the padding.
        size_t padding = good.back() < 8 ? good.back() : 0;
        bytes = good;
        bytes[good.size() - padding - 17 - 1] ^= 1;
        CHECK(refused(bytes).find("does not give the public point") != std::string::npos);
        bytes = good;
        bytes.push_back(0);
        CHECK_FALSE(refused(bytes).empty());
    }
    SUBCASE("a cipher other than none is a passphrase")
    {
        // Same length: "none" -> "aaaa" keeps every offset.
        auto bytes = good;
        bytes[15 + 4] = 'a';
        CHECK(refused(bytes).find("has a passphrase") != std::string::npos);
    }
}
