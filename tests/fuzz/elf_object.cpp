// SPDX-License-Identifier: GPL-2.0-or-later
// The ELF reader the initramfs builder uses on kernel modules and
// executables: the header tables, .modinfo, the dynamic section; and the
// module reader itself (a compressed module is decompressed first).
#include "tests/fuzz/fuzz_support.h"

#include "core/vmcore/elf.h"
#include "initramfs/modules.h"

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size)
{
    fuzz::quiet_log();
    auto bytes = fuzz::bytes_of(data, size);
    (void)core::elf::identify(bytes);
    if (auto object = core::elf::parse_object(bytes, "fuzz.ko")) {
        (void)core::elf::find_section(*object, ".modinfo");
        (void)core::elf::read_dynamic_info(*object);
        (void)core::elf::file_offset_of(*object, 0x400000);
    }
    fuzz::InputFile input(bytes);
    (void)core::initramfs::module_dependencies_from_modinfo(input.path());
    return 0;
}
