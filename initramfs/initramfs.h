// SPDX-License-Identifier: GPL-2.0-or-later
// The capture-initramfs builder, for callers that use several parts of it
// (kdump start/rebuild). Each part has its own header:
// - image.h: the spec, planning, the digest, building and the manifest;
// - modules.h: kernel modules and their dependencies, in load order;
// - libraries.h: the shared libraries a program needs (ld.so's search);
// - newc.h: the deterministic newc archive writer.
// The sysfs driver chains of a device are core/system/device_modules.h,
// the compressors core/compress/compress.h. initramfs/README.md describes
// the image.
#pragma once

#include "core/system/device_modules.h"
#include "initramfs/image.h"
#include "initramfs/libraries.h"
#include "initramfs/modules.h"
#include "initramfs/newc.h"
