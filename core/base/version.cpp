// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/version.h"

#include <libssh2.h>
#include <lz4.h>
#include <mbedtls/version.h>
#include <zlib.h>
#include <zstd.h>

namespace core {

std::string_view kdumpbox_version() { return KDUMPBOX_VERSION; }

std::string_view build_flavour() { return KDUMPBOX_BUILD_FLAVOUR; }

std::vector<std::pair<std::string_view, std::string>> linked_library_versions()
{
    char mbedtls_version[18] = {};
    mbedtls_version_get_string(mbedtls_version);
    char const* libssh2_version_text = libssh2_version(0);
    return {
        { "zlib", zlibVersion() },
        { "zstd", ZSTD_versionString() },
        { "lz4", LZ4_versionString() },
        { "mbedTLS", mbedtls_version },
        { "libssh2", libssh2_version_text ? libssh2_version_text : "?" },
    };
}

} // namespace core
