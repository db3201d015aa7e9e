// SPDX-License-Identifier: GPL-2.0-or-later
// The makedumpfile command: its options (declared once, for the collector
// applet and for `kdump start`'s check of core_collector), and its rules
// between that parser and the collector: which mode the options ask for,
// the operands each mode takes, the message level and the log threshold it
// implies, and the codec fallback (-l and -p are accepted and write zstd,
// with one warning). Also how a core_collector line is run: kdump-utils'
// -F rule, shared by `kdump start` and the dumper.
#pragma once

#include "core/base/cli.h"
#include "core/base/error.h"
#include "core/dump/collector.h"

#include <optional>
#include <span>
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
    bool version { false }; // -v
};

// makedumpfile's options, declared on parser (the applet adds -h first),
// each storing into request, which must outlive the parser. Options
// makedumpfile has and this collector does not implement are refused by
// name with the reason.
void declare_makedumpfile_options(cli::OptionParser& parser, MakedumpfileRequest& request);
// args (no program name) through those declarations; the operands land in
// request.operands.
Result<MakedumpfileRequest> parse_makedumpfile_arguments(std::span<std::string const> args);

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
// With check_params nothing is printed and the log threshold is kept.
Result<MakedumpfilePlan> plan_makedumpfile(MakedumpfileRequest const& request);

// ---- core_collector ----

// How the capture side hands the dump to a core_collector, kdump-utils'
// conventions: a mounted target gives VMCORE and DIR/vmcore-incomplete as
// the last two arguments; a raw or ssh target gives VMCORE alone and takes
// a flattened stream from standard output.
enum class CollectorOutput { File, Stream };

// Whether argv runs kdumpbox's own makedumpfile: argv[0] is the bare name
// "makedumpfile", as kdump-utils decides.
bool runs_builtin_makedumpfile(std::vector<std::string> const& argv);

// kdump-utils' -F rule for makedumpfile: every "-F" word removed, then one
// added for Stream. Any other command comes back unchanged.
std::vector<std::string> collector_argv_for(std::vector<std::string> argv, CollectorOutput output);

// makedumpfile --check-params for a makedumpfile core_collector (already
// through collector_argv_for): its words through the one option parser and
// plan_makedumpfile, with the operands the capture side adds. Also refused:
// what parses but writes no dump (-R, --dump-dmesg, --check-params,
// --dry-run, -v), and a -F the rule cannot see ("-cF").
Result<void> check_makedumpfile_command(std::vector<std::string> const& argv, CollectorOutput output);

} // namespace core
