// SPDX-License-Identifier: GPL-2.0-or-later
#include "initramfs/libraries.h"

#include "arch/elf_machine.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"
#include "core/vmcore/elf.h"

#include <fcntl.h>
#include <optional>
#include <set>

namespace core::initramfs {

namespace {

// An executable or library bigger than this is not something we want in a
// crash kernel's memory anyway.
constexpr uint64_t max_program_bytes = 512ull << 20;

// The class, byte order and machine of a file, or nullopt if it is not ELF.
std::optional<elf::Identity> elf_identity(std::string const& path)
{
    auto fd = open_file(path, O_RDONLY);
    if (!fd.ok())
        return std::nullopt;
    uint8_t head[64] = {};
    auto got = pread_full(fd.value().get(), head, 0, path);
    if (!got.ok())
        return std::nullopt;
    return elf::identify(std::span<uint8_t const>(head, got.value()));
}

bool same_abi(elf::Identity const& one, elf::Identity const& other)
{
    return one.is_64bit == other.is_64bit && one.endian == other.endian && one.machine == other.machine;
}

// Where ld.so looks after RPATH and RUNPATH, for a program of this ABI.
std::vector<std::string> default_library_directories(elf::Identity const& identity)
{
    std::vector<std::string> directories;
    if (auto tuple = arch::multiarch_tuple(identity)) {
        directories.push_back(cat("/lib/", *tuple));
        directories.push_back(cat("/usr/lib/", *tuple));
    }
    for (std::string_view directory : { "/lib64", "/usr/lib64", "/lib", "/usr/lib" })
        directories.emplace_back(directory);
    return directories;
}

std::string expand_origin(std::string directory, std::string const& origin)
{
    for (std::string_view token : { "${ORIGIN}", "$ORIGIN" }) {
        for (size_t at = directory.find(token); at != std::string::npos; at = directory.find(token, at + origin.size()))
            directory.replace(at, token.size(), origin);
    }
    return directory;
}

} // namespace

std::string path_under_root(std::string const& root, std::string_view path)
{
    std::string_view trimmed_root = root;
    while (!trimmed_root.empty() && trimmed_root.back() == '/')
        trimmed_root.remove_suffix(1);
    if (path.empty() || path.front() != '/')
        return cat(trimmed_root, '/', path);
    return cat(trimmed_root, path);
}

std::string path_without_root(std::string const& root, std::string const& path)
{
    std::string_view trimmed_root = root;
    while (!trimmed_root.empty() && trimmed_root.back() == '/')
        trimmed_root.remove_suffix(1);
    if (!trimmed_root.empty() && path.starts_with(trimmed_root) && path.size() > trimmed_root.size() && path[trimmed_root.size()] == '/')
        return path.substr(trimmed_root.size());
    return path;
}

Result<std::vector<SharedObject>> shared_libraries(std::string const& executable, std::string const& root)
{
    std::vector<SharedObject> out;
    std::set<std::string> seen; // image paths
    struct Pending {
        std::string source;
        std::string image_path;
    };
    std::vector<Pending> queue;
    queue.push_back({ executable, path_without_root(root, executable) });
    // The executable's: every library must match it, and it picks the
    // multiarch directories.
    std::optional<elf::Identity> identity;
    std::vector<std::string> default_directories;

    for (size_t next = 0; next < queue.size(); ++next) {
        Pending current = queue[next];
        auto bytes = TRY(read_file_bytes(current.source, max_program_bytes));
        auto object = TRY(elf::parse_object(bytes, current.source));
        if (!identity) {
            identity = object.identity;
            default_directories = default_library_directories(*identity);
        }
        auto info = TRY(elf::read_dynamic_info(object));

        if (info.interpreter && !seen.contains(*info.interpreter)) {
            std::string source = path_under_root(root, *info.interpreter);
            if (!is_regular_file(source))
                return Error::with_code(ENOENT, cat(current.source, ": its program interpreter ", *info.interpreter, " does not exist (looked at ", source, ")"));
            seen.insert(*info.interpreter);
            out.push_back({ *info.interpreter, source, "(PT_INTERP)" });
            queue.push_back({ source, *info.interpreter });
        }

        std::string origin = parent_directory(current.image_path);
        std::vector<std::string> directories;
        if (info.runpath.empty()) {
            for (auto const& directory : info.rpath)
                directories.push_back(expand_origin(directory, origin));
        }
        for (auto const& directory : info.runpath)
            directories.push_back(expand_origin(directory, origin));
        directories.insert(directories.end(), default_directories.begin(), default_directories.end());

        for (auto const& needed : info.needed) {
            std::vector<std::string> candidates;
            if (needed.find('/') != std::string::npos) {
                candidates.push_back(needed.starts_with('/') ? needed : path_join(origin, needed));
            } else {
                for (auto const& directory : directories)
                    candidates.push_back(path_join(directory, needed));
            }
            std::optional<std::string> chosen;
            for (auto const& candidate : candidates) {
                if (seen.contains(candidate)) {
                    chosen = candidate;
                    break;
                }
                std::string source = path_under_root(root, candidate);
                if (!is_regular_file(source))
                    continue;
                auto candidate_identity = elf_identity(source);
                if (!candidate_identity || !same_abi(*candidate_identity, *identity))
                    continue; // another architecture's copy (/usr/lib32, multilib)
                chosen = candidate;
                seen.insert(candidate);
                out.push_back({ candidate, source, current.image_path });
                queue.push_back({ source, candidate });
                break;
            }
            if (!chosen) {
                std::string searched;
                for (auto const& directory : directories)
                    searched += cat(searched.empty() ? "" : ", ", directory);
                return Error::with_code(ENOENT, cat(current.source, " needs ", needed, ", which is in none of ", (root.empty() || root == "/" ? std::string() : cat("(under ", root, ") ")), searched));
            }
        }
    }
    return out;
}

} // namespace core::initramfs
