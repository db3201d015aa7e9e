// SPDX-License-Identifier: GPL-2.0-or-later
// x86_64 as the host: the capture kernel's command-line defaults.
#include "arch/host.h"

namespace arch {

std::string_view host_name() { return "x86_64"; }
bool host_supported() { return true; }

// What the first kernel's command line must not pass on to the capture
// kernel. kdump-utils' x86_64 KDUMP_COMMANDLINE_REMOVE list, plus crashkernel
// (kdump-utils drops it unconditionally; core/kdump_conf does too, so a user
// list without it is still safe):
//   hugepages hugepagesz   boot-time huge page pools would eat the small
//                          crashkernel= reservation;
//   slub_debug             debug metadata costs memory and time;
//   quiet                  the capture kernel's messages are the only
//                          record of a failed dump: keep them on the console;
//   log_buf_len            a large log buffer costs reserved memory;
//   swiotlb                a big bounce buffer does not fit the reservation;
//   cma hugetlb_cma        CMA areas do not fit either (the append list sets
//                          both to 0);
//   ignition.firstboot     CoreOS provisioning must never run in the capture
//                          kernel;
//   crashkernel            a reservation inside the reservation.
std::string_view capture_cmdline_remove_default()
{
    return "hugepages hugepagesz slub_debug quiet log_buf_len swiotlb cma hugetlb_cma ignition.firstboot crashkernel";
}

// What the capture kernel always gets. kdump-utils' x86_64
// KDUMP_COMMANDLINE_APPEND with its common part (rhkdump/kdump-utils,
// gen-kdump-sysconfig.sh), minus what only matters to a dracut/systemd
// initramfs:
//   irqpoll                 the crashed kernel left interrupts in a state the
//                           new one does not know; poll for lost ones;
//   nr_cpus=1               one CPU: less memory for per-CPU data, and the
//                           other CPUs were stopped mid-flight anyway (the
//                           collector runs one thread per CPU it sees, so
//                           raise this to dump faster if memory allows);
//   reset_devices           drivers reset their hardware instead of trusting
//                           its state;
//   cgroup_disable=memory   no memory cgroup accounting structures;
//   mce=off                 no machine-check handling for errors the crashed
//                           kernel may have caused;
//   numa=off                one node: fewer per-node structures;
//   panic=10                if the capture kernel panics, reboot after 10 s
//                           rather than hang (the last-resort final action);
//   acpi_no_memhotplug      no ACPI memory hotplug scanning;
//   transparent_hugepage=never  no THP allocation in a tiny memory;
//   nokaslr                 a fixed layout inside the reservation;
//   hest_disable            no APEI hardware-error sources: firmware
//                           error records left over from the crash are the
//                           first kernel's business;
//   novmcoredd              no device dumps in /proc/vmcore: they cost
//                           memory and kdumpbox does not save them;
//   cma=0 hugetlb_cma=0     no CMA areas (see the remove list);
//   pcie_ports=compat       no PCIe port services (AER, hotplug, PME) that
//                           misbehave on devices the crash left half set up;
//   kfence.sample_interval=0  no KFENCE pool.
// Added (issue #16, the crashkernel floor; nothing in the capture reads
// either, and kernels that do not know them pass them on to /init, which
// ignores them):
//   initcall_blacklist=tracer_init_tracefs  no tracefs event files: on 6.1
//                           they are thousands of inodes and dentries built
//                           before /init runs;
//   debugfs=off             no debugfs files for the drivers that probe;
//   cryptomgr.notests       no self-tests of each crypto algorithm as it
//                           registers: at crashkernel=64M the 6.1 kernel ran
//                           out of memory in a cryptomgr_test thread. The
//                           kernel ignores it in FIPS mode.
// Dropped: udev.children-max=2 (kdumpbox's initramfs has no udev) and
// initramfs_options=size=90% (it lets a large dracut image unpack into the
// initramfs tmpfs; kdumpbox's image is one static binary, and kernels that
// do not know the option pass it on to init).
std::string_view capture_cmdline_append_default()
{
    return "irqpoll nr_cpus=1 reset_devices cgroup_disable=memory mce=off numa=off panic=10 acpi_no_memhotplug "
           "transparent_hugepage=never nokaslr hest_disable novmcoredd cma=0 hugetlb_cma=0 pcie_ports=compat "
           "kfence.sample_interval=0 initcall_blacklist=tracer_init_tracefs debugfs=off cryptomgr.notests";
}

// kdump-utils prints "2G-64G:256M,64G-:512M" here, sized for a dracut
// image of 20-40 MB unpacking into tmpfs and a systemd that starts in it.
// kdumpbox's capture is one static binary plus the target's modules (a
// 1.2-2.0 MB image), and the collector's memory is bounded (about 16 MB)
// whatever the RAM size. Measured (tests/vm/sweep.sh, 2026-12-04): with a
// 2 GiB guest Debian's 6.1 kernel captures at 64M and 6.12 at 72M (both
// 80M before the capture command line dropped tracefs, debugfs and the
// crypto self-tests). 128M leaves 56M for what a larger kernel and a real
// server's drivers add. From 64G on, the machines that have it
// carry more and hungrier devices (kdump-utils adds 256M there, we add
// 128M). The first range starts at 1G, not 2G: a "2 GiB" virtual machine
// reports a little less RAM than 2G and would otherwise get nothing.
// `kdump estimate` gives this machine's own figure.
std::string_view default_crashkernel() { return "1G-64G:128M,64G-:256M"; }

} // namespace arch
