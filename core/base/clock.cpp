// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/base/clock.h"

#include <ctime>

namespace core {

uint64_t monotonic_ms()
{
    timespec now {};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
}

} // namespace core
