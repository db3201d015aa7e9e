// SPDX-License-Identifier: GPL-2.0-or-later
// The capture initramfs: what goes into it (kernel modules in load order,
// the drivers under the dump target's disk, the shared libraries of extra
// programs) and the builder that writes it as one deterministic compressed
// newc archive whose /init is kdumpbox itself. initramfs/README.md
// describes the image.
#pragma once

#include "initramfs/cpio.h"
#include "core/base/error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace core::initramfs {

// ---- Kernel modules ----

struct ModuleFile {
    std::string path;   // on the host: <modules_dir>/kernel/drivers/block/virtio_blk.ko
    std::string name;   // the module name, '_' form: "virtio_blk"
    std::string reason; // "extra_modules", "dependency of virtio_blk", "driver of /sys/block/vda"
};

// The canonical module name: '-' and '_' are the same to the kernel, and
// it prints '_'. Any .ko/.ko.xz/.ko.zst/.ko.gz suffix and directory are
// dropped: "kernel/drivers/char/hw_random/virtio-rng.ko.xz" -> "virtio_rng".
std::string module_name(std::string_view name_or_path);

// A name asked for, and why (the reason travels into ModuleFile::reason of
// the module itself; its dependencies say "dependency of NAME").
struct ModuleRequest {
    std::string name;
    std::string reason;
};

// Resolves the modules and everything they depend on, in load order
// (dependencies first), each file once. Dependencies come from
// modules_dir/modules.dep when it exists, else from each module's
// .modinfo "depends=" (the .ko files are found by scanning modules_dir;
// .ko and .ko.zst/.ko.gz are read, .ko.xz needs modules.dep: run depmod).
// Built-in modules (modules.builtin) resolve to nothing. An unknown module
// is an error naming it and modules_dir. Dependency cycles are reported as
// errors, never followed forever.
Result<std::vector<ModuleFile>> resolve_module_requests(std::string const& modules_dir, std::vector<ModuleRequest> const& requests);
// The same, every name with reason "extra_modules".
Result<std::vector<ModuleFile>> resolve_modules(std::string modules_dir, std::vector<std::string> names);

// The `depends=` list of one module file's .modinfo section (for .ko,
// .ko.zst and .ko.gz).
Result<std::vector<std::string>> module_dependencies_from_modinfo(std::string const& module_path);

// ---- Block devices ----

// The driver modules under a block device, nearest first: "virtio_blk",
// "virtio_pci". device is "/dev/vda1", a /dev/disk/by-* link, "vda1" or
// "254:1". A partition is followed to its whole disk; device-mapper and md
// devices to their slaves. Built-in drivers have no driver/module link and
// are not listed. sysfs_root is "/sys" except in tests.
Result<std::vector<std::string>> block_device_modules(std::string sysfs_root, std::string device);

// ---- Network interfaces ----

// The driver modules under a network interface, nearest first:
// "virtio_net", "virtio_pci" (for "eth0"), from /sys/class/net/NAME/device
// as block_device_modules does. A virtual interface (no device link) or a
// built-in driver gives none.
Result<std::vector<std::string>> net_device_modules(std::string sysfs_root, std::string const& interface_name);

// ---- Shared libraries ----

struct SharedObject {
    std::string path;      // where the loader will look: "/lib/x86_64-linux-gnu/libc.so.6"
    std::string source;    // the file to copy on the host (root prefix included)
    std::string needed_by; // "/usr/bin/python3.11", or "(PT_INTERP)" for the loader
};

// What a dynamic executable needs at run time: its PT_INTERP loader and its
// DT_NEEDED libraries, recursively, searched as ld.so does (DT_RPATH when
// there is no DT_RUNPATH, then DT_RUNPATH, then /lib/x86_64-linux-gnu,
// /usr/lib/x86_64-linux-gnu, /lib64, /usr/lib64, /lib, /usr/lib; $ORIGIN
// expanded), skipping files of another ELF class or machine. A static
// executable needs nothing. `root` prefixes every search path ("" or "/"
// for the running system; a directory in tests). executable is a host path.
Result<std::vector<SharedObject>> shared_libraries(std::string const& executable, std::string const& root = "");

// ---- The image ----

struct ExtraFile {
    std::string path;        // in the image
    std::string source_path; // on the host; empty: `data` is the content
    std::string data;
    uint32_t permissions { 0644 };
    std::string reason;
};

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
    std::vector<ExtraFile> extra_files;
    cpio::CompressionOptions compression;
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
    cpio::Compression compression { cpio::Compression::Zstd };
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

} // namespace core::initramfs
