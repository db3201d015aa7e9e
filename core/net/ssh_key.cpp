// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/net/ssh_key.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/strings.h"
#include "core/net/ssh_wire.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <memory>
#include <optional>

namespace core {

namespace {

constexpr std::string_view openssh_begin = "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr std::string_view openssh_end = "-----END OPENSSH PRIVATE KEY-----";
constexpr std::string_view openssh_magic { "openssh-key-v1\0", 15 };
// ssh-keygen makes RSA keys of at most 16384 bits; a file is far smaller.
constexpr size_t max_key_file_bytes = 64 << 10;
constexpr size_t max_rsa_modulus_bytes = 16384 / 8;
// PKCS#1 PEM of a 16384-bit key is about 12 KiB.
constexpr size_t pem_buffer_bytes = 32 << 10;
// The private section's padding makes it a multiple of the cipher's block
// size, 8 for "none".
constexpr size_t unencrypted_block_bytes = 8;

std::string mbedtls_message(int code)
{
    std::array<char, 160> text {};
    mbedtls_strerror(code, text.data(), text.size());
    return cat(text.data(), " (mbedTLS -0x", hex(static_cast<uint64_t>(-code)), ")");
}

// Zeroes secret bytes when they go (the PEM buffers, decoded key files).
struct Wiped {
    std::vector<uint8_t> bytes;
    Wiped() = default;
    Wiped(Wiped&&) = default;
    Wiped& operator=(Wiped&&) = default;
    ~Wiped()
    {
        if (!bytes.empty())
            mbedtls_platform_zeroize(bytes.data(), bytes.size());
    }
};

struct PkContext {
    mbedtls_pk_context pk;
    PkContext() { mbedtls_pk_init(&pk); }
    ~PkContext() { mbedtls_pk_free(&pk); }
    PkContext(PkContext const&) = delete;
    PkContext& operator=(PkContext const&) = delete;
};

// mbedTLS wants a random generator for EC arithmetic (blinding) and for
// parsing; seeded once from the kernel.
struct Random {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    int seeded;
    Random()
    {
        mbedtls_entropy_init(&entropy);
        mbedtls_ctr_drbg_init(&drbg);
        static constexpr char personal[] = "kdumpbox ssh_key";
        seeded = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, reinterpret_cast<unsigned char const*>(personal), sizeof personal - 1);
    }
    ~Random()
    {
        mbedtls_ctr_drbg_free(&drbg);
        mbedtls_entropy_free(&entropy);
    }
};

Result<mbedtls_ctr_drbg_context*> random_generator()
{
    static Random random;
    if (random.seeded != 0)
        return Error::with_code(EIO, cat("seeding mbedTLS's random generator failed: ", mbedtls_message(random.seeded)));
    return &random.drbg;
}

struct CurveInfo {
    SshKeyType type;
    std::string_view curve; // the name inside the blob
    mbedtls_ecp_group_id group;
    size_t field_bytes;
};

constexpr std::array<CurveInfo, 3> curves { {
    { SshKeyType::EcdsaNistp256, "nistp256", MBEDTLS_ECP_DP_SECP256R1, 32 },
    { SshKeyType::EcdsaNistp384, "nistp384", MBEDTLS_ECP_DP_SECP384R1, 48 },
    { SshKeyType::EcdsaNistp521, "nistp521", MBEDTLS_ECP_DP_SECP521R1, 66 },
} };

std::optional<CurveInfo> curve_of(SshKeyType type)
{
    for (auto const& info : curves) {
        if (info.type == type)
            return info;
    }
    return std::nullopt;
}

std::optional<CurveInfo> curve_of(mbedtls_ecp_group_id group)
{
    for (auto const& info : curves) {
        if (info.group == group)
            return info;
    }
    return std::nullopt;
}

void put_string(std::vector<uint8_t>& out, std::span<uint8_t const> bytes)
{
    uint8_t length[4];
    store_uint(length, 4, bytes.size(), Endian::Big);
    out.insert(out.end(), length, length + 4);
    out.insert(out.end(), bytes.begin(), bytes.end());
}

void put_string(std::vector<uint8_t>& out, std::string_view text) { put_string(out, std::span(reinterpret_cast<uint8_t const*>(text.data()), text.size())); }

// An mpint from an unsigned big-endian number: a leading zero byte when
// the top bit is set.
void put_mpint(std::vector<uint8_t>& out, std::span<uint8_t const> magnitude)
{
    while (!magnitude.empty() && magnitude[0] == 0)
        magnitude = magnitude.subspan(1);
    std::vector<uint8_t> value;
    if (!magnitude.empty() && (magnitude[0] & 0x80))
        value.push_back(0);
    value.insert(value.end(), magnitude.begin(), magnitude.end());
    put_string(out, value);
}

Result<std::vector<uint8_t>> mpi_bytes(mbedtls_mpi const& number)
{
    std::vector<uint8_t> bytes(mbedtls_mpi_size(&number));
    if (int rc = mbedtls_mpi_write_binary(&number, bytes.data(), bytes.size()); rc != 0)
        return Error::with_code(EIO, cat("writing a number: ", mbedtls_message(rc)));
    return bytes;
}

// The SSH public key blob of a parsed RSA or ECDSA key.
Result<std::vector<uint8_t>> public_blob_of(mbedtls_pk_context const& pk, SshKeyType& type)
{
    std::vector<uint8_t> blob;
    if (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_RSA) {
        mbedtls_mpi n, e;
        mbedtls_mpi_init(&n);
        mbedtls_mpi_init(&e);
        int rc = mbedtls_rsa_export(mbedtls_pk_rsa(pk), &n, nullptr, nullptr, nullptr, &e);
        Result<std::vector<uint8_t>> n_bytes = rc == 0 ? mpi_bytes(n) : Error::with_code(EIO, mbedtls_message(rc));
        Result<std::vector<uint8_t>> e_bytes = rc == 0 ? mpi_bytes(e) : Error::with_code(EIO, mbedtls_message(rc));
        mbedtls_mpi_free(&n);
        mbedtls_mpi_free(&e);
        if (!n_bytes || !e_bytes)
            return Error::with_code(EIO, cat("the RSA key's public numbers: ", (!n_bytes ? n_bytes : e_bytes).error().message()));
        type = SshKeyType::Rsa;
        put_string(blob, ssh_key_type_name(type));
        put_mpint(blob, e_bytes.value());
        put_mpint(blob, n_bytes.value());
        return blob;
    }
    auto const* keypair = mbedtls_pk_ec(pk);
    auto curve = curve_of(mbedtls_ecp_keypair_get_group_id(keypair));
    if (!curve)
        return Error::unsupported("an EC key on a curve SSH does not use (only P-256, P-384 and P-521)");
    std::array<uint8_t, 1 + 2 * 66> point {};
    size_t point_bytes = 0;
    if (int rc = mbedtls_ecp_write_public_key(keypair, MBEDTLS_ECP_PF_UNCOMPRESSED, &point_bytes, point.data(), point.size()); rc != 0)
        return Error::with_code(EIO, cat("the EC key's public point: ", mbedtls_message(rc)));
    type = curve->type;
    put_string(blob, ssh_key_type_name(type));
    put_string(blob, curve->curve);
    put_string(blob, std::span<uint8_t const>(point.data(), point_bytes));
    return blob;
}

Result<std::string> write_pem(mbedtls_pk_context const& pk)
{
    Wiped buffer;
    buffer.bytes.resize(pem_buffer_bytes);
    if (int rc = mbedtls_pk_write_key_pem(&pk, buffer.bytes.data(), buffer.bytes.size()); rc != 0)
        return Error::with_code(EIO, cat("writing the key as PEM: ", mbedtls_message(rc)));
    return std::string(reinterpret_cast<char const*>(buffer.bytes.data()));
}

// The decoded bytes between the BEGIN and END lines.
Result<Wiped> openssh_armor_bytes(std::string_view text, std::string_view key_path)
{
    auto begin = text.find(openssh_begin);
    auto end = text.find(openssh_end);
    if (begin == std::string_view::npos || end == std::string_view::npos || end < begin)
        return Error::invalid(cat("sshkey ", key_path, ": no '", openssh_begin, "' ... '", openssh_end, "' block"));
    std::string base64;
    for (char c : text.substr(begin + openssh_begin.size(), end - begin - openssh_begin.size())) {
        if (c != '\n' && c != '\r' && c != ' ' && c != '\t')
            base64.push_back(c);
    }
    auto decoded = base64_decode(base64, cat("sshkey ", key_path));
    mbedtls_platform_zeroize(base64.data(), base64.size());
    Wiped out;
    out.bytes = TRY(std::move(decoded));
    return out;
}

Result<SshPrivateKey> convert_rsa(SshWireReader& fields, std::span<uint8_t const> public_blob, std::string_view what)
{
    auto n = TRY(fields.unsigned_mpint("the RSA modulus n"));
    auto e = TRY(fields.unsigned_mpint("the RSA exponent e"));
    auto d = TRY(fields.unsigned_mpint("the RSA private exponent d"));
    TRY(fields.unsigned_mpint("the RSA coefficient iqmp")); // mbedTLS derives it again
    auto p = TRY(fields.unsigned_mpint("the RSA prime p"));
    auto q = TRY(fields.unsigned_mpint("the RSA prime q"));
    if (n.size() > max_rsa_modulus_bytes)
        return Error::unsupported(cat(what, ": an RSA modulus of ", n.size() * 8, " bits (at most 16384)"));
    PkContext key;
    if (int rc = mbedtls_pk_setup(&key.pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)); rc != 0)
        return Error::with_code(ENOMEM, cat(what, ": ", mbedtls_message(rc)));
    auto* rsa = mbedtls_pk_rsa(key.pk);
    int rc = mbedtls_rsa_import_raw(rsa, n.data(), n.size(), p.data(), p.size(), q.data(), q.size(), d.data(), d.size(), e.data(), e.size());
    if (rc == 0)
        rc = mbedtls_rsa_complete(rsa);
    if (rc == 0)
        rc = mbedtls_rsa_check_privkey(rsa);
    if (rc != 0)
        return Error::invalid(cat(what, ": the RSA numbers do not make a key: ", mbedtls_message(rc)));
    SshPrivateKey out;
    out.public_blob = TRY(public_blob_of(key.pk, out.type).context(what));
    if (!std::equal(out.public_blob.begin(), out.public_blob.end(), public_blob.begin(), public_blob.end()))
        return Error::invalid(cat(what, ": the private key is not the one its public key section names"));
    out.pem = TRY(write_pem(key.pk).context(what));
    return out;
}

Result<SshPrivateKey> convert_ecdsa(SshWireReader& fields, CurveInfo const& curve, std::span<uint8_t const> public_blob, std::string_view what)
{
    auto curve_name = TRY(fields.string("the curve name"));
    if (wire_text(curve_name) != curve.curve)
        return Error::invalid(cat(what, ": ", ssh_key_type_name(curve.type), " key names curve ", wire_text(curve_name)));
    auto point = TRY(fields.string("the public point Q"));
    auto scalar = TRY(fields.unsigned_mpint("the private scalar"));
    if (point.size() != 1 + 2 * curve.field_bytes || point[0] != 0x04)
        return Error::invalid(cat(what, ": the public point Q has ", point.size(), " bytes, not an uncompressed point of ", curve.curve));
    if (scalar.size() > curve.field_bytes)
        return Error::invalid(cat(what, ": the private scalar has ", scalar.size(), " bytes, more than ", curve.curve, "'s ", curve.field_bytes));
    // mbedtls_ecp_read_key wants the scalar at the curve's full width.
    Wiped padded;
    padded.bytes.assign(curve.field_bytes - scalar.size(), 0);
    padded.bytes.insert(padded.bytes.end(), scalar.begin(), scalar.end());

    PkContext key;
    if (int rc = mbedtls_pk_setup(&key.pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)); rc != 0)
        return Error::with_code(ENOMEM, cat(what, ": ", mbedtls_message(rc)));
    auto* keypair = mbedtls_pk_ec(key.pk);
    auto* random = TRY(random_generator());
    if (int rc = mbedtls_ecp_read_key(curve.group, keypair, padded.bytes.data(), padded.bytes.size()); rc != 0)
        return Error::invalid(cat(what, ": the private scalar is not a ", curve.curve, " key: ", mbedtls_message(rc)));
    // Q from the scalar: compared below with the Q the file records.
    if (int rc = mbedtls_ecp_keypair_calc_public(keypair, mbedtls_ctr_drbg_random, random); rc != 0)
        return Error::with_code(EIO, cat(what, ": computing the public point: ", mbedtls_message(rc)));
    SshPrivateKey out;
    out.public_blob = TRY(public_blob_of(key.pk, out.type).context(what));
    std::vector<uint8_t> recorded;
    put_string(recorded, ssh_key_type_name(curve.type));
    put_string(recorded, curve.curve);
    put_string(recorded, point);
    if (out.public_blob != recorded || !std::equal(recorded.begin(), recorded.end(), public_blob.begin(), public_blob.end()))
        return Error::invalid(cat(what, ": the private scalar does not give the public point the key records"));
    out.pem = TRY(write_pem(key.pk).context(what));
    return out;
}

// "an Ed25519 key", "a DSA key", ... for the refusal.
std::string described_type(std::string_view key_type_name)
{
    if (key_type_name == "ssh-ed25519")
        return "an Ed25519 key";
    if (key_type_name == "ssh-dss")
        return "a DSA key";
    if (key_type_name.starts_with("sk-"))
        return cat("a security-key (FIDO) key (", key_type_name, ")");
    return cat("a key of type '", key_type_name, "'");
}

Result<void> check_type_usable(std::string_view key_type_name, std::string_view key_path)
{
    auto type = ssh_key_type_from_name(key_type_name);
    if (!type || !ssh_key_type_supported(*type))
        return unsupported_sshkey_error(key_path, key_type_name);
    return {};
}

} // namespace

Error unsupported_sshkey_error(std::string_view key_path, std::string_view key_type_name)
{
    return Error::unsupported(cat("sshkey ", key_path, " is ", described_type(key_type_name),
        ", which kdumpbox cannot use (its libssh2 with mbedTLS takes RSA and ECDSA keys only); make an RSA or ECDSA key: ssh-keygen -t ecdsa -N '' -f ",
        key_path, ", then run 'kdump propagate'"));
}

Error sshkey_passphrase_error(std::string_view key_path)
{
    return Error::unsupported(cat("sshkey ", key_path, " has a passphrase; the capture kernel cannot ask for it: remove it with ssh-keygen -p -N '' -f ",
        key_path, " (or make a key without one), then run 'kdump start' again"));
}

Result<SshPrivateKey> parse_openssh_private_key(std::string_view text, std::string_view key_path)
{
    std::string what = cat("sshkey ", key_path);
    auto decoded = TRY(openssh_armor_bytes(text, key_path));
    ByteReader file(decoded.bytes, Endian::Big, what);
    auto magic = file.bytes(0, openssh_magic.size());
    if (!magic || wire_text(magic.value()) != openssh_magic)
        return Error::invalid(cat(what, ": not an openssh-key-v1 key (bad magic)"));
    auto body = TRY(file.sub(openssh_magic.size(), file.size() - openssh_magic.size()));
    SshWireReader fields(body.all(), what);
    auto cipher = wire_text(TRY(fields.string("the cipher name")));
    auto kdf = wire_text(TRY(fields.string("the KDF name")));
    TRY(fields.string("the KDF options"));
    uint32_t key_count = TRY(fields.u32());
    if (key_count != 1)
        return Error::invalid(cat(what, ": holds ", key_count, " keys; OpenSSH writes one per file"));
    auto public_blob = TRY(fields.string("the public key"));
    auto public_type = TRY(ssh_key_blob_type(public_blob).context(cat(what, ": the public key")));
    // The type first: an Ed25519 key with a passphrase needs a new key,
    // not the passphrase removed.
    TRY(check_type_usable(public_type, key_path));
    if (cipher != "none" || kdf != "none")
        return sshkey_passphrase_error(key_path);
    auto private_section = TRY(fields.string("the private section"));
    if (!fields.at_end())
        return Error::invalid(cat(what, ": ", fields.rest().size(), " bytes after the private section"));
    if (private_section.size() % unencrypted_block_bytes != 0)
        return Error::invalid(cat(what, ": the private section's ", private_section.size(), " bytes are not a multiple of ", unencrypted_block_bytes));

    SshWireReader secret(private_section, what);
    uint32_t check_1 = TRY(secret.u32());
    uint32_t check_2 = TRY(secret.u32());
    if (check_1 != check_2)
        return Error::invalid(cat(what, ": the private section's check numbers differ (", hex(check_1), " and ", hex(check_2), "): the key is damaged"));
    auto private_type = wire_text(TRY(secret.string("the private key's type")));
    if (private_type != public_type)
        return Error::invalid(cat(what, ": the private key is ", private_type, " but the public key ", public_type));
    auto type = ssh_key_type_from_name(public_type).value(); // check_type_usable knew it
    std::string key_what = cat(what, " (", public_type, ")");
    SshPrivateKey key;
    if (type == SshKeyType::Rsa)
        key = TRY(convert_rsa(secret, public_blob, key_what));
    else
        key = TRY(convert_ecdsa(secret, curve_of(type).value(), public_blob, key_what));
    key.comment = std::string(wire_text(TRY(secret.string("the comment"))));
    // Padding: 1, 2, 3, ... up to the block size.
    auto padding = secret.rest();
    if (padding.size() >= unencrypted_block_bytes)
        return Error::invalid(cat(what, ": ", padding.size(), " bytes after the key, more than padding"));
    for (size_t i = 0; i < padding.size(); ++i) {
        if (padding[i] != i + 1)
            return Error::invalid(cat(what, ": bad padding after the key"));
    }
    key.file_format = SshKeyFileFormat::OpenSsh;
    return key;
}

Result<SshPrivateKey> parse_ssh_private_key(std::string_view text, std::string_view key_path)
{
    if (text.find(openssh_begin) != std::string_view::npos)
        return parse_openssh_private_key(text, key_path);
    std::string what = cat("sshkey ", key_path);
    // Say it before mbedTLS does: legacy PEM encryption and PKCS#8's.
    if (text.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos || text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos)
        return sshkey_passphrase_error(key_path);
    if (text.find("-----BEGIN DSA PRIVATE KEY-----") != std::string_view::npos)
        return unsupported_sshkey_error(key_path, "ssh-dss");
    if (text.find("-----BEGIN ") == std::string_view::npos)
        return Error::invalid(cat(what, ": neither an OpenSSH-format nor a PEM private key"));
    // mbedTLS wants the PEM text NUL-terminated, the NUL counted.
    Wiped terminated;
    terminated.bytes.assign(text.begin(), text.end());
    terminated.bytes.push_back(0);
    PkContext key;
    auto* random = TRY(random_generator());
    int rc = mbedtls_pk_parse_key(&key.pk, terminated.bytes.data(), terminated.bytes.size(), nullptr, 0, mbedtls_ctr_drbg_random, random);
    if (rc == MBEDTLS_ERR_PK_PASSWORD_REQUIRED || rc == MBEDTLS_ERR_PK_PASSWORD_MISMATCH)
        return sshkey_passphrase_error(key_path);
    if (rc != 0)
        return Error::invalid(cat(what, ": mbedTLS cannot read this PEM key: ", mbedtls_message(rc)));
    auto kind = mbedtls_pk_get_type(&key.pk);
    if (kind != MBEDTLS_PK_RSA && kind != MBEDTLS_PK_ECKEY)
        return unsupported_sshkey_error(key_path, mbedtls_pk_get_name(&key.pk));
    SshPrivateKey out;
    out.public_blob = TRY(public_blob_of(key.pk, out.type).context(what));
    out.pem = std::string(text);
    out.file_format = SshKeyFileFormat::Pem;
    return out;
}

Result<SshPrivateKey> read_ssh_private_key(std::string const& key_path)
{
    auto text = TRY(read_text_file(key_path, max_key_file_bytes).context(cat("sshkey ", key_path)));
    auto key = parse_ssh_private_key(text, key_path);
    mbedtls_platform_zeroize(text.data(), text.size());
    return key;
}

Result<void> check_ssh_public_key_matches(SshPrivateKey const& key, std::string_view public_key_text, std::string_view key_path, std::string_view public_key_path)
{
    auto fields = split(trim(public_key_text), ' ');
    std::vector<uint8_t> blob;
    if (fields.size() >= 2) {
        if (auto decoded = base64_decode(trim(fields[1]), public_key_path); decoded)
            blob = std::move(decoded).value();
    }
    if (blob != key.public_blob)
        return Error::invalid(cat(public_key_path, " is not the public half of sshkey ", key_path, "; write it again with: ssh-keygen -y -f ", key_path, " > ", public_key_path));
    return {};
}

} // namespace core
