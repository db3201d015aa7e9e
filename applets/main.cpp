// SPDX-License-Identifier: GPL-2.0-or-later
// The multicall entry point: dispatch on basename(argv[0]), or on the first
// argument when called as kdumpbox.
#include "applets/applet.h"
#include "arch/host.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/log.h"
#include "core/base/version.h"

#include <algorithm>
#include <unistd.h>
#include <vector>

namespace applets {

#define APPLET(identifier) extern Applet const identifier##_applet;
#include "applets.def"
#undef APPLET

namespace {

Applet const* const g_applets[] = {
#define APPLET(identifier) &identifier##_applet,
#include "applets.def"
#undef APPLET
};

constexpr int exit_applet_not_found = 127;

} // namespace

namespace {

enum class Which { All, HostOnly };

std::vector<std::string> applet_names(Which which)
{
    std::vector<std::string> names;
    auto add = [&](std::string_view name) {
        // An applet may list its own name among its aliases (reboot does).
        if (std::find(names.begin(), names.end(), name) == names.end())
            names.emplace_back(name);
    };
    for (Applet const* applet : g_applets) {
        if (which == Which::HostOnly && applet->on_host_path == OnHostPath::No)
            continue;
        add(applet->name);
        for (auto alias : applet->aliases)
            add(alias);
    }
    return names;
}

} // namespace

std::vector<std::string> all_applet_names() { return applet_names(Which::All); }

std::vector<std::string> host_applet_names() { return applet_names(Which::HostOnly); }

namespace {

Applet const* find_applet(std::string_view name)
{
    for (Applet const* applet : g_applets) {
        if (applet->name == name)
            return applet;
        if (std::find(applet->aliases.begin(), applet->aliases.end(), name) != applet->aliases.end())
            return applet;
    }
    return nullptr;
}

std::vector<Applet const*> sorted_applets()
{
    std::vector<Applet const*> list(std::begin(g_applets), std::end(g_applets));
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->name < b->name; });
    return list;
}

void print(int fd, std::string_view text) { (void)core::write_all(fd, text, fd == STDOUT_FILENO ? "stdout" : "stderr"); }

// "NAME  alias alias", one applet per line.
std::string applet_list()
{
    std::string out;
    for (Applet const* applet : sorted_applets()) {
        std::string line = std::string(applet->name);
        for (auto alias : applet->aliases) {
            if (alias != applet->name)
                line += core::cat(' ', alias);
        }
        out += line + '\n';
    }
    return out;
}

std::string general_help()
{
    std::string out = core::cat("kdumpbox ", core::kdumpbox_version(), R"( - kexec/kdump crash-dump tools in one binary

Usage: kdumpbox APPLET [ARGUMENTS...]
       APPLET [ARGUMENTS...]          (through a symlink named after the applet)
       kdumpbox --list | --version | --help [APPLET]
       kdumpbox --install [--all] [--force] DIR

Options:
  --list                 list the applets and their aliases
  --version              print the version and the linked library versions
  --help [APPLET]        this help, or an applet's help
  --install [--all] [--force] DIR
                         create symlinks in DIR for the applets a host runs
                         (every name but reboot, halt, poweroff, init and
                         the systemd generator, which would shadow the init
                         system's or do not belong on PATH); --all (or
                         --capture) links every applet and alias, as the
                         capture initramfs has them; existing files are
                         left alone unless --force

Applets:
)");
    for (Applet const* applet : sorted_applets()) {
        std::string name = std::string(applet->name);
        name.resize(std::max<size_t>(name.size(), 16), ' ');
        out += core::cat("  ", name, ' ', applet->summary, '\n');
    }
    return out;
}

std::string version_text()
{
    std::string out = core::cat("kdumpbox ", core::kdumpbox_version(), " (", core::build_flavour(), ", ", arch::host_name(), ")\n");
    for (auto const& [library, version] : core::linked_library_versions())
        out += core::cat(library, ' ', version, '\n');
    return out;
}

int run_applet(Applet const& applet, std::string_view invoked_name, Arguments args)
{
    core::log::set_program(invoked_name);
    Context context { .invoked_name = invoked_name, .is_pid1 = ::getpid() == 1 };
    auto result = applet.main(context, args);
    if (!result.ok()) {
        core::log::error(result.error().message());
        return applet.failure_exit_code;
    }
    return result.value();
}

int install(Arguments args)
{
    constexpr std::string_view usage = "usage: kdumpbox --install [--all] [--force] DIR";
    std::optional<std::string> directory;
    bool force = false;
    Which which = Which::HostOnly;
    for (auto arg : args) {
        if (arg == "--force" || arg == "-f")
            force = true;
        else if (arg == "--all" || arg == "--capture")
            which = Which::All;
        else if (!directory && !arg.starts_with('-'))
            directory = std::string(arg);
        else {
            core::log::error(core::cat("--install: unexpected argument '", arg, "'; ", usage));
            return 1;
        }
    }
    if (!directory) {
        core::log::error(core::cat("--install needs a directory; ", usage));
        return 1;
    }
    auto target = core::self_executable_path();
    if (!target.ok()) {
        core::log::error(target.error().message());
        return 1;
    }
    std::vector<std::string> const owned_names = applet_names(which);
    std::vector<std::string_view> names(owned_names.begin(), owned_names.end());
    auto created = core::install_symlinks(*directory, target.value(), names, force ? core::ReplaceExisting::Yes : core::ReplaceExisting::No);
    if (!created.ok()) {
        core::log::error(created.error().message());
        return 1;
    }
    print(STDOUT_FILENO, core::cat("kdumpbox: ", names.size(), " links in ", *directory, " point to ", target.value(), " (", created.value(), " new)\n"));
    return 0;
}

int multiplexer(Arguments args)
{
    if (args.empty()) {
        print(STDERR_FILENO, general_help());
        return 1;
    }
    std::string_view first = args.front();
    Arguments rest = args.subspan(1);
    if (first == "--list") {
        print(STDOUT_FILENO, applet_list());
        return 0;
    }
    if (first == "--version") {
        print(STDOUT_FILENO, version_text());
        return 0;
    }
    if (first == "--help" || first == "-h") {
        if (!rest.empty()) {
            if (Applet const* applet = find_applet(rest.front())) {
                static constexpr std::string_view help_argument[] = { "--help" };
                return run_applet(*applet, applet->name, help_argument);
            }
            print(STDERR_FILENO, core::cat("kdumpbox: no applet named '", rest.front(), "'; the applets are:\n", applet_list()));
            return exit_applet_not_found;
        }
        print(STDOUT_FILENO, general_help());
        return 0;
    }
    if (first == "--install")
        return install(rest);
    if (Applet const* applet = find_applet(first))
        return run_applet(*applet, first, rest);
    if (first.starts_with('-'))
        print(STDERR_FILENO, core::cat("kdumpbox: unknown option '", first, "'; see kdumpbox --help\n"));
    else
        print(STDERR_FILENO, core::cat("kdumpbox: applet not found: ", first, "\nThe applets are:\n", applet_list()));
    return exit_applet_not_found;
}

} // namespace

int main_dispatch(int argc, char** argv)
{
    std::vector<std::string_view> args(argv + std::min(argc, 1), argv + argc);
    std::string_view invoked = argc > 0 && argv[0] ? argv[0] : "kdumpbox";
    if (size_t slash = invoked.rfind('/'); slash != std::string_view::npos)
        invoked.remove_prefix(slash + 1);

    // The binary may be renamed (kdumpbox-0.1, kdumpbox.static): any name
    // starting with "kdumpbox" is the multiplexer.
    if (invoked.starts_with("kdumpbox"))
        return multiplexer(args);
    if (Applet const* applet = find_applet(invoked))
        return run_applet(*applet, invoked, args);
    print(STDERR_FILENO, core::cat("kdumpbox: applet not found: ", invoked, "\nThe applets are:\n", applet_list()));
    return exit_applet_not_found;
}

} // namespace applets

int main(int argc, char** argv)
{
    return applets::main_dispatch(argc, argv);
}
