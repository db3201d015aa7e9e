// SPDX-License-Identifier: GPL-2.0-or-later
// A file to place into the capture initramfs, as the parts that plan the
// capture (network set-up, the nfs and ssh targets) describe it and the
// initramfs builder writes it. Plain data, so that those planners need not
// include the builder.
#pragma once

#include <cstdint>
#include <string>

namespace core {

struct CaptureImageFile {
    std::string path;        // in the image
    std::string source_path; // on the host; empty: `data` is the content
    std::string data;
    uint32_t permissions { 0644 };
    std::string reason;      // shown in the manifest; empty: "extra file"
};

} // namespace core
