// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/cli.h"

#include "core/base/strings.h"

namespace core::cli {

void OptionParser::flag(char short_name, std::string_view long_name, bool* target, std::string_view help)
{
    custom(short_name, long_name, Arity::None, {}, [target](auto) -> Result<void> { *target = true; return {}; }, help);
}

void OptionParser::counter(char short_name, std::string_view long_name, int* target, std::string_view help)
{
    custom(short_name, long_name, Arity::None, {}, [target](auto) -> Result<void> { ++*target; return {}; }, help);
}

void OptionParser::value(char short_name, std::string_view long_name, std::string_view value_name, std::optional<std::string>* target, std::string_view help)
{
    custom(short_name, long_name, Arity::Required, value_name, [target](std::optional<std::string_view> value) -> Result<void> {
        *target = std::string(*value);
        return {};
    }, help);
}

void OptionParser::list(char short_name, std::string_view long_name, std::string_view value_name, std::vector<std::string>* target, std::string_view help)
{
    custom(short_name, long_name, Arity::Required, value_name, [target](std::optional<std::string_view> value) -> Result<void> {
        target->emplace_back(*value);
        return {};
    }, help);
}

void OptionParser::custom(char short_name, std::string_view long_name, Arity arity, std::string_view value_name, Handler handler, std::string_view help)
{
    m_options.push_back(Option { short_name, long_name, arity, value_name, help, std::move(handler) });
}

OptionParser::Option const* OptionParser::find_short(char name) const
{
    for (auto const& option : m_options) {
        if (option.short_name != 0 && option.short_name == name)
            return &option;
    }
    return nullptr;
}

Result<OptionParser::Option const*> OptionParser::find_long(std::string_view name) const
{
    Option const* prefix_match = nullptr;
    int prefix_matches = 0;
    for (auto const& option : m_options) {
        if (option.long_name.empty())
            continue;
        if (option.long_name == name)
            return &option;
        if (option.long_name.starts_with(name)) {
            prefix_match = &option;
            ++prefix_matches;
        }
    }
    if (prefix_matches == 1)
        return prefix_match;
    if (prefix_matches > 1)
        return Error::invalid(cat("option '--", name, "' is ambiguous; spell it out (see --help)"));
    return Error::invalid(cat("unknown option '--", name, "' (see --help)"));
}

std::string OptionParser::display_name(Option const& option)
{
    if (!option.long_name.empty())
        return cat("--", option.long_name);
    return cat('-', option.short_name);
}

Result<std::vector<std::string_view>> OptionParser::parse(std::span<std::string_view const> args) const
{
    std::vector<std::string_view> operands;
    for (size_t index = 0; index < args.size(); ++index) {
        std::string_view arg = args[index];
        auto next_value = [&](Option const& option) -> Result<std::string_view> {
            if (index + 1 >= args.size())
                return Error::invalid(cat("option '", display_name(option), "' needs a value", option.value_name.empty() ? "" : " (", option.value_name, option.value_name.empty() ? "" : ")"));
            return args[++index];
        };

        if (arg == "--") {
            operands.insert(operands.end(), args.begin() + static_cast<std::ptrdiff_t>(index) + 1, args.end());
            break;
        }
        if (arg.starts_with("--")) {
            std::string_view body = arg.substr(2);
            std::optional<std::string_view> inline_value;
            if (size_t equals = body.find('='); equals != std::string_view::npos) {
                inline_value = body.substr(equals + 1);
                body = body.substr(0, equals);
            }
            Option const* option = TRY(find_long(body));
            std::optional<std::string_view> value;
            switch (option->arity) {
            case Arity::None:
                if (inline_value)
                    return Error::invalid(cat("option '--", option->long_name, "' takes no value"));
                break;
            case Arity::Required:
                value = inline_value ? *inline_value : TRY(next_value(*option));
                break;
            case Arity::Optional:
                value = inline_value;
                break;
            }
            TRY(option->handler(value).context(display_name(*option)));
            continue;
        }
        if (arg.size() > 1 && arg[0] == '-') {
            // A cluster of short options: -cd31 is -c -d 31.
            for (size_t at = 1; at < arg.size(); ++at) {
                Option const* option = find_short(arg[at]);
                if (!option)
                    return Error::invalid(cat("unknown option '-", arg[at], "' (see --help)"));
                std::optional<std::string_view> value;
                if (option->arity != Arity::None) {
                    std::string_view rest = arg.substr(at + 1);
                    if (!rest.empty())
                        value = rest;
                    else if (option->arity == Arity::Required)
                        value = TRY(next_value(*option));
                    at = arg.size();
                }
                TRY(option->handler(value).context(cat('-', option->short_name)));
            }
            continue;
        }
        operands.push_back(arg);
    }
    return operands;
}

std::string OptionParser::option_help() const
{
    std::string out;
    for (auto const& option : m_options) {
        std::string left = "  ";
        if (option.short_name)
            left += cat('-', option.short_name, option.long_name.empty() ? "" : ", ");
        else
            left += "    ";
        if (!option.long_name.empty())
            left += cat("--", option.long_name);
        if (option.arity == Arity::Required)
            left += cat(option.long_name.empty() ? " " : "=", option.value_name.empty() ? "VALUE" : option.value_name);
        else if (option.arity == Arity::Optional)
            left += cat("[=", option.value_name.empty() ? "VALUE" : option.value_name, ']');
        constexpr size_t help_column = 30;
        if (left.size() < help_column)
            left.append(help_column - left.size(), ' ');
        else
            left += "\n" + std::string(help_column, ' ');
        out += cat(left, option.help, '\n');
    }
    return out;
}

void add_refused_options(OptionParser& parser, std::span<RefusedOption const> options, std::string_view tool)
{
    for (auto const& refused : options) {
        parser.custom(refused.short_name, refused.long_name, refused.arity, {}, [refused, tool](auto) -> Result<void> {
            return Error::unsupported(cat("not supported by this ", tool, ": ", refused.reason));
        }, "not supported (refused with the reason)");
    }
}

} // namespace core::cli
