// SPDX-License-Identifier: GPL-2.0-or-later
// The makedumpfile command's rules, between its option parser (the
// collector applet) and the collector: which mode the options ask for, the
// operands each mode takes, the message level and the log threshold it
// implies, and the codec fallback (-l and -p are accepted and write zstd,
// with one warning).
#pragma once

#include "core/base/error.h"
#include "core/dump/collector.h"

#include <optional>
#include <string>
#include <vector>

namespace core {

// The command line as parsed, before any rule is applied.
struct MakedumpfileRequest {
    std::vector<std::string> operands;
    // What the parser fills in directly: dump level, -f, --dry-run,
    // --non-mmap, --no-page-sharing, --num-threads, --cyclic-buffer.
    CollectorOptions options;
    bool zlib { false };   // -c
    bool lzo { false };    // -l
    bool snappy { false }; // -p
    bool zstd { false };   // -z
    bool elf { false };    // -E
    bool flatten { false };   // -F
    bool rearrange { false }; // -R
    bool dump_dmesg { false };
    bool check_params { false };
    bool show_stats { false };
    bool debug { false }; // -D
    std::optional<int> message_level;
    bool stdout_is_terminal { false };
};

enum class MakedumpfileMode {
    Collect,   // VMCORE DUMPFILE, or -F VMCORE > STREAM
    Rebuild,   // -R DUMPFILE < STREAM
    DumpDmesg, // --dump-dmesg VMCORE LOGFILE
};

struct MakedumpfilePlan {
    MakedumpfileMode mode { MakedumpfileMode::Collect };
    // Collect: everything collect() needs. Rebuild: output_path and
    // overwrite. DumpDmesg: input_path, output_path and overwrite.
    CollectorOptions options;
    // --check-params: the options are fine; do nothing more.
    bool check_only { false };
};

// Applies makedumpfile's rules to request. As makedumpfile does, the log
// threshold the message level implies is set and the -l/-p warning is
// printed first, then the mode's operands are checked; errors use
// makedumpfile's usage lines.
Result<MakedumpfilePlan> plan_makedumpfile(MakedumpfileRequest const& request);

} // namespace core
