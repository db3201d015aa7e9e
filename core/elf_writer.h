// SPDX-License-Identifier: GPL-2.0-or-later
// Placeholder: the ELF dump writer (-E) is being written.
#pragma once
