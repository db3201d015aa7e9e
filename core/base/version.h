// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace core {

std::string_view kdumpbox_version();
// How this binary was built: "static musl" or the development build.
std::string_view build_flavour();
// (library, version) as reported by each linked library at run time, so the
// list shows what is really inside this binary, not what headers said.
std::vector<std::pair<std::string_view, std::string>> linked_library_versions();

} // namespace core
