// SPDX-License-Identifier: GPL-2.0-or-later
// The capture initramfs image: what goes into it (/init, applet links, the
// configuration, modules in load order, programs with their libraries,
// extra files), planned as one newc archive, then compressed and written
// atomically, with a digest of every input. initramfs/README.md describes
// the image.
#pragma once

#include "core/base/error.h"
#include "core/compress/compress.h"
#include "core/config/capture_image_file.h"
#include "initramfs/modules.h"
#include "initramfs/newc.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace core::initramfs {

// The zstd window of the image, as log2 bytes (128 KiB). The capture
// kernel's decompressor allocates a workspace of the window's size while
// it unpacks the image, before /init, in the tightest memory it ever has;
// by default zstd would size the window to the whole archive.
constexpr int initramfs_zstd_window_log = 17;

struct InitramfsSpec {
    std::string kdumpbox_binary;       // becomes /init
    std::vector<std::string> applets;  // /bin/<applet> -> /init
    std::string kdump_conf;            // the resolved configuration, as /etc/kdump.conf
    // /lib/modules/<kernel_version>/...; empty: the last component of
    // modules_dir. Module files are placed at their path relative to
    // modules_dir (files elsewhere under extra/).
    std::string kernel_version;
    std::string modules_dir;
    std::vector<ModuleFile> modules;   // in load order (resolve_modules)
    // Host programs, placed at the same path in the image with their
    // shared libraries: the configuration names them by that path.
    std::vector<std::string> extra_bins;
    std::vector<std::string> hooks;    // kdump_pre/kdump_post/... programs, as extra_bins
    std::vector<std::string> collectors; // an external core_collector, as extra_bins
    std::vector<CaptureImageFile> extra_files;
    CompressionOptions compression;
    uint32_t mtime { 0 };              // every entry's mtime
    std::string library_root;          // shared_libraries' root ("" = /)
};

struct ManifestEntry {
    std::string path;  // "/bin/kexec"
    char kind;         // 'd', 'f', 'l', 'c'
    uint32_t permissions;
    uint64_t size;     // file bytes, symlink target length, 0 otherwise
    std::string detail; // the symlink target, "5:1" for a device
    std::string reason;
};

struct InitramfsResult {
    std::vector<ManifestEntry> manifest; // sorted by path, as in the archive
    uint64_t uncompressed_bytes { 0 };
    uint64_t compressed_bytes { 0 };
    Compression compression { Compression::Zstd };
    // SHA-256 (64 hex digits) of the uncompressed archive plus the
    // compression and level: every input's path, mode and bytes and the
    // spec's text fields are in it. Equal digests mean an equal image.
    std::string inputs_digest;
};

// The archive the spec describes and its manifest, nothing written.
struct InitramfsPlan {
    cpio::Archive archive;
    std::vector<ManifestEntry> manifest;
};
Result<InitramfsPlan> plan_initramfs(InitramfsSpec const& spec);
// The digest build_initramfs would report, without compressing: lets the
// host skip a rebuild when nothing changed.
Result<std::string> inputs_digest(InitramfsSpec const& spec);

// Builds the image and writes it atomically: a temporary file beside
// output_path, fsync, rename over output_path, fsync of the directory.
Result<InitramfsResult> build_initramfs(InitramfsSpec const& spec, std::string const& output_path);

// For `kdump rebuild --print-contents`: one line per entry,
// "-rwxr-xr-x  1531152  /init  (kdumpbox)".
std::string format_manifest(std::vector<ManifestEntry> const& manifest);

// Which compression the kernel accepts, from its config file
// (/boot/config-<version>): RD_ZSTD, else RD_GZIP, else RD_LZ4, else none.
struct CompressionChoice {
    Compression compression;
    std::string reason;  // "CONFIG_RD_ZSTD=y in /boot/config-6.1.0"
    std::string warning; // non-empty when nothing usable is enabled
};
CompressionChoice choose_compression(std::string_view kernel_config_text, std::string_view config_name);
Result<CompressionChoice> choose_compression_for_config_file(std::string const& kernel_config_path);

} // namespace core::initramfs
