// SPDX-License-Identifier: GPL-2.0-or-later
// The VMCOREINFO note: "KEY=VALUE" lines the crashed kernel exported so that
// tools can find its structures without debug info.
#pragma once

#include "core/base/error.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace core {

// A kernel release's major.minor ("6.1.0-28-cloud-amd64" -> 6.1), for the
// facts that changed between releases.
struct KernelVersion {
    bool known { false };
    uint64_t major { 0 };
    uint64_t minor { 0 };
    // Unknown versions count as new: the facts of current kernels.
    bool at_least(uint64_t wanted_major, uint64_t wanted_minor) const
    {
        if (!known)
            return true;
        return major > wanted_major || (major == wanted_major && minor >= wanted_minor);
    }
};
KernelVersion parse_kernel_version(std::string_view osrelease);

class VmcoreInfo {
public:
    // Every key form: SYMBOL(x)=hex, SIZE(x)/OFFSET(s.m)/LENGTH(x)=decimal,
    // NUMBER(x)=decimal (arm64 writes some in 0x hex; both are taken),
    // KERNELOFFSET=hex, CRASHTIME=decimal, OSRELEASE=text, PAGESIZE=decimal,
    // BUILD-ID=hex text. Unknown keys are kept (value()). A malformed line
    // costs only its own entry, as in makedumpfile (which looks entries up
    // one at a time): it is left out and described in warnings(), so one
    // damaged line cannot take dump levels or dmesg down with it.
    static Result<VmcoreInfo> parse(std::string_view text);

    // One message per line that was left out, naming the line.
    std::vector<std::string> const& warnings() const { return m_warnings; }

    std::optional<uint64_t> symbol(std::string_view name) const;  // SYMBOL(name)
    std::optional<uint64_t> size(std::string_view name) const;    // SIZE(name)
    std::optional<uint64_t> offset(std::string_view struct_member) const; // OFFSET(page.flags)
    std::optional<uint64_t> length(std::string_view name) const;  // LENGTH(name)
    std::optional<int64_t> number(std::string_view name) const;   // NUMBER(name)
    std::optional<std::string_view> value(std::string_view key) const; // raw, any key

    std::string_view osrelease() const;                 // "" if absent
    KernelVersion kernel_version() const { return parse_kernel_version(osrelease()); }
    std::optional<uint64_t> page_size() const;          // PAGESIZE
    std::optional<uint64_t> kernel_offset() const;      // KERNELOFFSET (KASLR)
    std::optional<int64_t> crash_time() const;          // CRASHTIME, seconds
    std::string_view text() const { return m_text; }

private:
    std::string m_text;
    std::map<std::string, std::string, std::less<>> m_values;
    std::vector<std::string> m_warnings;
};

} // namespace core
