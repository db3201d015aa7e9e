// SPDX-License-Identifier: GPL-2.0-or-later
// arm64 as the host: the capture kernel's command-line defaults.
#include "arch/host.h"

namespace arch {

std::string_view host_name() { return "aarch64"; }
bool host_supported() { return true; }

// What the first kernel's command line must not pass on to the capture
// kernel: kdump-utils' default KDUMP_COMMANDLINE_REMOVE list, which its
// aarch64 entry uses, plus crashkernel (as on x86_64, arch/x86_64/host_cmdline.cpp):
//   hugepages hugepagesz   boot-time huge page pools would eat the small
//                          crashkernel= reservation;
//   slub_debug             debug metadata costs memory and time;
//   quiet                  the capture kernel's messages are the only
//                          record of a failed dump: keep them on the console;
//   log_buf_len            a large log buffer costs reserved memory;
//   swiotlb                a big bounce buffer does not fit the reservation
//                          (the append list says swiotlb=noforce);
//   cma hugetlb_cma        CMA areas do not fit either (the append list sets
//                          both to 0);
//   ignition.firstboot     CoreOS provisioning must never run in the capture
//                          kernel;
//   crashkernel            a reservation inside the reservation.
std::string_view capture_cmdline_remove_default()
{
    return "hugepages hugepagesz slub_debug quiet log_buf_len swiotlb cma hugetlb_cma ignition.firstboot crashkernel";
}

// What the capture kernel always gets: kdump-utils' aarch64
// KDUMP_COMMANDLINE_APPEND (rhkdump/kdump-utils, gen-kdump-sysconfig.sh):
//   irqpoll                 the crashed kernel left interrupts in a state the
//                           new one does not know; poll for lost ones
//                           (kdump-utils drops it on AWS Graviton, where it
//                           hot-removes PCI devices; kdumpbox does not detect
//                           that: set KDUMP_COMMANDLINE_REMOVE=irqpoll there);
//   nr_cpus=1               one CPU: less memory for per-CPU data, and the
//                           other CPUs were stopped mid-flight anyway;
//   reset_devices           drivers reset their hardware instead of trusting
//                           its state;
//   cgroup_disable=memory   no memory cgroup accounting structures;
//   panic=10                if the capture kernel panics, reboot after 10 s
//                           rather than hang;
//   swiotlb=noforce         no swiotlb bounce buffer pool (64 MiB by
//                           default), more than the reservation can spare;
//   novmcoredd              no device dumps in /proc/vmcore: they cost
//                           memory and kdumpbox does not save them;
//   cma=0 hugetlb_cma=0     no CMA areas (see the remove list);
//   kfence.sample_interval=0  no KFENCE pool;
//   initcall_blacklist=tracer_init_tracefs debugfs=off cryptomgr.notests
//                           as on x86_64: no tracefs event files, no
//                           debugfs, no crypto self-tests at boot.
// Dropped, as on x86_64: udev.children-max=2 (kdumpbox's initramfs has no
// udev) and initramfs_options=size=90% (kdumpbox's image is one static
// binary). Not added: nokaslr (arm64 takes its KASLR seed from the device
// tree, and kexec's /chosen rewrite decides whether a capture kernel gets
// one).
std::string_view capture_cmdline_append_default()
{
    return "irqpoll nr_cpus=1 reset_devices cgroup_disable=memory panic=10 swiotlb=noforce novmcoredd cma=0 hugetlb_cma=0 "
           "kfence.sample_interval=0 initcall_blacklist=tracer_init_tracefs debugfs=off cryptomgr.notests";
}

// kdump-utils' aarch64 sizes, as `kdumpctl get-default-crashkernel` prints
// them for a 4K-page kernel ("2G-4G:256M,4G-64G:320M,64G-:576M"): its
// x86_64 figures plus 64M (arm64 kernels are larger and map more page
// tables). The first range starts at 1G, not 2G, as on x86_64: a "2 GiB"
// machine whose firmware keeps some RAM reports a little less than 2G and
// would otherwise get no reservation at all. kdump-utils
// adds 100M more for 64K-page kernels and 150-200M with mlx5 adapters;
// Debian ships 4K-page arm64 kernels (and a 16K flavour in trixie). Not
// yet reduced for kdumpbox's small capture as the x86_64 value is: that
// needs the arm64 capture measured the way tests/vm/sweep.sh measured
// x86_64 (`kdump estimate` gives this machine's own figure).
std::string_view default_crashkernel() { return "1G-4G:256M,4G-64G:320M,64G-:576M"; }

} // namespace arch
