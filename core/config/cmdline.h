// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel command lines as text: splitting into words the way the kernel
// does, editing (drop keys, append words, leave init's words alone), and
// reading root=. Pure string work, shared by the settings (the capture
// command line), the kexec loader (--reuse-cmdline), kdump control and the
// capture side (dump_to_rootfs).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace core {

// Splits at blanks outside double quotes; quotes stay in the words
// (dyndbg="file x +p" is one word).
std::vector<std::string_view> split_cmdline(std::string_view cmdline);
// The parameter name of a word: 'crashkernel' for crashkernel=256M, the word
// itself for a flag; a leading quote is skipped ("a=b c" names 'a').
std::string_view cmdline_word_key(std::string_view word);
// Drops every word whose key is in `remove` (an entry with '=' drops only
// that exact word), then appends the words of each `append` entry. Words
// after a bare "--" belong to init: they are never removed, and appended
// words go in front of the "--".
std::string edit_cmdline(std::string_view cmdline, std::vector<std::string> const& remove, std::vector<std::string> const& append);

// The value of root= in a kernel command line (the last one before "--",
// as the kernel takes it), or empty.
std::string root_device_from_cmdline(std::string_view cmdline);

} // namespace core
