// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/config/cmdline.h"

#include "core/base/strings.h"

#include <algorithm>

namespace core {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

} // namespace

std::vector<std::string_view> split_cmdline(std::string_view cmdline)
{
    std::vector<std::string_view> words;
    size_t at = 0;
    while (at < cmdline.size()) {
        while (at < cmdline.size() && is_blank(cmdline[at]))
            ++at;
        if (at == cmdline.size())
            break;
        size_t start = at;
        bool quoted = false;
        while (at < cmdline.size() && (quoted || !is_blank(cmdline[at]))) {
            if (cmdline[at] == '"')
                quoted = !quoted;
            ++at;
        }
        words.push_back(cmdline.substr(start, at - start));
    }
    return words;
}

std::string_view cmdline_word_key(std::string_view word)
{
    bool quoted = word.starts_with('"');
    if (quoted)
        word.remove_prefix(1);
    size_t equals = word.find('=');
    if (equals != std::string_view::npos)
        return word.substr(0, equals);
    if (quoted && word.ends_with('"'))
        word.remove_suffix(1);
    return word;
}

std::string edit_cmdline(std::string_view cmdline, std::vector<std::string> const& remove, std::vector<std::string> const& append)
{
    auto words = split_cmdline(cmdline);
    auto init_start = std::find(words.begin(), words.end(), std::string_view("--"));
    auto removed = [&](std::string_view word) {
        for (auto const& entry : remove) {
            bool exact = entry.find('=') != std::string::npos;
            if (exact ? word == entry : cmdline_word_key(word) == entry)
                return true;
        }
        return false;
    };
    std::vector<std::string_view> kernel_words;
    for (auto word = words.begin(); word != init_start; ++word) {
        if (!removed(*word))
            kernel_words.push_back(*word);
    }
    for (auto const& entry : append) {
        for (auto word : split_cmdline(entry))
            kernel_words.push_back(word);
    }
    std::string out;
    for (auto word : kernel_words)
        out += cat(out.empty() ? "" : " ", word);
    for (auto word = init_start; word != words.end(); ++word)
        out += cat(out.empty() ? "" : " ", *word);
    return out;
}

std::string root_device_from_cmdline(std::string_view cmdline)
{
    std::string root;
    for (auto word : split_cmdline(cmdline)) {
        if (word == "--")
            break;
        if (word.substr(0, 5) == "root=")
            root = std::string(word.substr(5)); // the last one wins, as in the kernel
    }
    return root;
}

} // namespace core
