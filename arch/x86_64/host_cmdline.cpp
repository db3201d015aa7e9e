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
// Dropped: udev.children-max=2 (kdumpbox's initramfs has no udev) and
// initramfs_options=size=90% (it lets a large dracut image unpack into the
// initramfs tmpfs; kdumpbox's image is one static binary, and kernels that
// do not know the option pass it on to init).
std::string_view capture_cmdline_append_default()
{
    return "irqpoll nr_cpus=1 reset_devices cgroup_disable=memory mce=off numa=off panic=10 acpi_no_memhotplug "
           "transparent_hugepage=never nokaslr hest_disable novmcoredd cma=0 hugetlb_cma=0 pcie_ports=compat "
           "kfence.sample_interval=0";
}

} // namespace arch
