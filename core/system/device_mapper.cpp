// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/device_mapper.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"

#include <bit>
#include <cerrno>
#include <cstddef>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace core {

namespace {

// The layout the kernel reads (linux/dm-ioctl.h); the encoder writes each
// field at these offsets in the host's byte order.
constexpr uint64_t ioctl_header_bytes = sizeof(struct dm_ioctl);
constexpr uint64_t target_spec_bytes = sizeof(struct dm_target_spec);
// dm_target_spec holds u64s, so each spec starts 8-byte aligned (the
// header asks for padding after the parameters; libdevmapper pads to 8).
constexpr uint64_t target_alignment = 8;
static_assert(ioctl_header_bytes % target_alignment == 0);
static_assert(target_spec_bytes % target_alignment == 0);

constexpr Endian host_endian = std::endian::native == std::endian::little ? Endian::Little : Endian::Big;

unsigned long request_of(DmCommand command)
{
    switch (command) {
    case DmCommand::Create:
        return DM_DEV_CREATE;
    case DmCommand::TableLoad:
        return DM_TABLE_LOAD;
    case DmCommand::Resume:
        return DM_DEV_SUSPEND;
    case DmCommand::Remove:
        return DM_DEV_REMOVE;
    }
    return 0;
}

std::string_view command_name(DmCommand command)
{
    switch (command) {
    case DmCommand::Create:
        return "create";
    case DmCommand::TableLoad:
        return "table load";
    case DmCommand::Resume:
        return "resume";
    case DmCommand::Remove:
        return "remove";
    }
    return "?";
}

} // namespace

std::string format_dm_table(std::vector<DmTarget> const& table)
{
    std::string out;
    for (auto const& target : table)
        out += cat(target.start_sectors, ' ', target.length_sectors, ' ', target.type, ' ', target.params, '\n');
    return out;
}

Result<std::vector<uint8_t>> encode_dm_ioctl(DmCommand command, std::string_view name, std::string_view uuid, std::vector<DmTarget> const& targets, uint32_t flags)
{
    if (name.empty() || name.size() >= DM_NAME_LEN || name.find('/') != std::string_view::npos || name == "." || name == ".." || name.find('\0') != std::string_view::npos)
        return Error::invalid(cat("device-mapper name \"", name, "\" must be 1 to ", DM_NAME_LEN - 1, " bytes without '/'"));
    if (uuid.size() >= DM_UUID_LEN || uuid.find('\0') != std::string_view::npos)
        return Error::invalid(cat("device-mapper uuid \"", uuid, "\" is longer than ", DM_UUID_LEN - 1, " bytes"));
    // The kernel finds a device by uuid alone when one is given, and
    // refuses a name with it: only create names both.
    if (command != DmCommand::Create && !uuid.empty())
        return Error::invalid(cat("device-mapper ", command_name(command), " of ", name, " must name the device only, without a uuid"));
    if (command != DmCommand::TableLoad && !targets.empty())
        return Error::invalid("device-mapper targets go with a table load only");

    ByteWriter out(host_endian);
    out.resize(ioctl_header_bytes);
    out.put_u32(offsetof(struct dm_ioctl, version) + 0, DM_VERSION_MAJOR);
    out.put_u32(offsetof(struct dm_ioctl, version) + 4, 0);
    out.put_u32(offsetof(struct dm_ioctl, version) + 8, 0);
    out.put_u32(offsetof(struct dm_ioctl, data_start), ioctl_header_bytes);
    out.put_u32(offsetof(struct dm_ioctl, target_count), static_cast<uint32_t>(targets.size()));
    out.put_u32(offsetof(struct dm_ioctl, flags), flags);
    out.put_string(offsetof(struct dm_ioctl, name), name);
    out.put_string(offsetof(struct dm_ioctl, uuid), uuid);

    uint64_t spec_offset = ioctl_header_bytes;
    for (auto const& target : targets) {
        if (target.type.empty() || target.type.size() >= DM_MAX_TYPE_NAME)
            return Error::invalid(cat("device-mapper target type \"", target.type, "\" must be 1 to ", DM_MAX_TYPE_NAME - 1, " bytes"));
        if (target.params.find('\0') != std::string::npos)
            return Error::invalid("device-mapper target parameters hold a NUL byte");
        if (target.length_sectors == 0)
            return Error::invalid(cat("device-mapper ", target.type, " target at sector ", target.start_sectors, " has length 0"));
        // The kernel splits the parameters at spaces and takes a backslash
        // as an escape, so a literal one is doubled.
        std::string params;
        for (char c : target.params) {
            if (c == '\\')
                params += '\\';
            params += c;
        }
        // params and their NUL, padded so the next spec is aligned.
        uint64_t spec_bytes = align_up(target_spec_bytes + params.size() + 1, target_alignment);
        out.put_u64(spec_offset + offsetof(struct dm_target_spec, sector_start), target.start_sectors);
        out.put_u64(spec_offset + offsetof(struct dm_target_spec, length), target.length_sectors);
        out.put_u32(spec_offset + offsetof(struct dm_target_spec, status), 0);
        out.put_u32(spec_offset + offsetof(struct dm_target_spec, next), static_cast<uint32_t>(spec_bytes));
        out.put_string(spec_offset + offsetof(struct dm_target_spec, target_type), target.type);
        out.put_string(spec_offset + target_spec_bytes, params);
        spec_offset += spec_bytes;
        if (spec_offset > UINT32_MAX)
            return Error::invalid("device-mapper table is larger than 4 GiB");
        out.resize(spec_offset);
    }
    out.put_u32(offsetof(struct dm_ioctl, data_size), static_cast<uint32_t>(spec_offset));
    auto bytes = out.bytes();
    return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

DmDeviceNumber decode_dm_device_number(uint64_t dev)
{
    // The kernel's huge_encode_dev: minor's low byte, major, then the rest
    // of minor from bit 20.
    return { static_cast<uint32_t>((dev >> 8) & 0xfff), static_cast<uint32_t>((dev & 0xff) | ((dev >> 12) & 0xfff00)) };
}

Result<DmDeviceNumber> dm_reply_device_number(std::vector<uint8_t> const& reply)
{
    ByteReader reader(reply, host_endian, "device-mapper reply");
    return decode_dm_device_number(TRY(reader.u64(offsetof(struct dm_ioctl, dev))));
}

namespace {

Result<std::vector<uint8_t>> run_dm_ioctl(int control, DmCommand command, std::string const& name, std::string const& uuid, std::vector<DmTarget> const& targets = {})
{
    auto buffer = TRY(encode_dm_ioctl(command, name, uuid, targets));
    if (::ioctl(control, request_of(command), buffer.data()) < 0)
        return Error::from_errno(cat("device-mapper ", command_name(command), " of ", name));
    return buffer;
}

Result<UniqueFd> open_control(DmOptions const& options)
{
    std::string control = path_join(options.dev_root, "mapper/control");
    if (!path_exists(control)) {
        // Without devtmpfs, make the node from the misc device's number.
        auto numbers = TRY(read_text_file(path_join(options.sysfs_root, "class/misc/device-mapper/dev"), 64).context("device-mapper is not in the kernel (load dm_mod)"));
        auto parts = split(trim(numbers), ':');
        if (parts.size() != 2)
            return Error::invalid(cat("device-mapper's device number \"", trim(numbers), "\" is not MAJOR:MINOR"));
        auto major_number = TRY(parse_u64(parts[0], "device-mapper major", 10));
        auto minor_number = TRY(parse_u64(parts[1], "device-mapper minor", 10));
        TRY(make_directories(path_join(options.dev_root, "mapper")));
        if (::mknod(control.c_str(), S_IFCHR | 0600, makedev(major_number, minor_number)) < 0 && errno != EEXIST)
            return Error::from_errno(control);
    }
    return open_file(control, O_RDWR);
}

Result<void> make_block_node(std::string const& path, DmDeviceNumber number)
{
    dev_t wanted = makedev(number.major, number.minor);
    struct stat status;
    if (::lstat(path.c_str(), &status) == 0) {
        if (S_ISBLK(status.st_mode) && status.st_rdev == wanted)
            return {};
        if (::unlink(path.c_str()) < 0)
            return Error::from_errno(cat("remove stale ", path));
    }
    if (::mknod(path.c_str(), S_IFBLK | 0600, wanted) < 0)
        return Error::from_errno(path);
    return {};
}

} // namespace

Result<std::string> create_dm_device(std::string const& name, std::string const& uuid, std::vector<DmTarget> const& table, DmOptions const& options)
{
    // Check every buffer before touching the kernel.
    TRY(encode_dm_ioctl(DmCommand::Create, name, uuid));
    TRY(encode_dm_ioctl(DmCommand::TableLoad, name, "", table));
    auto control = TRY(open_control(options));
    auto created = run_dm_ioctl(control.get(), DmCommand::Create, name, uuid);
    if (!created.ok()) {
        if (created.error().errno_code() == EBUSY)
            return Error::with_code(EBUSY, cat("a device-mapper device named ", name, " or with uuid ", uuid, " already exists"));
        return std::move(created).error();
    }
    auto finish = [&]() -> Result<std::string> {
        TRY(run_dm_ioctl(control.get(), DmCommand::TableLoad, name, "", table));
        auto resumed = TRY(run_dm_ioctl(control.get(), DmCommand::Resume, name, ""));
        auto number = TRY(dm_reply_device_number(resumed));
        std::string node = path_join(options.dev_root, cat("mapper/", name));
        TRY(make_directories(parent_directory(node)));
        TRY(make_block_node(node, number));
        return node;
    };
    auto node = finish();
    if (!node.ok()) {
        // Leave no half-made device behind: it would hold the PVs open.
        (void)run_dm_ioctl(control.get(), DmCommand::Remove, name, "");
    }
    return node;
}

} // namespace core
