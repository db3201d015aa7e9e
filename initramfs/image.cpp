// SPDX-License-Identifier: GPL-2.0-or-later
#include "initramfs/image.h"

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/safe_file.h"
#include "core/base/strings.h"
#include "core/system/target.h"
#include "core/vmcore/elf.h"
#include "initramfs/libraries.h"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <mbedtls/sha256.h>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace core::initramfs {

namespace {

// Feeds every byte into SHA-256.
class HashSink final : public StreamSink {
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

// Hashed before the archive, so a change of compression changes the digest.
Result<void> hash_preamble(HashSink& hash, InitramfsSpec const& spec)
{
    std::string preamble = cat("kdumpbox-initramfs-v1\ncompression=", compression_name(spec.compression.compression), "\nlevel=", effective_level(spec.compression),
        "\nzstd-window-log=", initramfs_zstd_window_log, '\n');
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
        std::string source = path_under_root(library_root, path);
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
        if (elf::has_magic(std::span<uint8_t const>(head, got))) {
            for (auto const& library : TRY(shared_libraries(source, library_root))) {
                if (archive.contains(library.path))
                    continue;
                std::string needed_by = library.needed_by == "(PT_INTERP)" ? "program interpreter" : cat("needed by ", library.needed_by == path_without_root(library_root, source) ? path : library.needed_by);
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
    // No /var/crash: dumps go to the target mounted at capture_mount_point, never into
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
        std::string load_order;
        for (auto const& module : spec.modules) {
            std::string path = module_path_in_image(module, spec.modules_dir, version);
            std::string reason = cat("module ", module.name, ": ", module.reason);
            if (module.decompress) {
                // The capture kernel cannot decompress it (choose_module_storage).
                auto bytes = TRY(read_module_bytes(module.path));
                TRY(archive.add_file(path, std::string(bytes.begin(), bytes.end()), 0644));
                TRY(builder.note(path, cat(reason, ", decompressed from ", base_name(module.path))));
            } else {
                TRY(builder.file_from_path(path, module.path, 0644, reason));
            }
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
    for (auto const& program : spec.collectors)
        TRY(builder.program(program, spec.library_root, "core_collector"));

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

    // The image may hold an ssh key: 0600. A failed build leaves the old
    // image in place and nothing beside it.
    auto image = TRY(SafeFile::create_replacing(output_path, 0600, SafeFile::Leftover::Remove));

    InitramfsResult result;
    result.compression = spec.compression.compression;
    result.uncompressed_bytes = plan.archive.serialized_size();
    {
        FdSink file(image.fd(), image.incomplete_path());
        CompressionOptions options = spec.compression;
        options.pledged_size = result.uncompressed_bytes;
        options.max_window_log = initramfs_zstd_window_log;
        auto compressor = TRY(make_compressor(options, file));
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
    TRY(image.commit());

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

CompressionChoice choose_compression(std::string_view kernel_config_text, std::string_view config_name)
{
    std::set<std::string_view> enabled;
    for (auto line : split(kernel_config_text, '\n')) {
        line = trim(line);
        if (line.ends_with("=y") && line.starts_with("CONFIG_RD_"))
            enabled.insert(line.substr(0, line.size() - 2));
    }
    struct Candidate {
        std::string_view option;
        Compression compression;
    };
    static constexpr Candidate candidates[] = {
        { "CONFIG_RD_ZSTD", Compression::Zstd },
        { "CONFIG_RD_GZIP", Compression::Gzip },
        { "CONFIG_RD_LZ4", Compression::Lz4 },
    };
    for (auto const& candidate : candidates) {
        if (enabled.contains(candidate.option))
            return { candidate.compression, cat(candidate.option, "=y in ", config_name), {} };
    }
    return { Compression::None, cat("none of CONFIG_RD_ZSTD, CONFIG_RD_GZIP, CONFIG_RD_LZ4 is set in ", config_name),
        cat(config_name, ": the kernel has no zstd, gzip or lz4 initramfs decompressor; the initramfs is left uncompressed (larger, and it all sits in the crash kernel's memory)") };
}

Result<CompressionChoice> choose_compression_for_config_file(std::string const& kernel_config_path)
{
    auto text = TRY(read_text_file(kernel_config_path, 16 << 20));
    return choose_compression(text, kernel_config_path);
}

} // namespace core::initramfs
