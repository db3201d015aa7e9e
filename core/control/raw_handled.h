// SPDX-License-Identifier: GPL-2.0-or-later
// The raw target's streams that `kdump start` has rebuilt as far as they
// go but could not finish (no end record: the capture stopped early).
// Such a stream keeps its header, so it can still be rebuilt by hand, and
// is recorded here by its identity, so that it is rebuilt once, into
// vmcore-incomplete, and not again at every boot. The record is one line
// per device, "DEVICE SHA256:...", in /var/lib/kdumpbox/raw-handled.
#pragma once

#include "core/base/error.h"

#include <string>

namespace core {

// What tells one stream from the next on the same device: the SHA-256 of
// its first MiB (the stream header, then the dump's own header with the
// crashed kernel's timestamp and name), as "SHA256:base64".
Result<std::string> raw_stream_identity(std::string const& device);

// Whether record_path says device's stream with this identity was handled.
// A missing or unreadable record says no: the stream is rebuilt again.
bool raw_stream_handled(std::string const& record_path, std::string const& device, std::string const& identity);

// Records it (replacing the device's earlier line), atomically.
Result<void> record_raw_stream_handled(std::string const& record_path, std::string const& device, std::string const& identity);

} // namespace core
