// SPDX-License-Identifier: GPL-2.0-or-later
// File-system helpers shared by the installer, the initramfs builder and
// mount-and-save.
#pragma once

#include "core/error.h"

#include <span>
#include <string>
#include <string_view>

namespace core {

// The running executable (readlink /proc/self/exe).
Result<std::string> self_executable_path();

std::string path_join(std::string_view directory, std::string_view name);

enum class ReplaceExisting { No, Yes };

// Creates directory/NAME -> target for every name. Checks every name first
// and changes nothing if one exists and is not already this link (unless
// replacing), so a refused install leaves the directory as it was.
// Returns how many links it created or replaced.
Result<size_t> install_symlinks(std::string const& directory, std::string const& target, std::span<std::string_view const> names, ReplaceExisting replace);

} // namespace core
