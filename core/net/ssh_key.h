// SPDX-License-Identifier: GPL-2.0-or-later
// kdump.conf's sshkey: read, checked, and put in the form the capture
// side's libssh2 (mbedTLS backend) reads.
//
// mbedTLS reads PEM keys (PKCS#1, SEC1, PKCS#8) but not the
// "-----BEGIN OPENSSH PRIVATE KEY-----" format (openssh-key-v1) that
// ssh-keygen writes by default. Unencrypted RSA and ECDSA (P-256, P-384,
// P-521) keys in that format are converted here, in-process with mbedTLS,
// into PEM: that text goes into the capture initramfs and is what
// `kdump start` logs in with. PEM keys are checked with mbedTLS and kept as
// they are. Refused, with what to do: Ed25519 and other types libssh2 with
// mbedTLS cannot use (ssh_key_type_supported), and keys with a passphrase
// (the capture kernel cannot ask for it).
#pragma once

#include "core/base/error.h"
#include "core/net/known_hosts.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace core {

enum class SshKeyFileFormat { Pem, OpenSsh };

struct SshPrivateKey {
    SshKeyType type { SshKeyType::Rsa };
    SshKeyFileFormat file_format { SshKeyFileFormat::Pem };
    // What libssh2 reads: the file itself for a PEM key, the conversion
    // (PKCS#1 "RSA PRIVATE KEY" or SEC1 "EC PRIVATE KEY") for an OpenSSH one.
    std::string pem;
    // The public key in SSH wire format (RFC 4253 6.6), from the private key.
    std::vector<uint8_t> public_blob;
    std::string comment; // the OpenSSH format's; empty for PEM
};

// The refusal of a user key whose type this build cannot use, naming
// key_path and saying how to make one it can.
Error unsupported_sshkey_error(std::string_view key_path, std::string_view key_type_name);
// The refusal of a key with a passphrase.
Error sshkey_passphrase_error(std::string_view key_path);

// Parses an OpenSSH-format private key (PROTOCOL.key: "openssh-key-v1",
// cipher, kdf, one public key, the private section with its check ints,
// fields, comment and padding), every field bounds-checked, and converts
// it to PEM. key_path names the key in errors.
Result<SshPrivateKey> parse_openssh_private_key(std::string_view text, std::string_view key_path);

// The text of an sshkey file in either format (a PEM key is parsed with
// mbedTLS to check it and to learn its public half).
Result<SshPrivateKey> parse_ssh_private_key(std::string_view text, std::string_view key_path);
Result<SshPrivateKey> read_ssh_private_key(std::string const& key_path);

// Checks that the public key file (an OpenSSH public key line) is key's
// public half; the error says how to write it again.
Result<void> check_ssh_public_key_matches(SshPrivateKey const& key, std::string_view public_key_text, std::string_view key_path, std::string_view public_key_path);

} // namespace core
