// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/fdt_chosen.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"

#include <algorithm>
#include <cerrno>
#include <sys/random.h>

namespace core::fdt {

namespace {

// The devicetree specification's defaults when the root does not say.
constexpr uint32_t default_address_cells = 2;
constexpr uint32_t default_size_cells = 1;

struct Cells {
    uint32_t address;
    uint32_t size;
};

Result<Cells> root_cells(Tree const& tree)
{
    Cells cells {
        u32_property(tree.root, "#address-cells").value_or(default_address_cells),
        u32_property(tree.root, "#size-cells").value_or(default_size_cells),
    };
    if (cells.address < 1 || cells.address > 2 || cells.size < 1 || cells.size > 2)
        return Error::invalid("device tree: the root's #address-cells " + std::to_string(cells.address) + " / #size-cells " + std::to_string(cells.size) + " are not 1 or 2");
    return cells;
}

Result<std::vector<uint8_t>> ranges_value(std::span<Range const> ranges, Cells cells, std::string_view what)
{
    std::vector<uint8_t> value;
    for (auto const& range : ranges) {
        auto start = number_value(range.start, cells.address);
        auto size = number_value(range.size_bytes, cells.size);
        if (!start || !size)
            return Error::invalid(std::string(what) + " " + hex(range.start) + "+" + hex(range.size_bytes) + " does not fit the device tree's #address-cells " + std::to_string(cells.address) + " / #size-cells " + std::to_string(cells.size));
        value.insert(value.end(), start->begin(), start->end());
        value.insert(value.end(), size->begin(), size->end());
    }
    return value;
}

} // namespace

bool system_random_fill(std::span<uint8_t> buffer)
{
    size_t filled = 0;
    while (filled < buffer.size()) {
        ssize_t got = ::getrandom(buffer.data() + filled, buffer.size() - filled, GRND_NONBLOCK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        filled += static_cast<size_t>(got);
    }
    return true;
}

Result<void> rewrite_chosen(Tree& tree, ChosenRequest const& request, RandomFill const& random)
{
    Cells cells = TRY(root_cells(tree));
    Node& chosen = tree.root.ensure_child("chosen");

    chosen.set_property("bootargs", string_value(request.cmdline));

    if (request.initrd) {
        chosen.set_property("linux,initrd-start", TRY(number_value(request.initrd->start, 2)));
        auto end = checked_add(request.initrd->start, request.initrd->size_bytes);
        if (!end)
            return Error::invalid("initrd range " + hex(request.initrd->start) + "+" + hex(request.initrd->size_bytes) + " overflows");
        chosen.set_property("linux,initrd-end", TRY(number_value(*end, 2)));
    } else {
        chosen.delete_property("linux,initrd-start");
        chosen.delete_property("linux,initrd-end");
    }

    if (request.elfcorehdr) {
        Range header[1] = { *request.elfcorehdr };
        chosen.set_property("linux,elfcorehdr", TRY(ranges_value(header, cells, "the ELF core header")));
        std::vector<Range> usable = request.usable_memory;
        std::sort(usable.begin(), usable.end(), [](Range const& a, Range const& b) { return a.start > b.start; });
        chosen.set_property("linux,usable-memory-range", TRY(ranges_value(usable, cells, "the crash kernel range")));
    } else {
        chosen.delete_property("linux,elfcorehdr");
        chosen.delete_property("linux,usable-memory-range");
    }

    if (Property const* kaslr = chosen.property("kaslr-seed"); kaslr && kaslr->value.size() == 8) {
        std::vector<uint8_t> seed(8, 0);
        if (!random(seed))
            std::fill(seed.begin(), seed.end(), 0);
        chosen.set_property("kaslr-seed", std::move(seed));
    }

    std::vector<uint8_t> rng_seed(rng_seed_bytes, 0);
    if (random(rng_seed))
        chosen.set_property("rng-seed", std::move(rng_seed));
    else
        chosen.delete_property("rng-seed");
    return {};
}

Result<Tree> read_running_device_tree(std::string const& sysfs_root)
{
    std::string path = path_join(sysfs_root, "firmware/fdt");
    auto blob = TRY(read_file_bytes(path, max_blob_bytes).context(path));
    return parse(blob).context(path);
}

Result<std::vector<uint8_t>> build_next_device_tree(std::string const& sysfs_root, ChosenRequest const& request, RandomFill const& random)
{
    Tree tree = TRY(read_running_device_tree(sysfs_root));
    TRY(rewrite_chosen(tree, request, random));
    return serialise(tree);
}

} // namespace core::fdt
