// SPDX-License-Identifier: GPL-2.0-or-later
// The shared libraries a dynamic program needs, found as ld.so finds them,
// so that hooks, extra_bins and a development build's /init run in the
// capture initramfs.
#pragma once

#include "core/base/error.h"

#include <string>
#include <string_view>
#include <vector>

namespace core::initramfs {

struct SharedObject {
    std::string path;      // where the loader will look: "/lib/x86_64-linux-gnu/libc.so.6"
    std::string source;    // the file to copy on the host (root prefix included)
    std::string needed_by; // "/usr/bin/python3.11", or "(PT_INTERP)" for the loader
};

// What a dynamic executable needs at run time: its PT_INTERP loader and its
// DT_NEEDED libraries, recursively, searched as ld.so does (DT_RPATH when
// there is no DT_RUNPATH, then DT_RUNPATH, then the executable's multiarch
// directories /lib/<tuple> and /usr/lib/<tuple> (arch::multiarch_tuple of
// its ELF identity: x86_64-linux-gnu for an x86-64 program), then /lib64,
// /usr/lib64, /lib, /usr/lib; $ORIGIN expanded), skipping files of another
// ELF class or machine. A static executable needs nothing. `root` prefixes
// every search path ("" or "/" for the running system; a directory in
// tests). executable is a host path.
Result<std::vector<SharedObject>> shared_libraries(std::string const& executable, std::string const& root = "");

// root + path, for injectable roots: ("", "/lib") -> "/lib",
// ("/tmp/r/", "lib") -> "/tmp/r/lib".
std::string path_under_root(std::string const& root, std::string_view path);
// The inverse: ("/tmp/r", "/tmp/r/lib/x") -> "/lib/x"; a path outside root
// is returned as it is.
std::string path_without_root(std::string const& root, std::string const& path);

} // namespace core::initramfs
