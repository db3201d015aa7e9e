// SPDX-License-Identifier: GPL-2.0-or-later
// Options are declared against typed variables, once; the same declarations
// drive parsing and the option list in --help. The syntax is getopt_long's,
// which kexec-tools and makedumpfile users type: bundled short flags (-cd 31),
// -dVALUE, --long=VALUE, --long VALUE, unique long prefixes, options mixed
// with operands, and "--" to end options.
#pragma once

#include "core/base/error.h"

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace core::cli {

enum class Arity { None, Required, Optional };

class OptionParser {
public:
    using Handler = std::function<Result<void>(std::optional<std::string_view> value)>;

    // short_name 0: no short form; empty long_name: no long form.
    void flag(char short_name, std::string_view long_name, bool* target, std::string_view help);
    // Counts repetitions (-v -v).
    void counter(char short_name, std::string_view long_name, int* target, std::string_view help);
    void value(char short_name, std::string_view long_name, std::string_view value_name, std::optional<std::string>* target, std::string_view help);
    // Repeatable: every occurrence is appended.
    void list(char short_name, std::string_view long_name, std::string_view value_name, std::vector<std::string>* target, std::string_view help);
    // Anything else (numbers with ranges, mutually exclusive modes): the
    // handler validates and stores, returning an error that names the problem.
    void custom(char short_name, std::string_view long_name, Arity arity, std::string_view value_name, Handler handler, std::string_view help);

    // args excludes the program name. Returns the operands, in order.
    Result<std::vector<std::string_view>> parse(std::span<std::string_view const> args) const;

    // "  -d, --dump-level=N   help" lines, in declaration order.
    std::string option_help() const;

private:
    struct Option {
        char short_name;
        std::string_view long_name;
        Arity arity;
        std::string_view value_name;
        std::string_view help;
        Handler handler;
    };
    Option const* find_short(char name) const;
    Result<Option const*> find_long(std::string_view name) const;
    static std::string display_name(Option const& option);

    std::vector<Option> m_options;
};

// An option the tool we replace has and we do not implement: accepting and
// ignoring it would silently do something else than asked, so it is refused
// with the reason.
struct RefusedOption {
    char short_name;
    std::string_view long_name;
    Arity arity;
    std::string_view reason;
};
// Declares each as an option whose use is the error "not supported by this
// TOOL: REASON".
void add_refused_options(OptionParser& parser, std::span<RefusedOption const> options, std::string_view tool);

} // namespace core::cli
