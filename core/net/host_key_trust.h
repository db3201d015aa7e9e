// SPDX-License-Identifier: GPL-2.0-or-later
// Deciding to trust a host key `kdump propagate` fetched with ssh-keyscan
// (which proves nothing: anyone between here and the server can answer).
// The user either gives the fingerprint they checked on the server
// (--host-key-fingerprint SHA256:..., as ssh-keygen -l prints it), or is
// shown the fingerprints and asked, as ssh asks on a first login. Without
// either, nothing is trusted.
#pragma once

#include "core/base/error.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core {

struct HostKeyTrust {
    // The fingerprint the user checked: only the keys that match it are
    // trusted, and none matching is refused.
    std::optional<std::string> expected_fingerprint;
    // Otherwise: shown "TYPE SHA256:..." for each key, answers whether to
    // trust them all (a terminal's yes/no). Unset: refused, saying how to
    // give the fingerprint.
    std::function<Result<bool>(std::vector<std::string> const& keys)> confirm;
};

// "SHA256:" and 43 unpadded base64 characters (a SHA-256 digest), as
// ssh-keygen -l prints; a trailing '=' is tolerated and dropped. Anything
// else (an MD5 fingerprint, a key, a typo) is EINVAL saying what to give.
Result<std::string> parse_host_key_fingerprint(std::string_view text);

// Of `lines` (known_hosts lines for one host, as ssh-keyscan gave them),
// the ones `trust` accepts, as known_hosts text. `what` names the server
// in messages ("backup port 22"). Refusals are EPERM, one line naming the
// fingerprints offered and where to check them.
Result<std::string> trusted_host_keys(std::string_view lines, std::string_view what, HostKeyTrust const& trust);

} // namespace core
