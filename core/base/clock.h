// SPDX-License-Identifier: GPL-2.0-or-later
// The monotonic clock that deadlines and timeouts are measured on.
#pragma once

#include <cstdint>

namespace core {

// Milliseconds of CLOCK_MONOTONIC: only differences mean anything.
uint64_t monotonic_ms();

} // namespace core
