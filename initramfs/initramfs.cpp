// SPDX-License-Identifier: GPL-2.0-or-later
#include "initramfs/initramfs.h"

#include "core/base/bytes.h"
#include "core/compress/compress.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"
#include "core/system/target.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <mbedtls/sha256.h>
#include <optional>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace core::initramfs {

namespace {

// ---- Files and paths ----

// Whole files: modules and executables. Anything bigger is not something
// we want in a crash kernel's memory anyway.
constexpr uint64_t max_input_bytes = 512ull << 20;

Result<std::vector<uint8_t>> read_whole_file(int fd, std::string const& what)
{
    struct stat status;
    if (::fstat(fd, &status) != 0)
        return Error::from_errno(cat("stat ", what));
    if (static_cast<uint64_t>(status.st_size) > max_input_bytes)
        return Error::with_code(EFBIG, cat(what, ": ", static_cast<uint64_t>(status.st_size), " bytes is more than the ", max_input_bytes >> 20, " MiB limit"));
    std::vector<uint8_t> bytes(static_cast<size_t>(status.st_size));
    size_t got = TRY(pread_full(fd, bytes, 0, what));
    bytes.resize(got);
    return bytes;
}

Result<std::vector<uint8_t>> read_whole_file(std::string const& path)
{
    auto fd = TRY(open_file(path, O_RDONLY));
    return read_whole_file(fd.get(), path);
}

bool exists(std::string const& path)
{
    struct stat status;
    return ::stat(path.c_str(), &status) == 0;
}

bool is_directory(std::string const& path)
{
    struct stat status;
    return ::stat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode);
}

bool is_regular_file(std::string const& path)
{
    struct stat status;
    return ::stat(path.c_str(), &status) == 0 && S_ISREG(status.st_mode);
}

Result<std::string> real_path(std::string const& path)
{
    char* resolved = ::realpath(path.c_str(), nullptr);
    if (resolved == nullptr)
        return Error::from_errno(path);
    std::string out(resolved);
    std::free(resolved);
    return out;
}

std::optional<std::string> read_link(std::string const& path)
{
    char buffer[PATH_MAX];
    ssize_t length = ::readlink(path.c_str(), buffer, sizeof buffer);
    if (length < 0 || static_cast<size_t>(length) >= sizeof buffer)
        return std::nullopt;
    return std::string(buffer, static_cast<size_t>(length));
}

std::string_view base_name(std::string_view path)
{
    while (path.size() > 1 && path.back() == '/')
        path.remove_suffix(1);
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// Sorted names in a directory, without "." and "..".
Result<std::vector<std::string>> list_directory(std::string const& path)
{
    DIR* directory = ::opendir(path.c_str());
    if (directory == nullptr)
        return Error::from_errno(cat("opendir ", path));
    std::vector<std::string> names;
    while (dirent* item = ::readdir(directory)) {
        std::string_view name = item->d_name;
        if (name != "." && name != "..")
            names.emplace_back(name);
    }
    ::closedir(directory);
    std::sort(names.begin(), names.end());
    return names;
}

// root + path, for injectable roots: ("", "/lib") -> "/lib".
std::string under_root(std::string const& root, std::string_view path)
{
    std::string_view trimmed_root = root;
    while (!trimmed_root.empty() && trimmed_root.back() == '/')
        trimmed_root.remove_suffix(1);
    if (path.empty() || path.front() != '/')
        return cat(trimmed_root, '/', path);
    return cat(trimmed_root, path);
}

// ---- ELF, for modules (section headers) and executables (program
// headers and the dynamic section) ----

constexpr uint32_t pt_load = 1;
constexpr uint32_t pt_dynamic = 2;
constexpr uint32_t pt_interp = 3;
constexpr uint64_t dt_null = 0;
constexpr uint64_t dt_needed = 1;
constexpr uint64_t dt_strtab = 5;
constexpr uint64_t dt_strsz = 10;
constexpr uint64_t dt_rpath = 15;
constexpr uint64_t dt_runpath = 29;
constexpr uint16_t shn_xindex = 0xffff;
// Far more than any real file; bounds the loops on corrupt counts.
constexpr uint64_t max_table_entries = 1u << 20;

struct ProgramHeader {
    uint32_t type;
    uint64_t offset;
    uint64_t vaddr;
    uint64_t file_size;
};

struct SectionHeader {
    uint32_t name;
    uint32_t type;
    uint64_t offset;
    uint64_t size;
};

struct ElfFile {
    Endian endian;
    bool is_64bit;
    uint16_t type;
    uint16_t machine;
    std::vector<ProgramHeader> program_headers;
    std::vector<SectionHeader> section_headers;
    uint32_t section_names_index;
};

bool has_elf_magic(std::span<uint8_t const> bytes)
{
    return bytes.size() >= 4 && bytes[0] == 0x7f && bytes[1] == 'E' && bytes[2] == 'L' && bytes[3] == 'F';
}

Result<ElfFile> parse_elf(std::span<uint8_t const> bytes, std::string const& what)
{
    if (!has_elf_magic(bytes) || bytes.size() < 16)
        return Error::invalid(cat(what, ": not an ELF file"));
    ElfFile elf {};
    if (bytes[4] != 1 && bytes[4] != 2)
        return Error::invalid(cat(what, ": unknown ELF class ", bytes[4]));
    if (bytes[5] != 1 && bytes[5] != 2)
        return Error::invalid(cat(what, ": unknown ELF byte order ", bytes[5]));
    elf.is_64bit = bytes[4] == 2;
    elf.endian = bytes[5] == 1 ? Endian::Little : Endian::Big;
    ByteReader reader(bytes, elf.endian, what);

    unsigned word = elf.is_64bit ? 8 : 4;
    uint64_t at_phoff = elf.is_64bit ? 32 : 28;
    uint64_t at_shoff = elf.is_64bit ? 40 : 32;
    uint64_t at_phentsize = elf.is_64bit ? 54 : 42;
    uint64_t phdr_bytes = elf.is_64bit ? 56 : 32;
    uint64_t shdr_bytes = elf.is_64bit ? 64 : 40;

    elf.type = TRY(reader.u16(16));
    elf.machine = TRY(reader.u16(18));
    uint64_t phoff = TRY(reader.uint(at_phoff, word));
    uint64_t shoff = TRY(reader.uint(at_shoff, word));
    uint64_t phentsize = TRY(reader.u16(at_phentsize));
    uint64_t phnum = TRY(reader.u16(at_phentsize + 2));
    uint64_t shentsize = TRY(reader.u16(at_phentsize + 4));
    uint64_t shnum = TRY(reader.u16(at_phentsize + 6));
    elf.section_names_index = TRY(reader.u16(at_phentsize + 8));

    // Section header 0 carries the real counts when they overflow 16 bits.
    if (shoff != 0 && (shnum == 0 || elf.section_names_index == shn_xindex)) {
        if (shentsize != shdr_bytes)
            return Error::invalid(cat(what, ": e_shentsize is ", shentsize, ", expected ", shdr_bytes));
        auto first = TRY(reader.sub(shoff, shdr_bytes));
        if (shnum == 0)
            shnum = TRY(first.uint(elf.is_64bit ? 32 : 20, word));
        if (elf.section_names_index == shn_xindex)
            elf.section_names_index = TRY(first.u32(elf.is_64bit ? 40 : 24));
    }
    if (phnum > max_table_entries || shnum > max_table_entries)
        return Error::invalid(cat(what, ": ", phnum, " program headers and ", shnum, " section headers is not a real ELF file"));

    if (phnum != 0) {
        if (phentsize != phdr_bytes)
            return Error::invalid(cat(what, ": e_phentsize is ", phentsize, ", expected ", phdr_bytes));
        auto table = TRY(reader.sub(phoff, phnum * phdr_bytes).context("program header table"));
        for (uint64_t index = 0; index < phnum; ++index) {
            ByteCursor cursor(table, index * phdr_bytes);
            ProgramHeader header {};
            header.type = cursor.u32();
            if (elf.is_64bit) {
                cursor.u32(); // p_flags
                header.offset = cursor.u64();
                header.vaddr = cursor.u64();
                cursor.u64(); // p_paddr
                header.file_size = cursor.u64();
            } else {
                header.offset = cursor.u32();
                header.vaddr = cursor.u32();
                cursor.u32(); // p_paddr
                header.file_size = cursor.u32();
            }
            TRY(cursor.status());
            elf.program_headers.push_back(header);
        }
    }
    if (shnum != 0 && shoff != 0) {
        if (shentsize != shdr_bytes)
            return Error::invalid(cat(what, ": e_shentsize is ", shentsize, ", expected ", shdr_bytes));
        auto table = TRY(reader.sub(shoff, shnum * shdr_bytes).context("section header table"));
        for (uint64_t index = 0; index < shnum; ++index) {
            ByteCursor cursor(table, index * shdr_bytes);
            SectionHeader header {};
            header.name = cursor.u32();
            header.type = cursor.u32();
            cursor.uint(word); // sh_flags
            cursor.uint(word); // sh_addr
            header.offset = cursor.uint(word);
            header.size = cursor.uint(word);
            TRY(cursor.status());
            elf.section_headers.push_back(header);
        }
    }
    return elf;
}

// The bytes of the named section, or nullopt if there is none.
Result<std::optional<std::span<uint8_t const>>> find_section(ElfFile const& elf, std::span<uint8_t const> bytes, std::string_view name, std::string const& what)
{
    if (elf.section_headers.empty())
        return std::optional<std::span<uint8_t const>>();
    if (elf.section_names_index >= elf.section_headers.size())
        return Error::invalid(cat(what, ": e_shstrndx ", elf.section_names_index, " is past the ", elf.section_headers.size(), " section headers"));
    ByteReader reader(bytes, elf.endian, what);
    auto const& names_header = elf.section_headers[elf.section_names_index];
    auto names = TRY(reader.sub(names_header.offset, names_header.size).context("section name table"));
    for (auto const& section : elf.section_headers) {
        if (section.name >= names.size())
            continue;
        if (TRY(names.c_string(section.name, names.size() - section.name)) != name)
            continue;
        constexpr uint32_t sht_nobits = 8;
        if (section.type == sht_nobits)
            return std::optional<std::span<uint8_t const>>(std::span<uint8_t const>());
        auto contents = TRY(reader.bytes(section.offset, section.size).context(cat("section ", name)));
        return std::optional<std::span<uint8_t const>>(contents);
    }
    return std::optional<std::span<uint8_t const>>();
}

// A virtual address's file offset, through the PT_LOAD that maps it.
std::optional<uint64_t> file_offset_of(ElfFile const& elf, uint64_t address)
{
    for (auto const& header : elf.program_headers) {
        if (header.type == pt_load && address >= header.vaddr && address - header.vaddr < header.file_size)
            return header.offset + (address - header.vaddr);
    }
    return std::nullopt;
}

struct DynamicInfo {
    std::optional<std::string> interpreter;
    std::vector<std::string> needed;
    std::vector<std::string> rpath;
    std::vector<std::string> runpath;
    bool is_dynamic;
};

std::vector<std::string> split_search_path(std::string_view text)
{
    std::vector<std::string> out;
    for (auto part : split(text, ':')) {
        if (!part.empty())
            out.emplace_back(part);
    }
    return out;
}

Result<DynamicInfo> read_dynamic_info(ElfFile const& elf, std::span<uint8_t const> bytes, std::string const& what)
{
    ByteReader reader(bytes, elf.endian, what);
    DynamicInfo info {};
    std::optional<ProgramHeader> dynamic;
    for (auto const& header : elf.program_headers) {
        if (header.type == pt_interp) {
            auto text = TRY(reader.c_string(header.offset, header.file_size).context("PT_INTERP"));
            info.interpreter = std::string(text);
        }
        if (header.type == pt_dynamic)
            dynamic = header;
    }
    if (!dynamic)
        return info;
    info.is_dynamic = true;

    unsigned word = elf.is_64bit ? 8 : 4;
    auto table = TRY(reader.sub(dynamic->offset, dynamic->file_size).context("PT_DYNAMIC"));
    std::optional<uint64_t> strtab, strsz;
    std::vector<uint64_t> needed, rpath, runpath;
    for (uint64_t offset = 0; offset + 2 * word <= table.size(); offset += 2 * word) {
        uint64_t tag = TRY(table.uint(offset, word));
        uint64_t value = TRY(table.uint(offset + word, word));
        if (tag == dt_null)
            break;
        switch (tag) {
        case dt_needed:
            needed.push_back(value);
            break;
        case dt_strtab:
            strtab = value;
            break;
        case dt_strsz:
            strsz = value;
            break;
        case dt_rpath:
            rpath.push_back(value);
            break;
        case dt_runpath:
            runpath.push_back(value);
            break;
        default:
            break;
        }
    }
    if (needed.empty() && rpath.empty() && runpath.empty())
        return info;
    if (!strtab)
        return Error::invalid(cat(what, ": the dynamic section has DT_NEEDED entries but no DT_STRTAB"));
    auto strtab_offset = file_offset_of(elf, *strtab);
    if (!strtab_offset)
        return Error::invalid(cat(what, ": DT_STRTAB ", hex(*strtab), " is not inside any PT_LOAD"));
    uint64_t strtab_size = strsz.value_or(reader.size() - std::min<uint64_t>(*strtab_offset, reader.size()));
    auto strings = TRY(reader.sub(*strtab_offset, strtab_size).context("DT_STRTAB"));
    auto string_at = [&](uint64_t index) -> Result<std::string> {
        if (index >= strings.size())
            return Error::invalid(cat(what, ": a dynamic string offset ", index, " is past the ", strings.size(), "-byte string table"));
        return std::string(TRY(strings.c_string(index, strings.size() - index)));
    };
    for (auto index : needed)
        info.needed.push_back(TRY(string_at(index)));
    for (auto index : rpath) {
        for (auto& part : split_search_path(TRY(string_at(index))))
            info.rpath.push_back(std::move(part));
    }
    for (auto index : runpath) {
        for (auto& part : split_search_path(TRY(string_at(index))))
            info.runpath.push_back(std::move(part));
    }
    return info;
}

// ---- Modules ----

constexpr std::string_view module_suffixes[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };

bool is_module_file_name(std::string_view name)
{
    return std::any_of(std::begin(module_suffixes), std::end(module_suffixes), [&](std::string_view suffix) { return name.ends_with(suffix); });
}

struct ModuleInfo {
    std::string path; // absolute
    std::optional<std::vector<std::string>> dependencies; // from modules.dep; else read .modinfo on demand
};

struct ModuleIndex {
    std::string modules_dir;
    bool from_modules_dep { false };
    std::map<std::string, ModuleInfo> modules;
    std::set<std::string> builtin;
};

// modules.dep lines: "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko ...".
Result<void> read_modules_dep(ModuleIndex& index, std::string const& dep_path)
{
    auto text = TRY(read_text_file(dep_path, 64 << 20));
    size_t line_number = 0;
    for (auto line : split(text, '\n')) {
        ++line_number;
        line = trim(line);
        if (line.empty() || line.front() == '#')
            continue;
        auto colon = line.find(':');
        if (colon == std::string_view::npos)
            return Error::invalid(cat(dep_path, ':', line_number, ": expected \"module: dependencies\""));
        auto absolute = [&](std::string_view relative) { return relative.starts_with('/') ? std::string(relative) : path_join(index.modules_dir, relative); };
        ModuleInfo info;
        info.path = absolute(trim(line.substr(0, colon)));
        std::vector<std::string> dependencies;
        for (auto word : split(line.substr(colon + 1), ' ')) {
            word = trim(word);
            if (!word.empty())
                dependencies.push_back(module_name(word));
        }
        info.dependencies = std::move(dependencies);
        index.modules.emplace(module_name(info.path), std::move(info)); // the first entry wins, as in modprobe
    }
    return {};
}

// Without modules.dep: every module file in the tree. Symlinks are not
// followed (modules/<ver>/build points at the kernel headers). Where a
// name appears twice, updates/ wins, then the first path in sorted order.
Result<void> scan_module_tree(ModuleIndex& index, std::string const& directory, std::string const& relative, unsigned depth)
{
    if (depth > 32)
        return {};
    auto names = TRY(list_directory(directory));
    for (auto const& name : names) {
        std::string path = path_join(directory, name);
        std::string relative_path = relative.empty() ? name : cat(relative, '/', name);
        struct stat status;
        if (::lstat(path.c_str(), &status) != 0)
            continue;
        if (S_ISDIR(status.st_mode)) {
            TRY(scan_module_tree(index, path, relative_path, depth + 1));
            continue;
        }
        if (!S_ISREG(status.st_mode) || !is_module_file_name(name))
            continue;
        std::string key = module_name(name);
        auto found = index.modules.find(key);
        bool is_update = relative_path.starts_with("updates/");
        if (found == index.modules.end()) {
            index.modules.emplace(key, ModuleInfo { path, std::nullopt });
        } else if (is_update && !found->second.path.starts_with(path_join(index.modules_dir, "updates/"))) {
            found->second.path = path;
        }
    }
    return {};
}

Result<ModuleIndex> load_module_index(std::string const& modules_dir)
{
    if (!is_directory(modules_dir))
        return Error::with_code(ENOENT, cat(modules_dir, ": no such modules directory"));
    ModuleIndex index;
    index.modules_dir = modules_dir;
    std::string dep_path = path_join(modules_dir, "modules.dep");
    if (exists(dep_path)) {
        TRY(read_modules_dep(index, dep_path));
        index.from_modules_dep = true;
    } else {
        TRY(scan_module_tree(index, modules_dir, "", 0));
    }
    std::string builtin_path = path_join(modules_dir, "modules.builtin");
    if (exists(builtin_path)) {
        auto text = TRY(read_text_file(builtin_path, 16 << 20));
        for (auto line : split(text, '\n')) {
            line = trim(line);
            if (!line.empty())
                index.builtin.insert(module_name(line));
        }
    }
    return index;
}

// .ko.zst/.ko.gz through core's stream decompressor, into a memfd.
Result<std::vector<uint8_t>> read_module_bytes(std::string const& path)
{
    auto fd = TRY(open_file(path, O_RDONLY));
    uint8_t head[8] = {};
    size_t head_bytes = TRY(pread_full(fd.get(), head, 0, path));
    auto format = detect_stream_format(std::span<uint8_t const>(head, head_bytes));
    if (format == StreamFormat::None)
        return read_whole_file(fd.get(), path);
    if (!can_decompress_stream(format))
        return Error::unsupported(cat(path, ": ", stream_format_name(format), "-compressed, and kdumpbox has no ", stream_format_name(format), " decoder"));
    int raw = ::memfd_create("kdumpbox-module", MFD_CLOEXEC);
    if (raw < 0)
        return Error::from_errno(cat("memfd_create for ", path));
    UniqueFd out(raw);
    TRY(decompress_stream(fd.get(), out.get(), format, max_input_bytes, path));
    return read_whole_file(out.get(), cat(path, " (decompressed)"));
}

struct Resolver {
    ModuleIndex index;
    std::map<std::string, int> state; // 1: on the current path, 2: done
    std::vector<std::string> path;    // the current dependency chain, for cycle messages
    std::vector<ModuleFile> out;

    Result<std::vector<std::string>> dependencies_of(std::string const& name, ModuleInfo& info)
    {
        if (info.dependencies)
            return *info.dependencies;
        if (info.path.ends_with(".ko.xz"))
            return Error::unsupported(cat("module ", name, ": ", info.path, " is xz-compressed and kdumpbox has no xz decoder to read its dependencies from .modinfo; run `depmod ",
                base_name(index.modules_dir), "` so ", path_join(index.modules_dir, "modules.dep"), " exists"));
        auto dependencies = TRY(module_dependencies_from_modinfo(info.path).context(cat("module ", name)));
        for (auto& dependency : dependencies)
            dependency = module_name(dependency);
        info.dependencies = dependencies;
        return dependencies;
    }

    Result<void> visit(std::string const& name, std::string const& reason)
    {
        if (index.builtin.contains(name))
            return {};
        auto current = state[name];
        if (current == 2)
            return {};
        if (current == 1) {
            std::string chain;
            auto start = std::find(path.begin(), path.end(), name);
            for (auto it = start; it != path.end(); ++it)
                chain += cat(*it, " -> ");
            return Error::invalid(cat("module dependency cycle in ", index.modules_dir, ": ", chain, name));
        }
        auto found = index.modules.find(name);
        if (found == index.modules.end()) {
            std::string where = index.from_modules_dep ? cat("not in ", path_join(index.modules_dir, "modules.dep"))
                                                       : cat("no ", name, ".ko, .ko.xz, .ko.zst or .ko.gz under ", index.modules_dir);
            return Error::with_code(ENOENT, cat("module ", name, (reason == "extra_modules" ? std::string() : cat(" (", reason, ")")), ": not found: ", where,
                ", and not built in; is it the right kernel version?"));
        }
        state[name] = 1;
        path.push_back(name);
        auto dependencies = TRY(dependencies_of(name, found->second));
        for (auto const& dependency : dependencies)
            TRY(visit(dependency, cat("dependency of ", name)));
        path.pop_back();
        state[name] = 2;
        out.push_back(ModuleFile { found->second.path, name, reason });
        return {};
    }
};

} // namespace

std::string module_name(std::string_view name_or_path)
{
    std::string_view name = base_name(name_or_path);
    for (auto suffix : module_suffixes) {
        if (name.ends_with(suffix)) {
            name.remove_suffix(suffix.size());
            break;
        }
    }
    std::string out(name);
    std::replace(out.begin(), out.end(), '-', '_');
    return out;
}

Result<std::vector<std::string>> module_dependencies_from_modinfo(std::string const& module_path)
{
    auto bytes = TRY(read_module_bytes(module_path));
    auto elf = TRY(parse_elf(bytes, module_path));
    auto modinfo = TRY(find_section(elf, bytes, ".modinfo", module_path));
    if (!modinfo)
        return Error::invalid(cat(module_path, ": no .modinfo section; is this a kernel module?"));
    std::vector<std::string> dependencies;
    std::string_view text(reinterpret_cast<char const*>(modinfo->data()), modinfo->size());
    for (auto field : split(text, '\0')) {
        if (!field.starts_with("depends="))
            continue;
        for (auto name : split(field.substr(8), ',')) {
            name = trim(name);
            if (!name.empty())
                dependencies.emplace_back(name);
        }
    }
    return dependencies;
}

Result<std::vector<ModuleFile>> resolve_module_requests(std::string const& modules_dir, std::vector<ModuleRequest> const& requests)
{
    Resolver resolver;
    resolver.index = TRY(load_module_index(modules_dir));
    for (auto const& request : requests)
        TRY(resolver.visit(module_name(request.name), request.reason));
    return std::move(resolver.out);
}

Result<std::vector<ModuleFile>> resolve_modules(std::string modules_dir, std::vector<std::string> names)
{
    std::vector<ModuleRequest> requests;
    for (auto& name : names)
        requests.push_back({ std::move(name), "extra_modules" });
    return resolve_module_requests(modules_dir, requests);
}

// ---- Block devices ----

namespace {

bool is_major_minor(std::string_view text)
{
    auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size())
        return false;
    auto digits = [](std::string_view part) { return std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }); };
    return digits(text.substr(0, colon)) && digits(text.substr(colon + 1));
}

// The sysfs directory of a block device (the partition's own, if it is one).
Result<std::string> sysfs_block_directory(std::string const& sysfs_root, std::string const& device)
{
    std::vector<std::string> candidates;
    if (is_major_minor(device)) {
        candidates.push_back(cat(sysfs_root, "/dev/block/", device));
    } else {
        std::string name = std::string(base_name(device));
        if (device.starts_with('/')) {
            struct stat status;
            if (::stat(device.c_str(), &status) == 0 && S_ISBLK(status.st_mode))
                candidates.push_back(cat(sysfs_root, "/dev/block/", major(status.st_rdev), ':', minor(status.st_rdev)));
            // /dev/disk/by-uuid/... and /dev/mapper/... are links to the node.
            auto resolved = real_path(device);
            if (resolved.ok())
                name = std::string(base_name(resolved.value()));
        }
        candidates.push_back(cat(sysfs_root, "/class/block/", name));
    }
    for (auto const& candidate : candidates) {
        if (exists(candidate))
            return real_path(candidate);
    }
    return Error::with_code(ENOENT, cat(device, ": no such block device in ", sysfs_root, " (looked for ", candidates.back(), ")"));
}

void add_unique(std::vector<std::string>& list, std::string value)
{
    if (std::find(list.begin(), list.end(), value) == list.end())
        list.push_back(std::move(value));
}

// md's personality modules, by /sys/block/mdX/md/level.
std::optional<std::string> md_level_module(std::string_view level)
{
    if (level == "raid0" || level == "raid1" || level == "raid10" || level == "linear")
        return std::string(level);
    if (level == "raid4" || level == "raid5" || level == "raid6")
        return std::string("raid456");
    return std::nullopt;
}

// The drivers of a device and of every bus device above it (virtio_net,
// then virtio_pci), from their driver/module links.
Result<void> collect_device_chain_modules(std::string const& devices_root, std::string const& device_link, std::vector<std::string>& out)
{
    if (!exists(device_link))
        return {};
    std::string directory = TRY(real_path(device_link));
    while (directory.size() > devices_root.size() && directory.starts_with(devices_root + "/")) {
        if (auto module = read_link(path_join(directory, "driver/module")))
            add_unique(out, module_name(*module));
        directory = parent_directory(directory);
    }
    return {};
}

Result<void> collect_block_modules(std::string const& sysfs_root, std::string const& devices_root, std::string block_directory, std::vector<std::string>& out, unsigned depth)
{
    if (depth > 16)
        return Error::invalid(cat(block_directory, ": the slaves/ chain is more than 16 levels deep"));
    if (exists(path_join(block_directory, "partition")))
        block_directory = parent_directory(block_directory);

    std::string dm_directory = path_join(block_directory, "dm");
    if (is_directory(dm_directory)) {
        add_unique(out, "dm_mod");
        auto uuid = read_text_file(path_join(dm_directory, "uuid"));
        if (uuid.ok() && trim(uuid.value()).starts_with("CRYPT-"))
            add_unique(out, "dm_crypt");
    }
    std::string md_directory = path_join(block_directory, "md");
    if (is_directory(md_directory)) {
        add_unique(out, "md_mod");
        auto level = read_text_file(path_join(md_directory, "level"));
        if (level.ok()) {
            if (auto module = md_level_module(trim(level.value())))
                add_unique(out, *module);
        }
    }
    std::string slaves = path_join(block_directory, "slaves");
    if (is_directory(slaves)) {
        for (auto const& slave : TRY(list_directory(slaves))) {
            auto slave_directory = TRY(real_path(path_join(slaves, slave)));
            TRY(collect_block_modules(sysfs_root, devices_root, slave_directory, out, depth + 1));
        }
    }

    return collect_device_chain_modules(devices_root, path_join(block_directory, "device"), out);
}

} // namespace

Result<std::vector<std::string>> block_device_modules(std::string sysfs_root, std::string device)
{
    while (sysfs_root.size() > 1 && sysfs_root.back() == '/')
        sysfs_root.pop_back();
    std::string block_directory = TRY(sysfs_block_directory(sysfs_root, device));
    std::string devices_root = TRY(real_path(path_join(sysfs_root, "devices")));
    std::vector<std::string> out;
    TRY(collect_block_modules(sysfs_root, devices_root, block_directory, out, 0));
    return out;
}

Result<std::vector<std::string>> net_device_modules(std::string sysfs_root, std::string const& interface_name)
{
    while (sysfs_root.size() > 1 && sysfs_root.back() == '/')
        sysfs_root.pop_back();
    std::string directory = cat(sysfs_root, "/class/net/", interface_name);
    if (interface_name.empty() || interface_name.find('/') != std::string::npos || !exists(directory))
        return Error::with_code(ENODEV, cat("network interface '", interface_name, "': not in ", sysfs_root, "/class/net"));
    std::string devices_root = TRY(real_path(path_join(sysfs_root, "devices")));
    std::vector<std::string> out;
    TRY(collect_device_chain_modules(devices_root, path_join(directory, "device"), out));
    return out;
}

// ---- Shared libraries ----

namespace {

constexpr std::string_view default_library_directories[] = {
    "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
};

struct ElfIdentity {
    bool is_64bit;
    Endian endian;
    uint16_t machine;
};

// The class, byte order and machine of a file, or nullopt if it is not ELF.
std::optional<ElfIdentity> elf_identity(std::string const& path)
{
    auto fd = open_file(path, O_RDONLY);
    if (!fd.ok())
        return std::nullopt;
    uint8_t head[20] = {};
    auto got = pread_full(fd.value().get(), head, 0, path);
    if (!got.ok() || got.value() < sizeof head || !has_elf_magic(head) || (head[4] != 1 && head[4] != 2) || (head[5] != 1 && head[5] != 2))
        return std::nullopt;
    Endian endian = head[5] == 1 ? Endian::Little : Endian::Big;
    return ElfIdentity { head[4] == 2, endian, static_cast<uint16_t>(load_uint(head + 18, 2, endian)) };
}

std::string strip_root(std::string const& root, std::string const& path)
{
    std::string_view trimmed_root = root;
    while (!trimmed_root.empty() && trimmed_root.back() == '/')
        trimmed_root.remove_suffix(1);
    if (!trimmed_root.empty() && path.starts_with(trimmed_root) && path.size() > trimmed_root.size() && path[trimmed_root.size()] == '/')
        return path.substr(trimmed_root.size());
    return path;
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

Result<std::vector<SharedObject>> shared_libraries(std::string const& executable, std::string const& root)
{
    std::vector<SharedObject> out;
    std::set<std::string> seen; // image paths
    struct Pending {
        std::string source;
        std::string image_path;
    };
    std::vector<Pending> queue;
    queue.push_back({ executable, strip_root(root, executable) });
    std::optional<ElfIdentity> identity;

    for (size_t next = 0; next < queue.size(); ++next) {
        Pending current = queue[next];
        auto bytes = TRY(read_whole_file(current.source));
        auto elf = TRY(parse_elf(bytes, current.source));
        if (!identity)
            identity = ElfIdentity { elf.is_64bit, elf.endian, elf.machine };
        auto info = TRY(read_dynamic_info(elf, bytes, current.source));

        if (info.interpreter && !seen.contains(*info.interpreter)) {
            std::string source = under_root(root, *info.interpreter);
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
        for (auto directory : default_library_directories)
            directories.emplace_back(directory);

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
                std::string source = under_root(root, candidate);
                if (!is_regular_file(source))
                    continue;
                auto candidate_identity = elf_identity(source);
                if (!candidate_identity || candidate_identity->is_64bit != identity->is_64bit || candidate_identity->endian != identity->endian
                    || candidate_identity->machine != identity->machine)
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

// ---- The image ----

namespace {

// Feeds every byte into SHA-256.
class HashSink final : public cpio::Sink {
public:
    HashSink()
    {
        mbedtls_sha256_init(&m_context);
        mbedtls_sha256_starts(&m_context, 0);
    }
    ~HashSink() override { mbedtls_sha256_free(&m_context); }
    HashSink(HashSink const&) = delete;
    HashSink& operator=(HashSink const&) = delete;

    Result<void> write(std::span<uint8_t const> bytes) override
    {
        if (mbedtls_sha256_update(&m_context, bytes.data(), bytes.size()) != 0)
            return Error::invalid("SHA-256 update failed");
        return {};
    }
    Result<void> finish() override { return {}; }
    Result<std::string> hex_digest()
    {
        uint8_t digest[32];
        if (mbedtls_sha256_finish(&m_context, digest) != 0)
            return Error::invalid("SHA-256 finish failed");
        static constexpr char digits[] = "0123456789abcdef";
        std::string out;
        for (uint8_t byte : digest) {
            out.push_back(digits[byte >> 4]);
            out.push_back(digits[byte & 0xf]);
        }
        return out;
    }

private:
    mbedtls_sha256_context m_context;
};

// Writes to two sinks; finish() finishes the second (the first is a hash).
class TeeSink final : public cpio::Sink {
public:
    TeeSink(cpio::Sink& first, cpio::Sink& second) : m_first(first), m_second(second) { }
    Result<void> write(std::span<uint8_t const> bytes) override
    {
        TRY(m_first.write(bytes));
        return m_second.write(bytes);
    }
    Result<void> finish() override
    {
        TRY(m_first.finish());
        return m_second.finish();
    }

private:
    cpio::Sink& m_first;
    cpio::Sink& m_second;
};

// Hashed before the archive, so a change of compression changes the digest.
Result<void> hash_preamble(HashSink& hash, InitramfsSpec const& spec)
{
    std::string preamble = cat("kdumpbox-initramfs-v1\ncompression=", cpio::compression_name(spec.compression.compression), "\nlevel=", cpio::effective_level(spec.compression), '\n');
    return hash.write({ reinterpret_cast<uint8_t const*>(preamble.data()), preamble.size() });
}

struct Builder {
    cpio::Archive archive;
    std::map<std::string, std::string> reasons; // normalised path -> why

    explicit Builder(uint32_t mtime) : archive(mtime) { }

    Result<void> note(std::string_view path, std::string reason)
    {
        reasons[TRY(cpio::Archive::normalise_path(path))] = std::move(reason);
        return {};
    }
    Result<void> directory(std::string_view path, uint32_t permissions, std::string reason)
    {
        TRY(archive.add_directory(path, permissions));
        return note(path, std::move(reason));
    }
    Result<void> file_from_path(std::string_view path, std::string const& source, std::optional<uint32_t> permissions, std::string reason)
    {
        TRY(archive.add_file_from_path(path, source, permissions));
        return note(path, std::move(reason));
    }

    // A program at its own path, with what it needs to run: its shared
    // libraries, and for a script its interpreter. Already-present files
    // (a library two programs share) are kept as they are.
    Result<void> program(std::string const& path, std::string const& library_root, std::string const& reason, unsigned depth = 0)
    {
        if (!path.starts_with('/'))
            return Error::invalid(cat(path, ": ", reason, " must be an absolute path (it is placed at the same path in the initramfs)"));
        if (archive.contains(path))
            return {};
        std::string source = under_root(library_root, path);
        if (!is_regular_file(source))
            return Error::with_code(ENOENT, cat(source, " (", reason, "): no such file"));
        TRY(file_from_path(path, source, std::nullopt, reason));
        TRY(dependencies_of_program(path, source, library_root, depth));
        return {};
    }

    Result<void> dependencies_of_program(std::string const& path, std::string const& source, std::string const& library_root, unsigned depth)
    {
        uint8_t head[256] = {};
        size_t got;
        {
            auto fd = TRY(open_file(source, O_RDONLY));
            got = TRY(pread_full(fd.get(), head, 0, source));
        }
        std::span<uint8_t const> start(head, got);
        if (has_elf_magic(start)) {
            for (auto const& library : TRY(shared_libraries(source, library_root))) {
                if (archive.contains(library.path))
                    continue;
                std::string needed_by = library.needed_by == "(PT_INTERP)" ? "program interpreter" : cat("needed by ", library.needed_by == strip_root(library_root, source) ? path : library.needed_by);
                TRY(file_from_path(library.path, library.source, std::nullopt, cat("library of ", path, " (", needed_by, ")")));
            }
            return {};
        }
        if (got >= 2 && head[0] == '#' && head[1] == '!') {
            if (depth > 4)
                return Error::invalid(cat(path, ": a chain of #! interpreters more than 4 deep"));
            std::string_view line(reinterpret_cast<char const*>(head + 2), got - 2);
            line = line.substr(0, line.find('\n'));
            line = trim(line);
            auto interpreter = line.substr(0, line.find_first_of(" \t"));
            if (interpreter.empty())
                return Error::invalid(cat(path, ": a #! line without an interpreter"));
            TRY(program(std::string(interpreter), library_root, cat("interpreter of ", path), depth + 1));
        }
        return {};
    }
};

char kind_letter(cpio::EntryKind kind)
{
    switch (kind) {
    case cpio::EntryKind::Directory:
        return 'd';
    case cpio::EntryKind::File:
        return 'f';
    case cpio::EntryKind::Symlink:
        return 'l';
    case cpio::EntryKind::CharDevice:
        return 'c';
    }
    return '?';
}

std::string kernel_version_of(InitramfsSpec const& spec)
{
    if (!spec.kernel_version.empty())
        return spec.kernel_version;
    return std::string(base_name(spec.modules_dir));
}

} // namespace

Result<InitramfsPlan> plan_initramfs(InitramfsSpec const& spec)
{
    Builder builder(spec.mtime);
    auto& archive = builder.archive;

    // The skeleton: mount points the capture init uses, /tmp for scratch.
    // No /var/crash: dumps go to the target mounted under /mnt, never into
    // the initramfs's RAM.
    struct Skeleton {
        std::string_view path;
        uint32_t permissions;
        std::string_view reason;
    };
    static constexpr Skeleton skeleton[] = {
        { "/bin", 0755, "applet links" },
        { "/dev", 0755, "devtmpfs mount point" },
        { "/etc", 0755, "configuration" },
        { "/lib", 0755, "modules and libraries" },
        { core::capture_mount_point, 0755, "dump target mount point" },
        { "/proc", 0555, "procfs mount point (/proc/vmcore)" },
        { "/run", 0755, "tmpfs mount point" },
        { "/sys", 0555, "sysfs mount point" },
        { "/tmp", 01777, "scratch space" },
    };
    for (auto const& directory : skeleton)
        TRY(builder.directory(directory.path, directory.permissions, std::string(directory.reason)));

    // Until init mounts devtmpfs the kernel opens /dev/console from here
    // for PID 1's stdin/stdout/stderr.
    TRY(archive.add_char_device("/dev/console", 5, 1, 0600));
    TRY(builder.note("/dev/console", "initial console (before devtmpfs)"));

    if (spec.kdumpbox_binary.empty())
        return Error::invalid("initramfs: no kdumpbox binary given for /init");
    if (!is_regular_file(spec.kdumpbox_binary))
        return Error::with_code(ENOENT, cat("initramfs: ", spec.kdumpbox_binary, " (for /init): no such file"));
    TRY(builder.file_from_path("/init", spec.kdumpbox_binary, 0755, cat("kdumpbox (", spec.kdumpbox_binary, ")")));
    // The release binary is static and needs nothing; a development build
    // brings its libraries along.
    TRY(builder.dependencies_of_program("/init", spec.kdumpbox_binary, spec.library_root, 0));

    for (auto const& applet : spec.applets) {
        if (applet.empty() || applet.find('/') != std::string::npos || applet == "." || applet == "..")
            return Error::invalid(cat("initramfs: \"", applet, "\" is not an applet name"));
        std::string path = cat("/bin/", applet);
        TRY(archive.add_symlink(path, "/init"));
        TRY(builder.note(path, "applet"));
    }

    TRY(archive.add_file("/etc/kdump.conf", spec.kdump_conf, 0644));
    TRY(builder.note("/etc/kdump.conf", "resolved configuration"));

    if (!spec.modules.empty()) {
        std::string version = kernel_version_of(spec);
        if (version.empty() || version.find('/') != std::string::npos || version == "." || version == "..")
            return Error::invalid(cat("initramfs: no kernel version for /lib/modules (give kernel_version or modules_dir)"));
        std::string modules_root = cat("/lib/modules/", version);
        std::string prefix = spec.modules_dir.empty() ? std::string() : cat(spec.modules_dir.back() == '/' ? spec.modules_dir.substr(0, spec.modules_dir.size() - 1) : spec.modules_dir, '/');
        std::string load_order;
        for (auto const& module : spec.modules) {
            std::string relative = !prefix.empty() && module.path.starts_with(prefix) ? module.path.substr(prefix.size()) : cat("extra/", base_name(module.path));
            std::string path = cat(modules_root, '/', relative);
            TRY(builder.file_from_path(path, module.path, 0644, cat("module ", module.name, ": ", module.reason)));
            load_order += cat(path, '\n');
        }
        std::string order_path = "/lib/modules/load-order";
        TRY(archive.add_file(order_path, load_order, 0644));
        TRY(builder.note(order_path, "module load order, dependencies first"));
    }

    for (auto const& hook : spec.hooks)
        TRY(builder.program(hook, spec.library_root, "hook"));
    for (auto const& program : spec.extra_bins)
        TRY(builder.program(program, spec.library_root, "extra_bins"));

    for (auto const& extra : spec.extra_files) {
        std::string reason = extra.reason.empty() ? std::string("extra file") : extra.reason;
        if (extra.source_path.empty())
            TRY(archive.add_file(extra.path, extra.data, extra.permissions));
        else
            TRY(archive.add_file_from_path(extra.path, extra.source_path, extra.permissions));
        TRY(builder.note(extra.path, reason));
    }

    InitramfsPlan plan { std::move(archive), {} };
    for (auto const& [name, entry] : plan.archive.entries()) {
        ManifestEntry item {};
        item.path = cat('/', name);
        item.kind = kind_letter(entry.kind);
        item.permissions = entry.permissions;
        item.size = entry.kind == cpio::EntryKind::File || entry.kind == cpio::EntryKind::Symlink ? entry.size : 0;
        if (entry.kind == cpio::EntryKind::Symlink)
            item.detail = entry.target;
        if (entry.kind == cpio::EntryKind::CharDevice)
            item.detail = cat(entry.rdev_major, ':', entry.rdev_minor);
        auto reason = builder.reasons.find(name);
        item.reason = reason != builder.reasons.end() ? reason->second : std::string(entry.implicit ? "parent directory" : "");
        plan.manifest.push_back(std::move(item));
    }
    return plan;
}

Result<std::string> inputs_digest(InitramfsSpec const& spec)
{
    auto plan = TRY(plan_initramfs(spec));
    HashSink hash;
    TRY(hash_preamble(hash, spec));
    TRY(plan.archive.write(hash));
    return hash.hex_digest();
}

Result<InitramfsResult> build_initramfs(InitramfsSpec const& spec, std::string const& output_path)
{
    auto plan = TRY(plan_initramfs(spec));

    std::string temporary = cat(output_path, ".tmp-XXXXXX");
    int raw = ::mkostemp(temporary.data(), O_CLOEXEC);
    if (raw < 0)
        return Error::from_errno(cat("create a temporary file beside ", output_path));
    UniqueFd fd(raw);
    // Unlinked again on any failure below.
    struct Cleanup {
        std::string path;
        bool armed { true };
        ~Cleanup()
        {
            if (armed)
                ::unlink(path.c_str());
        }
    } cleanup { temporary };

    // The image may hold an ssh key: readable by root only.
    if (::fchmod(fd.get(), 0600) != 0)
        return Error::from_errno(cat("chmod ", temporary));

    InitramfsResult result;
    result.compression = spec.compression.compression;
    result.uncompressed_bytes = plan.archive.serialized_size();
    {
        cpio::FdSink file(fd.get(), temporary);
        cpio::CompressionOptions options = spec.compression;
        options.pledged_size = result.uncompressed_bytes;
        auto compressor = TRY(cpio::make_compressor(options, file));
        HashSink hash;
        TRY(hash_preamble(hash, spec));
        TeeSink tee(hash, *compressor);
        uint64_t written = TRY(plan.archive.write(tee));
        if (written != result.uncompressed_bytes)
            return Error::invalid(cat("initramfs: wrote ", written, " bytes but planned ", result.uncompressed_bytes));
        TRY(tee.finish());
        result.compressed_bytes = file.bytes_written();
        result.inputs_digest = TRY(hash.hex_digest());
    }
    if (::fsync(fd.get()) != 0)
        return Error::from_errno(cat("fsync ", temporary));
    TRY(fd.close_checked(temporary));
    TRY(rename_durably(temporary, output_path));
    cleanup.armed = false;

    result.manifest = std::move(plan.manifest);
    return result;
}

std::string format_manifest(std::vector<ManifestEntry> const& manifest)
{
    std::string out;
    for (auto const& item : manifest) {
        std::string mode(10, '-');
        mode[0] = item.kind == 'f' ? '-' : item.kind;
        static constexpr char letters[] = "rwxrwxrwx";
        for (int bit = 0; bit < 9; ++bit) {
            if (item.permissions & (0400u >> bit))
                mode[1 + bit] = letters[bit];
        }
        if (item.permissions & 01000)
            mode[9] = (item.permissions & 01) ? 't' : 'T';
        std::string size = cat(item.size);
        out += cat(mode, ' ', std::string(size.size() < 9 ? 9 - size.size() : 0, ' '), size, "  ", item.path);
        if (item.kind == 'l')
            out += cat(" -> ", item.detail);
        if (item.kind == 'c')
            out += cat(" (", item.detail, ')');
        if (!item.reason.empty())
            out += cat("  (", item.reason, ')');
        out += '\n';
    }
    return out;
}

} // namespace core::initramfs
