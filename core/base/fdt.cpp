// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/fdt.h"

#include "core/base/bytes.h"
#include "core/base/strings.h"

#include <algorithm>
#include <map>

namespace core::fdt {

namespace {

// Structure block tokens.
constexpr uint32_t token_begin_node = 1;
constexpr uint32_t token_end_node = 2;
constexpr uint32_t token_property = 3;
constexpr uint32_t token_nop = 4;
constexpr uint32_t token_end = 9;

constexpr uint64_t header_bytes = 40; // the version-17 header
constexpr uint64_t reserve_entry_bytes = 16;
constexpr uint32_t written_version = 17;
constexpr uint32_t written_last_compatible_version = 16;

Error blob_error(uint64_t offset, std::string_view what)
{
    return Error::invalid("device tree: " + std::string(what) + " at offset " + hex(offset));
}

struct Header {
    uint32_t total_bytes;
    uint32_t struct_offset;
    uint32_t strings_offset;
    uint32_t reserve_offset;
    uint32_t version;
    uint32_t last_compatible_version;
    uint32_t boot_cpuid;
    uint32_t strings_bytes;
    uint32_t struct_bytes;
};

Result<Header> read_header(ByteReader const& blob)
{
    if (blob.size() < header_bytes)
        return blob_error(blob.size(), "truncated header (" + std::to_string(blob.size()) + " bytes, needs 40)");
    ByteCursor cursor(blob);
    uint32_t found_magic = cursor.u32();
    Header header {};
    header.total_bytes = cursor.u32();
    header.struct_offset = cursor.u32();
    header.strings_offset = cursor.u32();
    header.reserve_offset = cursor.u32();
    header.version = cursor.u32();
    header.last_compatible_version = cursor.u32();
    header.boot_cpuid = cursor.u32();
    header.strings_bytes = cursor.u32();
    header.struct_bytes = cursor.u32();
    TRY(cursor.status());
    if (found_magic != magic)
        return blob_error(0, "bad magic " + hex(found_magic) + " (a DTB starts with 0xd00dfeed)");
    if (header.version < 16 || header.last_compatible_version > written_version)
        return blob_error(20, "unsupported version " + std::to_string(header.version) + " (last compatible " + std::to_string(header.last_compatible_version) + "; this reader takes 16 and 17)");
    if (header.total_bytes < header_bytes || header.total_bytes > blob.size())
        return blob_error(4, "total size " + std::to_string(header.total_bytes) + " outside the " + std::to_string(blob.size()) + " bytes given");
    if (header.version < 17) // no size_dt_struct yet: the block runs to the end
        header.struct_bytes = header.struct_offset <= header.total_bytes ? header.total_bytes - header.struct_offset : 0;
    if (!extent_within(header.struct_offset, header.struct_bytes, header.total_bytes))
        return blob_error(8, "structure block " + hex(header.struct_offset) + "+" + hex(header.struct_bytes) + " outside the blob");
    if (!extent_within(header.strings_offset, header.strings_bytes, header.total_bytes))
        return blob_error(12, "strings block " + hex(header.strings_offset) + "+" + hex(header.strings_bytes) + " outside the blob");
    if (header.reserve_offset < header_bytes - 4 || header.reserve_offset % 8 != 0 || header.reserve_offset >= header.total_bytes)
        return blob_error(16, "memory reservation block offset " + hex(header.reserve_offset) + " invalid");
    if (header.struct_offset % 4 != 0)
        return blob_error(8, "structure block offset " + hex(header.struct_offset) + " not 4-byte aligned");
    return header;
}

Result<std::vector<ReservedRange>> read_reserved(ByteReader const& blob, Header const& header)
{
    std::vector<ReservedRange> reserved;
    // The entry list ends with a zero entry; the blob's size bounds the loop.
    for (uint64_t offset = header.reserve_offset;; offset += reserve_entry_bytes) {
        if (!extent_within(offset, reserve_entry_bytes, header.total_bytes))
            return blob_error(offset, "memory reservation block without its terminating entry");
        uint64_t address = TRY(blob.u64(offset));
        uint64_t size_bytes = TRY(blob.u64(offset + 8));
        if (address == 0 && size_bytes == 0)
            return reserved;
        reserved.push_back({ address, size_bytes });
    }
}

// Walks the structure block token by token; a stack of the open nodes
// (capped at max_depth) replaces recursion.
Result<Node> read_structure(ByteReader const& blob, Header const& header)
{
    ByteReader structure = TRY(blob.sub(header.struct_offset, header.struct_bytes));
    ByteReader strings = TRY(blob.sub(header.strings_offset, header.strings_bytes));
    auto at = [&](uint64_t offset) { return header.struct_offset + offset; };

    Node root;
    bool root_seen = false;
    bool root_closed = false;
    std::vector<Node*> open;
    uint64_t offset = 0;
    for (;;) {
        if (!extent_within(offset, 4, structure.size()))
            return blob_error(at(offset), "structure block ends without FDT_END");
        uint32_t token = TRY(structure.u32(offset));
        uint64_t token_offset = offset;
        offset += 4;
        switch (token) {
        case token_nop:
            break;
        case token_begin_node: {
            if (root_closed)
                return blob_error(at(token_offset), "a second root node");
            if (open.size() >= max_depth)
                return blob_error(at(token_offset), "nodes nested deeper than " + std::to_string(max_depth));
            uint64_t remaining = structure.size() - offset;
            std::string_view name = TRY(structure.c_string(offset, remaining));
            if (name.size() == remaining)
                return blob_error(at(offset), "node name without its NUL");
            offset = align_up(offset + name.size() + 1, 4);
            if (!root_seen) {
                root_seen = true;
                root.name = std::string(name);
                open.push_back(&root);
            } else {
                Node& parent = *open.back();
                parent.children.push_back(Node { std::string(name), {}, {} });
                open.push_back(&parent.children.back());
            }
            break;
        }
        case token_end_node:
            if (open.empty())
                return blob_error(at(token_offset), "FDT_END_NODE without an open node");
            open.pop_back();
            if (open.empty())
                root_closed = true;
            break;
        case token_property: {
            if (open.empty())
                return blob_error(at(token_offset), "property outside any node");
            if (!extent_within(offset, 8, structure.size()))
                return blob_error(at(token_offset), "truncated property header");
            uint32_t length = TRY(structure.u32(offset));
            uint32_t name_offset = TRY(structure.u32(offset + 4));
            offset += 8;
            if (!extent_within(offset, length, structure.size()))
                return blob_error(at(token_offset), "property value of " + std::to_string(length) + " bytes past the structure block");
            if (name_offset >= strings.size())
                return blob_error(at(token_offset + 8), "property name offset " + hex(name_offset) + " outside the strings block");
            std::string_view name = TRY(strings.c_string(name_offset, strings.size() - name_offset));
            if (name.size() == strings.size() - name_offset)
                return blob_error(header.strings_offset + name_offset, "property name without its NUL");
            auto value = TRY(structure.bytes(offset, length));
            open.back()->properties.push_back(Property { std::string(name), std::vector<uint8_t>(value.begin(), value.end()) });
            offset = align_up(offset + length, 4);
            break;
        }
        case token_end:
            if (!root_closed)
                return blob_error(at(token_offset), root_seen ? "FDT_END inside an open node" : "FDT_END before the root node");
            return root;
        default:
            return blob_error(at(token_offset), "unknown structure token " + hex(token));
        }
    }
}

class StringTable {
public:
    uint32_t offset_of(std::string const& name)
    {
        auto [it, inserted] = m_offsets.try_emplace(name, static_cast<uint32_t>(m_bytes.size()));
        if (inserted) {
            m_bytes.insert(m_bytes.end(), name.begin(), name.end());
            m_bytes.push_back(0);
        }
        return it->second;
    }
    std::vector<uint8_t> const& bytes() const { return m_bytes; }

private:
    std::map<std::string, uint32_t> m_offsets;
    std::vector<uint8_t> m_bytes;
};

void put_aligned(std::vector<uint8_t>& out, std::span<uint8_t const> bytes)
{
    out.insert(out.end(), bytes.begin(), bytes.end());
    out.resize(align_up(out.size(), 4), 0);
}

void put_u32(std::vector<uint8_t>& out, uint32_t value)
{
    uint8_t word[4];
    store_uint(word, 4, value, Endian::Big);
    out.insert(out.end(), word, word + 4);
}

// Our own trees are bounded by what parse() accepted plus a few edits, so
// recursion depth stays within max_depth + the edits' nesting.
void write_node(std::vector<uint8_t>& out, StringTable& strings, Node const& node)
{
    put_u32(out, token_begin_node);
    std::vector<uint8_t> name(node.name.begin(), node.name.end());
    name.push_back(0);
    put_aligned(out, name);
    for (auto const& property : node.properties) {
        put_u32(out, token_property);
        put_u32(out, static_cast<uint32_t>(property.value.size()));
        put_u32(out, strings.offset_of(property.name));
        put_aligned(out, property.value);
    }
    for (auto const& child : node.children)
        write_node(out, strings, child);
    put_u32(out, token_end_node);
}

} // namespace

Property const* Node::property(std::string_view property_name) const
{
    auto it = std::find_if(properties.begin(), properties.end(), [&](Property const& p) { return p.name == property_name; });
    return it == properties.end() ? nullptr : &*it;
}

Node const* Node::child(std::string_view child_name) const
{
    auto it = std::find_if(children.begin(), children.end(), [&](Node const& n) { return n.name == child_name; });
    return it == children.end() ? nullptr : &*it;
}

Node* Node::child(std::string_view child_name)
{
    return const_cast<Node*>(std::as_const(*this).child(child_name));
}

void Node::set_property(std::string_view property_name, std::vector<uint8_t> value)
{
    for (auto& property : properties) {
        if (property.name == property_name) {
            property.value = std::move(value);
            return;
        }
    }
    properties.push_back(Property { std::string(property_name), std::move(value) });
}

bool Node::delete_property(std::string_view property_name)
{
    auto removed = std::erase_if(properties, [&](Property const& p) { return p.name == property_name; });
    return removed > 0;
}

Node& Node::ensure_child(std::string_view child_name)
{
    if (Node* existing = child(child_name))
        return *existing;
    children.push_back(Node { std::string(child_name), {}, {} });
    return children.back();
}

Node const* Tree::node_at(std::string_view path) const
{
    if (path.empty() || path.front() != '/')
        return nullptr;
    Node const* node = &root;
    for (auto const& part : split(path.substr(1), '/')) {
        if (part.empty())
            continue;
        node = node->child(part);
        if (!node)
            return nullptr;
    }
    return node;
}

Node* Tree::node_at(std::string_view path)
{
    return const_cast<Node*>(std::as_const(*this).node_at(path));
}

Result<Tree> parse(std::span<uint8_t const> blob)
{
    if (blob.size() > max_blob_bytes)
        return Error::invalid("device tree: " + std::to_string(blob.size()) + " bytes, more than the 2 MiB Linux boots with");
    ByteReader reader(blob, Endian::Big, "device tree");
    Header header = TRY(read_header(reader));
    Tree tree;
    tree.boot_cpuid = header.boot_cpuid;
    tree.reserved = TRY(read_reserved(reader, header));
    tree.root = TRY(read_structure(reader, header));
    return tree;
}

std::vector<uint8_t> serialise(Tree const& tree)
{
    std::vector<uint8_t> structure;
    StringTable strings;
    write_node(structure, strings, tree.root);
    put_u32(structure, token_end);

    uint64_t reserve_offset = header_bytes;
    uint64_t reserve_bytes = (tree.reserved.size() + 1) * reserve_entry_bytes;
    uint64_t struct_offset = reserve_offset + reserve_bytes;
    uint64_t strings_offset = struct_offset + structure.size();
    uint64_t total_bytes = strings_offset + strings.bytes().size();

    ByteWriter out(Endian::Big);
    out.resize(total_bytes);
    out.put_u32(0, magic);
    out.put_u32(4, static_cast<uint32_t>(total_bytes));
    out.put_u32(8, static_cast<uint32_t>(struct_offset));
    out.put_u32(12, static_cast<uint32_t>(strings_offset));
    out.put_u32(16, static_cast<uint32_t>(reserve_offset));
    out.put_u32(20, written_version);
    out.put_u32(24, written_last_compatible_version);
    out.put_u32(28, tree.boot_cpuid);
    out.put_u32(32, static_cast<uint32_t>(strings.bytes().size()));
    out.put_u32(36, static_cast<uint32_t>(structure.size()));
    uint64_t offset = reserve_offset;
    for (auto const& range : tree.reserved) {
        out.put_u64(offset, range.address);
        out.put_u64(offset + 8, range.size_bytes);
        offset += reserve_entry_bytes;
    }
    // The terminating zero entry is already zero.
    out.put_bytes(struct_offset, structure);
    out.put_bytes(strings_offset, strings.bytes());
    auto bytes = out.bytes();
    return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

std::vector<uint8_t> cells_value(std::span<uint32_t const> cells)
{
    std::vector<uint8_t> value;
    for (uint32_t cell : cells)
        put_u32(value, cell);
    return value;
}

Result<std::vector<uint8_t>> number_value(uint64_t number, uint32_t cell_count)
{
    if (cell_count == 2) {
        uint32_t cells[2] = { static_cast<uint32_t>(number >> 32), static_cast<uint32_t>(number) };
        return cells_value(cells);
    }
    if (cell_count == 1 && number <= UINT32_MAX) {
        uint32_t cell = static_cast<uint32_t>(number);
        return cells_value(std::span(&cell, 1));
    }
    return Error::invalid("device tree: " + hex(number) + " does not fit in " + std::to_string(cell_count) + " cell(s)");
}

std::vector<uint8_t> string_value(std::string_view text)
{
    std::vector<uint8_t> value(text.begin(), text.end());
    value.push_back(0);
    return value;
}

std::optional<uint32_t> u32_property(Node const& node, std::string_view property_name)
{
    Property const* property = node.property(property_name);
    if (!property || property->value.size() != 4)
        return std::nullopt;
    return static_cast<uint32_t>(load_uint(property->value.data(), 4, Endian::Big));
}

std::optional<std::string> string_property(Node const& node, std::string_view property_name)
{
    Property const* property = node.property(property_name);
    if (!property || property->value.empty() || property->value.back() != 0)
        return std::nullopt;
    return std::string(property->value.begin(), property->value.end() - 1);
}

} // namespace core::fdt
