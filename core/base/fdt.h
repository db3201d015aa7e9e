// SPDX-License-Identifier: GPL-2.0-or-later
// Flattened device trees (DTB, devicetree specification ch. 5): the arm64
// classic loader takes the running kernel's tree from /sys/firmware/fdt,
// rewrites /chosen and hands the result to the next kernel. The blob is
// decoded through bounds-checked big-endian readers into a small tree,
// edited there, and written back as a fresh version-17 blob.
#pragma once

#include "core/base/error.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace core::fdt {

constexpr uint32_t magic = 0xd00dfeed;
// Linux's arm64 limit on the tree it is booted with (MAX_FDT_SIZE, 2 MiB);
// also the cap on what parse() accepts.
constexpr uint64_t max_blob_bytes = 2ull << 20;
// Deeper than any real tree; bounds the parser's stack of open nodes.
constexpr unsigned max_depth = 64;

struct Property {
    std::string name;
    std::vector<uint8_t> value;
};

struct Node {
    std::string name; // "memory@40000000"; "" for the root
    std::vector<Property> properties;
    std::vector<Node> children;

    Property const* property(std::string_view property_name) const;
    Node const* child(std::string_view child_name) const;
    Node* child(std::string_view child_name);
    // Replaces the value of an existing property (keeping its place), or appends one.
    void set_property(std::string_view property_name, std::vector<uint8_t> value);
    // Whether there was one to delete.
    bool delete_property(std::string_view property_name);
    // The child with that name, created (last) if there is none.
    Node& ensure_child(std::string_view child_name);
};

// One /memreserve/ entry of the memory reservation block.
struct ReservedRange {
    uint64_t address { 0 };
    uint64_t size_bytes { 0 };
    bool operator==(ReservedRange const&) const = default;
};

struct Tree {
    std::vector<ReservedRange> reserved;
    uint32_t boot_cpuid { 0 };
    Node root;

    // "/chosen", "/": the node at an absolute path of node names, or nullptr.
    Node const* node_at(std::string_view path) const;
    Node* node_at(std::string_view path);
};

// Decodes a DTB (version 16 or later, last compatible version at most 17).
// Every error names the byte offset where the blob went wrong.
Result<Tree> parse(std::span<uint8_t const> blob);
// A version-17 DTB: header, reservation block, structure block, strings
// block (each property name stored once).
std::vector<uint8_t> serialise(Tree const& tree);

// Property value helpers: cells are big-endian 32-bit words.
std::vector<uint8_t> cells_value(std::span<uint32_t const> cells);
// A number as `cell_count` cells (1 or 2), or an error when it does not fit.
Result<std::vector<uint8_t>> number_value(uint64_t number, uint32_t cell_count);
std::vector<uint8_t> string_value(std::string_view text); // with its NUL
// A one-cell property's value, or nullopt when absent or not 4 bytes.
std::optional<uint32_t> u32_property(Node const& node, std::string_view property_name);
// A string property without its NUL, or nullopt when absent or not NUL-terminated.
std::optional<std::string> string_property(Node const& node, std::string_view property_name);

} // namespace core::fdt
