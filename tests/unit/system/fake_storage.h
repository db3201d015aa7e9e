// SPDX-License-Identifier: GPL-2.0-or-later
// A fake sysfs and /dev for the tests of a dump target's device stack
// (tests/unit/system/test_storage_stack.cpp, the control tests): block
// devices laid out as the kernel does, made of directories, links and
// regular files.
#pragma once

#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/safe_file.h"
#include "core/base/strings.h"
#include "core/system/storage_stack.h"
#include "tests/unit/test_support.h"

#include <cerrno>
#include <doctest.h>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

namespace fake_storage {

inline void put(std::string const& path, std::string_view text)
{
    REQUIRE(core::make_parent_directories(path).ok());
    REQUIRE(core::write_text_atomically(path, text).ok());
}

inline void link(std::string const& target, std::string const& link_path)
{
    REQUIRE(core::make_parent_directories(link_path).ok());
    REQUIRE(::symlink(target.c_str(), link_path.c_str()) == 0);
}

// sysfs as the kernel lays it out for block devices: real directories under
// devices/, class/block/NAME and dev/block/MAJ:MIN links to them, nodes in
// dev/ (regular files: the code under test only reads them).
struct FakeStorage {
    std::unique_ptr<test_support::ScratchDir> owned;
    std::string root; // holds sys/ and dev/
    core::FindOptions options;
    std::string sys;
    unsigned next_minor { 0 };

    FakeStorage()
        : FakeStorage(std::make_unique<test_support::ScratchDir>("kdumpbox-storage"))
    {
    }
    // sys/ and dev/ under root, which another fixture owns.
    explicit FakeStorage(std::string root_directory)
    {
        root = std::move(root_directory);
        sys = root + "/sys";
        options.sysfs_root = sys;
        options.dev_root = root + "/dev";
        options.timeout = std::chrono::milliseconds(0);
        REQUIRE(core::make_directories(sys + "/devices").ok());
        REQUIRE(core::make_directories(options.dev_root).ok());
    }
    explicit FakeStorage(std::unique_ptr<test_support::ScratchDir> directory)
        : FakeStorage(directory->path)
    {
        owned = std::move(directory);
    }
    // A device directory at `parent`/NAME, registered and given a node.
    std::string add(std::string const& parent, std::string const& name, std::string_view node_content = "")
    {
        std::string path = parent + "/" + name;
        REQUIRE(core::make_directories(path).ok());
        unsigned minor = next_minor++;
        put(path + "/dev", core::cat("254:", minor, "\n"));
        link(path, sys + "/class/block/" + name);
        link(path, core::cat(sys, "/dev/block/254:", minor));
        put(options.dev_root + "/" + name, node_content);
        return path;
    }
    std::string disk(std::string const& name, std::string_view content = "") { return add(sys + "/devices/pci0000:00/0000:00:04.0/virtio1/block", name, content); }
    std::string partition(std::string const& whole, std::string const& name, unsigned number, std::string_view content = "")
    {
        std::string path = add(whole, name, content);
        put(path + "/partition", core::cat(number, "\n"));
        return path;
    }
    // A dm or md device, or another virtual one, stacked on `slaves`.
    std::string holder(std::string const& name, std::vector<std::string> const& slaves)
    {
        std::string path = add(sys + "/devices/virtual/block", name);
        REQUIRE(core::make_directories(path + "/slaves").ok());
        for (auto const& slave : slaves)
            link(slave, path + "/slaves/" + std::string(core::base_name(slave)));
        return path;
    }
    std::string dm(std::string const& name, std::string_view uuid, std::vector<std::string> const& slaves)
    {
        std::string path = holder(name, slaves);
        put(path + "/dm/uuid", core::cat(uuid, "\n"));
        put(path + "/dm/name", name + "\n");
        return path;
    }
    std::string md(std::string const& name, std::vector<std::string> const& slaves)
    {
        std::string path = holder(name, slaves);
        put(path + "/md/level", "raid1\n");
        return path;
    }

    core::HostBlockDevice device(std::string const& name)
    {
        auto found = core::host_block_device(core::DeviceSpec { core::DeviceSpec::Kind::Path, "/dev/" + name }, options);
        REQUIRE_MESSAGE(found.ok(), found.error().message());
        return found.value();
    }
    core::Result<core::StorageStack> stack(std::string const& name) { return core::check_storage_stack(device(name), options); }
    std::string refusal(std::string const& name)
    {
        auto checked = stack(name);
        REQUIRE_FALSE(checked.ok());
        CHECK(checked.error().errno_code() == ENOTSUP);
        return checked.error().message();
    }
};

// An ext4 image with a known UUID, made by mke2fs (the oracle); empty when
// mkfs.ext4 is missing.
inline std::string ext4_image(std::string const& directory, std::string const& uuid)
{
    std::string image = directory + "/ext4-" + uuid + ".img";
    std::string output = test_support::run_output(core::cat("truncate -s 4M '", image, "' && mkfs.ext4 -q -F -U ", uuid, " '", image, "' >/dev/null 2>&1 && echo done"));
    if (output != "done")
        return {};
    return core::read_text_file(image, 8 << 20).value_or("");
}

} // namespace fake_storage
