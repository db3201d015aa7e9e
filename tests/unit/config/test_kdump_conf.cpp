// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/config/kdump_conf.h"

#include "arch/host.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/strings.h"
#include "tests/unit/test_support.h"

#include <cstdlib>
#include <doctest.h>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

using namespace core;
using test_support::source_path;

namespace {

KdumpConfig parse_ok(std::string_view text)
{
    auto config = parse_kdump_conf(text, "kdump.conf");
    if (!config.ok())
        FAIL_CHECK(config.error().message());
    REQUIRE(config.ok());
    return std::move(config).release_value();
}

// The error's whole text, which must be one line.
std::string parse_error(std::string_view text)
{
    auto config = parse_kdump_conf(text, "/etc/kdump.conf");
    REQUIRE_FALSE(config.ok());
    CHECK(config.error().message().find('\n') == std::string::npos);
    return config.error().message();
}

KdumpSettings settings_ok(std::string_view text)
{
    auto settings = parse_kdump_settings(text, "kdumpbox.sysconfig");
    if (!settings.ok())
        FAIL_CHECK(settings.error().message());
    REQUIRE(settings.ok());
    return std::move(settings).release_value();
}

std::string settings_error(std::string_view text)
{
    auto settings = parse_kdump_settings(text, "/etc/sysconfig/kdumpbox");
    REQUIRE_FALSE(settings.ok());
    CHECK(settings.error().message().find('\n') == std::string::npos);
    return settings.error().message();
}

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

} // namespace

TEST_CASE("kdump_conf: an empty file means every default")
{
    auto config = parse_ok("");
    CHECK(config.file_name == "kdump.conf");
    CHECK(config.target.kind == TargetKind::None);
    CHECK(config.target.line == 0);
    CHECK(config.path == "/var/crash");
    CHECK_FALSE(config.core_collector.has_value());
    CHECK(config.sshkey == "/root/.ssh/kdump_id_rsa");
    CHECK_FALSE(config.kdump_pre.has_value());
    CHECK_FALSE(config.kdump_post.has_value());
    CHECK(config.extra_bins.empty());
    CHECK(config.extra_modules.empty());
    CHECK(config.failure_action == FailureAction::Reboot);
    CHECK(config.final_action == FinalAction::Reboot);
    CHECK(config.disk_timeout_seconds == 180);
    CHECK_FALSE(config.force_rebuild);
    CHECK_FALSE(config.force_no_rebuild);
    CHECK(config.warnings.empty());

    auto comments = parse_ok("# only comments\n\n   \t\n#path /x\n");
    CHECK(comments.path == "/var/crash");
}

TEST_CASE("kdump_conf: every directive")
{
    auto config = parse_ok(
        "ext4 UUID=03138356-5e61-4ab3-b58e-27507ac41937\n"
        "path /crash\n"
        "core_collector makedumpfile -l --message-level 7 -d 31\n"
        "sshkey /root/.ssh/other_key\n"
        "kdump_pre /usr/local/bin/pre.sh\n"
        "kdump_post /usr/local/bin/post.sh\n"
        "extra_bins /bin/cp /usr/bin/lftp\n"
        "extra_modules gfs2 dm_crypt\n"
        "failure_action shell\n"
        "final_action poweroff\n"
        "disk_timeout 30\n"
        "force_rebuild 1\n"
        "force_no_rebuild 0\n");
    CHECK(config.target.kind == TargetKind::Filesystem);
    CHECK(config.target.fs_type == "ext4");
    CHECK(config.target.device.kind == DeviceSpec::Kind::Uuid);
    CHECK(config.target.device.value == "03138356-5e61-4ab3-b58e-27507ac41937");
    CHECK(config.target.line == 1);
    CHECK(config.target.directive() == "ext4");
    CHECK(config.target.value_text() == "UUID=03138356-5e61-4ab3-b58e-27507ac41937");
    CHECK(config.path == "/crash");
    REQUIRE(config.core_collector.has_value());
    CHECK(config.core_collector->command == "makedumpfile -l --message-level 7 -d 31");
    CHECK(config.core_collector->argv == std::vector<std::string> { "makedumpfile", "-l", "--message-level", "7", "-d", "31" });
    CHECK(config.sshkey == "/root/.ssh/other_key");
    CHECK(config.kdump_pre == "/usr/local/bin/pre.sh");
    CHECK(config.kdump_post == "/usr/local/bin/post.sh");
    CHECK(config.extra_bins == std::vector<std::string> { "/bin/cp", "/usr/bin/lftp" });
    CHECK(config.extra_modules == std::vector<std::string> { "gfs2", "dm_crypt" });
    CHECK(config.failure_action == FailureAction::Shell);
    CHECK(config.final_action == FinalAction::PowerOff);
    CHECK(config.disk_timeout_seconds == 30);
    CHECK(config.force_rebuild);
    CHECK_FALSE(config.force_no_rebuild);
    CHECK(config.warnings.empty());
}

TEST_CASE("kdump_conf: action values and their names")
{
    for (auto name : { "reboot", "halt", "poweroff", "shell", "dump_to_rootfs" }) {
        auto config = parse_ok(cat("failure_action ", name, "\n"));
        CHECK(failure_action_name(config.failure_action) == name);
    }
    for (auto name : { "reboot", "halt", "poweroff" }) {
        auto config = parse_ok(cat("final_action ", name, "\n"));
        CHECK(final_action_name(config.final_action) == name);
    }
    CHECK(parse_ok("force_no_rebuild 1").force_no_rebuild);
    CHECK(parse_ok("disk_timeout 0").disk_timeout_seconds == 0);
}

TEST_CASE("kdump_conf: every kind of dump target")
{
    auto raw = parse_ok("raw /dev/sda5");
    CHECK(raw.target.kind == TargetKind::Raw);
    CHECK(raw.target.directive() == "raw");
    CHECK(raw.target.device.kind == DeviceSpec::Kind::Path);
    CHECK(raw.target.device.value == "/dev/sda5");
    auto raw_part = parse_ok("raw PARTUUID=0123abcd-05");
    CHECK(raw_part.target.device.kind == DeviceSpec::Kind::PartUuid);
    CHECK(raw_part.target.value_text() == "PARTUUID=0123abcd-05");

    for (auto fs : { "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "minix" }) {
        auto config = parse_ok(cat(fs, " /dev/vdb1"));
        CHECK(config.target.kind == TargetKind::Filesystem);
        CHECK(config.target.fs_type == fs);
        CHECK(config.target.device.text() == "/dev/vdb1");
        CHECK(is_target_fs_type(fs));
    }
    CHECK_FALSE(is_target_fs_type("ntfs"));

    auto label = parse_ok("ext4 LABEL=/boot");
    CHECK(label.target.device.kind == DeviceSpec::Kind::Label);
    CHECK(label.target.device.value == "/boot");
    auto quoted_label = parse_ok("xfs LABEL=\"my dumps\"");
    CHECK(quoted_label.target.device.value == "my dumps");
    CHECK(quoted_label.target.device.text() == "LABEL=my dumps");
    auto vfat = parse_ok("vfat UUID=1234-ABCD");
    CHECK(vfat.target.device.kind == DeviceSpec::Kind::Uuid);
    CHECK(vfat.target.device.value == "1234-ABCD");
    auto partlabel = parse_ok("btrfs PARTLABEL=crash");
    CHECK(partlabel.target.device.kind == DeviceSpec::Kind::PartLabel);
    auto by_id = parse_ok("xfs /dev/disk/by-id/nvme-eui.0025-part3");
    CHECK(by_id.target.device.value == "/dev/disk/by-id/nvme-eui.0025-part3");

    auto virtiofs = parse_ok("virtiofs myfs");
    CHECK(virtiofs.target.kind == TargetKind::Filesystem);
    CHECK(virtiofs.target.fs_type == "virtiofs");
    CHECK(virtiofs.target.device.value == "myfs");

    auto nfs = parse_ok("nfs nfs.example.com:/export/crash");
    CHECK(nfs.target.kind == TargetKind::Nfs);
    CHECK(nfs.target.host == "nfs.example.com");
    CHECK(nfs.target.nfs_export == "/export/crash");
    CHECK(nfs.target.value_text() == "nfs.example.com:/export/crash");
    auto nfs4 = parse_ok("nfs 192.0.2.7:/");
    CHECK(nfs4.target.host == "192.0.2.7");
    CHECK(nfs4.target.nfs_export == "/");
    auto nfs6 = parse_ok("nfs [fd00::1:2]:/exp");
    CHECK(nfs6.target.host == "fd00::1:2");
    CHECK(nfs6.target.nfs_export == "/exp");
    CHECK(nfs6.target.value_text() == "[fd00::1:2]:/exp");

    auto ssh = parse_ok("ssh kdump@dumps.example.com");
    CHECK(ssh.target.kind == TargetKind::Ssh);
    CHECK(ssh.target.ssh_user == "kdump");
    CHECK(ssh.target.host == "dumps.example.com");
    CHECK(ssh.target.value_text() == "kdump@dumps.example.com");
    auto ssh6 = parse_ok("ssh root@[fd00::5]");
    CHECK(ssh6.target.host == "[fd00::5]");

    CHECK(target_kind_name(TargetKind::None) == "none");
    CHECK(target_kind_name(TargetKind::Filesystem) == "file system");
    CHECK(target_kind_name(TargetKind::Ssh) == "ssh");
}

TEST_CASE("kdump_conf: comments, blanks and quotes")
{
    auto config = parse_ok(
        "  path   /var/crash/dumps   # where they go\n"
        "\tcore_collector \"makedumpfile -F -d 31\"   # quoted whole\n"
        "kdump_post \"/opt/hooks/post #1.sh\"\n"
        "extra_bins /bin/cp \"/opt/my tools/x\" 'y z'\n"
        "final_action halt#no blank before the comment\r\n");
    CHECK(config.path == "/var/crash/dumps");

    REQUIRE(config.core_collector.has_value());
    CHECK(config.core_collector->command == "makedumpfile -F -d 31");
    CHECK(config.core_collector->argv.size() == 4);
    CHECK(config.kdump_post == "/opt/hooks/post #1.sh");
    CHECK(config.extra_bins == std::vector<std::string> { "/bin/cp", "/opt/my tools/x", "y z" });
    CHECK(config.final_action == FinalAction::Halt);

    // Only one enclosing pair goes; inner quotes group words for the argv.
    auto inner = parse_ok("core_collector \"sh\" -c \"makedumpfile -F -d 31 /proc/vmcore | gzip\"");
    REQUIRE(inner.core_collector.has_value());
    CHECK(inner.core_collector->command == "\"sh\" -c \"makedumpfile -F -d 31 /proc/vmcore | gzip\"");
    CHECK(inner.core_collector->argv == std::vector<std::string> { "sh", "-c", "makedumpfile -F -d 31 /proc/vmcore | gzip" });
    auto escaped = parse_ok("core_collector cp --sparse=always a\\ b");
    CHECK(escaped.core_collector->argv == std::vector<std::string> { "cp", "--sparse=always", "a b" });
}

TEST_CASE("kdump_conf: path is normalised as it is read")
{
    CHECK(parse_ok("path /var//crash/\n").path == "/var/crash");
    CHECK(parse_ok("path //var/./crash//dumps/.\n").path == "/var/crash/dumps");
    CHECK(parse_ok("path /\n").path == "/");
    CHECK(parse_ok("path dumps//here/\n").path == "dumps/here");
    CHECK(parse_ok("path ./\n").path == ".");
    // A name that merely starts with dots is a name.
    CHECK(parse_ok("path /var/..crash/...\n").path == "/var/..crash/...");
}

TEST_CASE("kdump_conf: 'default' is failure_action's old name, with a warning")
{
    auto config = parse_ok("path /var/crash\ndefault poweroff\n");
    CHECK(config.failure_action == FailureAction::Poweroff);
    REQUIRE(config.warnings.size() == 1);
    CHECK(config.warnings[0] == "kdump.conf:2: 'default' is the old name of failure_action; write `failure_action poweroff` instead");

    auto reset = parse_ok("auto_reset_crashkernel yes");
    REQUIRE(reset.warnings.size() == 1);
    CHECK(reset.warnings[0].starts_with("kdump.conf:1: 'auto_reset_crashkernel' is ignored"));
}

TEST_CASE("kdump_conf: errors name the file, the line, the problem and the fix")
{
    struct Case {
        char const* text;
        char const* expected;
    };
    Case const cases[] = {
        // Unknown, empty, duplicate.
        { "path /x\nfailure_acton reboot\n", "/etc/kdump.conf:2: unknown directive 'failure_acton'; did you mean 'failure_action'?" },
        { "frobnicate 1", "/etc/kdump.conf:1: unknown directive 'frobnicate'; remove it" },
        { "\n\npath\n", "/etc/kdump.conf:3: 'path' has no value; write `path VALUE`, or remove the line" },
        { "path \"\"", "/etc/kdump.conf:1: 'path' has no value" },
        { "path /var/../crash", "/etc/kdump.conf:1: path: '/var/../crash' contains '..'; write the directory without it, e.g. `path /var/crash`" },
        { "ext4 /dev/sda3\npath ../crash\n", "/etc/kdump.conf:2: path: '../crash' contains '..'" },
        { "core_collector", "/etc/kdump.conf:1: 'core_collector' has no value" },
        { "core_collector \"   \"", "/etc/kdump.conf:1: core_collector: no program given; write the command, e.g. `core_collector makedumpfile" },
        { "path /a\n# x\npath /b\n", "/etc/kdump.conf:3: duplicate 'path' (first on line 1); keep only one" },
        { "extra_bins /a\nextra_bins /b\n", "/etc/kdump.conf:2: duplicate 'extra_bins' (first on line 1)" },
        { "default reboot\ndefault halt\n", "/etc/kdump.conf:2: duplicate 'default' (first on line 1)" },
        // Targets.
        { "ext4 /dev/sda3\nnfs h:/e\n", "/etc/kdump.conf:2: a second dump target 'nfs' (line 1 has 'ext4'); keep only one target line" },
        { "raw /dev/sda5\nraw /dev/sda6\n", "/etc/kdump.conf:2: a second dump target 'raw' (line 1 has 'raw')" },
        { "ssh dumps.example.com", "/etc/kdump.conf:1: ssh: 'dumps.example.com' has no user; write `ssh USER@HOST`, e.g. `ssh root@dumps.example.com`" },
        { "ssh @host", "/etc/kdump.conf:1: ssh: '@host' needs both a user and a host" },
        { "ssh u@host:/var/crash", "ssh: 'host:/var/crash' is not a host name or address" },
        { "nfs server", "/etc/kdump.conf:1: nfs: 'server' names no exported directory; write `nfs HOST:/EXPORT`" },
        { "nfs server:export", "nfs: the export in 'server:export' is not an absolute path" },
        { "nfs fd00::1:/exp", "nfs: 'fd00::1:/exp' looks like an IPv6 address without brackets; write `nfs HOST:/EXPORT`, with IPv6 addresses in brackets: `nfs [fd00::1]:/export`" },
        { "nfs [fd00::1:/exp", "nfs: '[fd00::1:/exp' has no closing ']'" },
        { "nfs :/exp", "nfs: ':/exp' names no server" },
        { "ext4 UUID=not-a-uuid", "/etc/kdump.conf:1: ext4: UUID=not-a-uuid is not a file system UUID; it looks like UUID=01234567-89ab-cdef-0123-456789abcdef" },
        { "xfs UUID=03138356-5e61-4ab3-b58e-27507ac4193", "xfs: UUID=03138356-5e61-4ab3-b58e-27507ac4193 is not a file system UUID" },
        { "vfat UUID=03138356-5e61-4ab3-b58e-27507ac41937", "vfat: UUID=03138356-5e61-4ab3-b58e-27507ac41937 is not a vfat volume ID; it looks like UUID=1234-ABCD" },
        { "ext4 UUID=", "ext4: UUID= has no value" },
        { "ext4 LABEL=", "ext4: LABEL= has no value" },
        { "xfs LABEL=far-too-long-label", "xfs: LABEL=far-too-long-label is 18 bytes, and xfs labels are at most 12" },
        { "ext4 sda3", "/etc/kdump.conf:1: ext4: 'sda3' is not a device; write a /dev path, UUID=..., LABEL=..." },
        { "ext4 uuid=03138356-5e61-4ab3-b58e-27507ac41937", "is not a device" },
        { "raw UUID=03138356-5e61-4ab3-b58e-27507ac41937", "raw: a raw partition has no file system, so no UUID; write its /dev path" },
        { "raw PARTUUID=xyz", "raw: PARTUUID=xyz is not a partition UUID" },
        { "minix LABEL=x", "minix: minix file systems have no LABEL" },
        { "virtiofs /dev/vda", "virtiofs: '/dev/vda' is not a virtiofs tag" },
        // Values outside their sets.
        { "failure_action explode", "/etc/kdump.conf:1: failure_action: 'explode' is not allowed; the allowed values are reboot, halt, poweroff, shell and dump_to_rootfs" },
        { "default mount_root_run_init", "default: 'mount_root_run_init' is not allowed; the allowed values are reboot, halt, poweroff, shell and dump_to_rootfs (mount_root_run_init is now dump_to_rootfs)" },
        { "final_action shell", "/etc/kdump.conf:1: final_action: 'shell' is not allowed; the allowed values are reboot, halt and poweroff (shell is a failure_action value" },
        { "final_action Reboot", "final_action: 'Reboot' is not allowed" },
        { "force_rebuild yes", "/etc/kdump.conf:1: force_rebuild: 'yes' is not allowed; the allowed values are 0 and 1" },
        { "force_no_rebuild 2", "force_no_rebuild: '2' is not allowed; the allowed values are 0 and 1" },
        { "disk_timeout soon", "/etc/kdump.conf:1: disk_timeout: 'soon' is not a number of seconds; write a whole number from 0 to 86400, e.g. `disk_timeout 180`" },
        { "disk_timeout -5", "disk_timeout: '-5' is not a number of seconds" },
        { "disk_timeout 100000", "disk_timeout: '100000' is not a number of seconds" },
        // Combinations.
        { "failure_action shell\ndefault halt\n", "/etc/kdump.conf:2: both 'default' and 'failure_action' (lines 1 and 2); 'default' is the old name of failure_action: keep only the failure_action line" },
        { "default halt\nfailure_action shell\n", "/etc/kdump.conf:2: both 'default' and 'failure_action' (lines 1 and 2)" },
        { "force_no_rebuild 1\npath /x\nforce_rebuild 1\n", "/etc/kdump.conf:3: force_rebuild 1 (line 3) and force_no_rebuild 1 (line 1) contradict each other; set one of them to 0" },
        // Paths and lists.
        { "kdump_pre pre.sh", "/etc/kdump.conf:1: kdump_pre: 'pre.sh' is not an absolute path; write the full path, e.g. `kdump_pre /usr/local/sbin/kdump-pre.sh`" },
        { "kdump_post ./post.sh", "kdump_post: './post.sh' is not an absolute path" },
        { "sshkey id_rsa", "sshkey: 'id_rsa' is not an absolute path; write the full path, e.g. `sshkey /root/.ssh/kdump_id_rsa`" },
        { "extra_modules gfs2 dlm.ko", "/etc/kdump.conf:1: extra_modules: 'dlm.ko' is not a module name; write the name without path or .ko suffix, e.g. 'dlm'" },
        { "extra_modules /lib/modules/x/nvme.ko.xz", "e.g. 'nvme'" },
        { "core_collector makedumpfile 'unclosed", "/etc/kdump.conf:1: core_collector: unterminated single quote; close the quote" },
        { "extra_bins \"/a", "/etc/kdump.conf:1: extra_bins: unterminated double quote; close the quote" },
        { "core_collector sh -c \"x # y", "/etc/kdump.conf:1: core_collector: unterminated double quote; close the quote" },
        // Deprecated and unsupported.
        { "net user@host", "/etc/kdump.conf:1: 'net' is deprecated; write `nfs HOST:/EXPORT` or `ssh USER@HOST` instead" },
        { "nfs4 h:/e", "'nfs4' is deprecated; write `nfs HOST:/EXPORT` instead" },
        { "options bnx2 debug=1", "'options' is deprecated; module options go on the capture kernel's command line: add MODULE.PARAM=VALUE to KDUMP_COMMANDLINE_APPEND" },
        { "blacklist nouveau", "'blacklist' is deprecated; add module_blacklist=MODULE[,MODULE...] to KDUMP_COMMANDLINE_APPEND" },
        { "link_delay 60", "'link_delay' is deprecated; remove it" },
        { "debug_mem_level 3", "'debug_mem_level' is deprecated; remove it" },
        { "dracut_args --mount \"/dev/sdb1 /mnt xfs defaults\"", "'dracut_args' is not supported: kdumpbox builds its initramfs without dracut; write a --mount as a target line" },
        { "fence_kdump_nodes node1 node2", "'fence_kdump_nodes' is not supported by kdumpbox; remove it" },
        { "fence_kdump_args -p 7410", "'fence_kdump_args' is not supported by kdumpbox" },
    };
    for (auto const& c : cases) {
        CAPTURE(c.text);
        std::string message = parse_error(c.text);
        CHECK_MESSAGE(contains(message, c.expected), message);
        CHECK(message.starts_with("/etc/kdump.conf:"));
    }
    // Deprecated keys are refused even without a value.
    CHECK(parse_error("net").starts_with("/etc/kdump.conf:1: 'net' is deprecated"));
}

TEST_CASE("kdump_conf: the effective configuration reads back the same")
{
    auto defaults = format_effective_config(parse_ok(""));
    CHECK(contains(defaults, "\npath /var/crash\n"));
    CHECK(contains(defaults, "# no dump target: the dump goes to /var/crash on the file system that holds it (kdump start finds it)\n"));
    CHECK(contains(defaults, "# core_collector not set: the built-in collector (makedumpfile -z -d 31 --num-threads=<CPUs>)\n"));
    CHECK(contains(defaults, "\nsshkey /root/.ssh/kdump_id_rsa\n"));
    CHECK(contains(defaults, "\nfailure_action reboot\nfinal_action reboot\ndisk_timeout 180\nforce_rebuild 0\nforce_no_rebuild 0\n"));

    char const* const texts[] = {
        "",
        "ext4 UUID=03138356-5e61-4ab3-b58e-27507ac41937\npath /crash\ncore_collector makedumpfile -l --message-level 7 -d 31\n"
        "kdump_pre /pre\nkdump_post /post\nextra_bins /bin/cp \"/opt/a b\" 'c\"d'\nextra_modules gfs2 dlm\n"
        "default dump_to_rootfs\nfinal_action halt\ndisk_timeout 5\nforce_no_rebuild 1\n",
        "nfs [fd00::1]:/exp\nsshkey /k\n",
        "ssh u@h.example\ncore_collector \"sh -c 'makedumpfile -F -d 31 /proc/vmcore > /x # y'\"\n",
        "raw /dev/sda5\npath \"/var/crash #2\"\n",
        "xfs \"LABEL=my dumps\"\n",
        "virtiofs tag\nfailure_action shell\nforce_rebuild 1\n",
    };
    for (auto text : texts) {
        CAPTURE(text);
        auto first = parse_ok(text);
        std::string formatted = format_effective_config(first);
        CAPTURE(formatted);
        auto second = parse_ok(formatted);
        CHECK(second.warnings.empty());
        CHECK(second.target.kind == first.target.kind);
        CHECK(second.target.fs_type == first.target.fs_type);
        CHECK(second.target.device.kind == first.target.device.kind);
        CHECK(second.target.device.value == first.target.device.value);
        CHECK(second.target.host == first.target.host);
        CHECK(second.target.nfs_export == first.target.nfs_export);
        CHECK(second.target.ssh_user == first.target.ssh_user);
        CHECK(second.path == first.path);
        CHECK(second.core_collector.has_value() == first.core_collector.has_value());
        if (first.core_collector && second.core_collector) {
            CHECK(second.core_collector->command == first.core_collector->command);
            CHECK(second.core_collector->argv == first.core_collector->argv);
        }
        CHECK(second.sshkey == first.sshkey);
        CHECK(second.kdump_pre == first.kdump_pre);
        CHECK(second.kdump_post == first.kdump_post);
        CHECK(second.extra_bins == first.extra_bins);
        CHECK(second.extra_modules == first.extra_modules);
        CHECK(second.failure_action == first.failure_action);
        CHECK(second.final_action == first.final_action);
        CHECK(second.disk_timeout_seconds == first.disk_timeout_seconds);
        CHECK(second.force_rebuild == first.force_rebuild);
        CHECK(second.force_no_rebuild == first.force_no_rebuild);
        // And formatting is a fixed point (the header names the file).
        second.file_name = first.file_name;
        CHECK(format_effective_config(second) == formatted);
    }
}

TEST_CASE("kdump_conf: split_command_words")
{
    CHECK(split_command_words("").value().empty());
    CHECK(split_command_words("  a  b\t c ").value() == std::vector<std::string> { "a", "b", "c" });
    CHECK(split_command_words("a'b c'd \"e \\\" f\" g\\ h").value() == std::vector<std::string> { "ab cd", "e \" f", "g h" });
    CHECK(split_command_words("'$HOME' \"\\$x\"").value() == std::vector<std::string> { "$HOME", "$x" });
    CHECK(split_command_words("\"\" x").value() == std::vector<std::string> { "", "x" });
    CHECK(split_command_words("a 'b").error().message() == "unterminated single quote");
    CHECK(split_command_words("a \"b").error().message() == "unterminated double quote");
}

TEST_CASE("kdump_conf: reading files")
{
    char name[] = "/tmp/kdumpbox-conf-XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    REQUIRE(write_all(fd, std::string_view("path /srv/crash\nfinal_action halt\n"), name).ok());
    ::close(fd);
    auto config = read_kdump_conf(name);
    REQUIRE(config.ok());
    CHECK(config->path == "/srv/crash");
    CHECK(config->file_name == name);
    ::unlink(name);

    auto missing = read_kdump_conf(name);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().errno_code() == ENOENT);
    auto defaults = read_kdump_conf(name, IfMissing::UseDefaults);
    REQUIRE(defaults.ok());
    CHECK(defaults->path == "/var/crash");
    CHECK(defaults->file_name == name);

    auto bad = parse_kdump_conf("path /x\nbogus 1\n", name);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message().starts_with(cat(name, ":2: ")));
}

TEST_CASE("kdump_conf: the distributions' kdump.conf (seed) parses")
{
    // Fedora's /etc/kdump.conf as the seed document quotes it, copied into
    // the tree so that the test reads nothing outside the repository.
    std::string path = source_path("tests/data/fedora-kdump.conf");
    auto page = read_text_file(path);
    REQUIRE(page.ok());
    std::string_view text = *page;
    auto config = parse_kdump_conf(text, path);
    if (!config.ok())
        FAIL_CHECK(config.error().message());
    REQUIRE(config.ok());
    CHECK(config->target.kind == TargetKind::None);
    CHECK(config->path == "/var/crash");
    REQUIRE(config->core_collector.has_value());
    CHECK(config->core_collector->argv == std::vector<std::string> { "makedumpfile", "-c", "--message-level", "1", "-d", "31" });
    CHECK(config->warnings.empty());

    // Its commented examples, uncommented one at a time: the ones kdumpctl
    // still takes parse; the deprecated ones give their replacement.
    size_t accepted = 0;
    size_t refused = 0;
    for (auto line : split(text, '\n')) {
        if (!line.starts_with('#') || line.size() < 2 || line[1] == ' ' || line.size() == 1)
            continue;
        std::string example(line.substr(1));
        auto one = parse_kdump_conf(example, "seed");
        if (one.ok()) {
            ++accepted;
        } else {
            ++refused;
            CAPTURE(example);
            CHECK((contains(one.error().message(), "is deprecated") || contains(one.error().message(), "is not supported")));
        }
    }
    CHECK(accepted >= 12);
    CHECK(refused == 7); // net x2, link_delay, options, debug_mem_level, fence_kdump_args, fence_kdump_nodes
}

TEST_CASE("kdump_conf: the shipped conf/kdump.conf parses to the defaults")
{
    std::string path = source_path("conf/kdump.conf");
    auto config = read_kdump_conf(path);
    if (!config.ok())
        FAIL_CHECK(config.error().message());
    REQUIRE(config.ok());
    CHECK(config->warnings.empty());
    auto defaults = parse_ok("");
    defaults.file_name = path;
    CHECK(format_effective_config(*config) == format_effective_config(defaults));

    // Every commented example in it parses on its own, except the ones that
    // show what is refused.
    auto text = read_text_file(path);
    REQUIRE(text.ok());
    size_t examples = 0;
    for (auto line : split(*text, '\n')) {
        if (!line.starts_with("#") || line.size() < 2 || line[1] == ' ' || line[1] == '#' || line[1] == '\0')
            continue;
        std::string example(line.substr(1));
        CAPTURE(example);
        auto one = parse_kdump_conf(example, "example");
        if (one.ok())
            ++examples;
        else
            CHECK((contains(one.error().message(), "is deprecated") || contains(one.error().message(), "is not supported")));
    }
    CHECK(examples >= 20);
}

TEST_CASE("sysconfig: defaults come from the arch interface")
{
    KdumpSettings settings;
    CHECK(settings.commandline_remove == arch::capture_cmdline_remove_default());
    CHECK(settings.commandline_append == arch::capture_cmdline_append_default());
    CHECK(settings.kernel_version.empty());
    CHECK(settings.commandline.empty());
    CHECK(settings.kexec_args.empty());
    CHECK(settings.boot_dir == "/boot");
    CHECK(settings.image == "vmlinuz");
    CHECK(settings.image_ext.empty());
    CHECK(settings.conf_path == "/etc/kdump.conf");
    if (arch::host_name() == "x86_64") {
        CHECK(contains(settings.commandline_remove, "crashkernel"));
        CHECK(contains(settings.commandline_remove, "hugetlb_cma"));
        CHECK(contains(settings.commandline_append, "irqpoll nr_cpus=1 reset_devices"));
        CHECK(contains(settings.commandline_append, "mce=off"));
        CHECK_FALSE(contains(settings.commandline_append, "udev"));
    }
    if (!arch::host_supported()) {
        CHECK(settings.commandline_remove.empty());
        CHECK(settings.commandline_append.empty());
    }
    auto empty = settings_ok("");
    CHECK(empty.commandline_append == settings.commandline_append);
    CHECK(empty.warnings.empty());
}

TEST_CASE("sysconfig: every setting, quoting and comments")
{
    auto settings = settings_ok(
        "# kdumpbox settings\n"
        "\n"
        "KDUMP_KERNELVER=\"6.1.0-18-amd64\"\n"
        "KDUMP_COMMANDLINE='ro root=/dev/vda1 console=ttyS0'\n"
        "KDUMP_COMMANDLINE_REMOVE=\"quiet splash\"   # trailing comment\n"
        "export KDUMP_COMMANDLINE_APPEND=\"irqpoll nr_cpus=1 dyndbg=\\\"file x.c +p\\\"\"\n"
        "KEXEC_ARGS=-s\n"
        "KDUMP_BOOTDIR=/boot/efi\n"
        "  KDUMP_IMG=\"bzImage\"\n"
        "KDUMP_IMG_EXT=.efi\r\n"
        "KDUMPBOX_KERNEL=''\n"
        "KDUMPBOX_INITRD=\"/srv/kdump/initrd.img\"\n"
        "KDUMPBOX_CONF=/etc/kdumpbox/kdump.conf\n"
        "VMCORE_CREATION_NOTIFICATION=\"yes\"\n"
        "KDUMP_STDLOGLVL=\"\"\n");
    CHECK(settings.kernel_version == "6.1.0-18-amd64");
    CHECK(settings.commandline == "ro root=/dev/vda1 console=ttyS0");
    CHECK(settings.commandline_remove == "quiet splash");
    CHECK(settings.commandline_append == "irqpoll nr_cpus=1 dyndbg=\"file x.c +p\"");
    CHECK(settings.kexec_args == "-s");
    CHECK(settings.boot_dir == "/boot/efi");
    CHECK(settings.image == "bzImage");
    CHECK(settings.image_ext == ".efi");
    CHECK(settings.kernel_path.empty());
    CHECK(settings.initrd_path == "/srv/kdump/initrd.img");
    CHECK(settings.conf_path == "/etc/kdumpbox/kdump.conf");
    CHECK(settings.warnings.empty());
    CHECK(settings.file_name == "kdumpbox.sysconfig");

    CHECK(settings_ok("KDUMP_COMMANDLINE_APPEND=\"\"").commandline_append.empty());
    CHECK(settings_ok("KDUMP_COMMANDLINE_APPEND=a'b c'\"d\"").commandline_append == "ab cd");
    CHECK(settings_ok("KDUMP_COMMANDLINE='$x `y` \"z\"'").commandline == "$x `y` \"z\"");
    CHECK(settings_ok("KDUMP_COMMANDLINE=\"a # b\" # c").commandline == "a # b");
    CHECK(settings_ok("KDUMP_COMMANDLINE=a\\ b").commandline == "a b");
    CHECK(settings_ok("KDUMP_IMG=").image == "vmlinuz");
    CHECK(settings_ok("KDUMPBOX_CONF=\"\"").conf_path == "/etc/kdump.conf");
}

TEST_CASE("sysconfig: warnings for variables kdumpbox does not use, and repeats")
{
    auto settings = settings_ok("FADUMP_COMMANDLINE_APPEND=\"nr_cpus=16\"\nKDUMP_SYSLOGLVL=3\nKEXEC_ARGS=\"\"\nKEXEC_ARGS=\"-s\"\n");
    REQUIRE(settings.warnings.size() == 3);
    CHECK(settings.warnings[0].starts_with("kdumpbox.sysconfig:1: FADUMP_COMMANDLINE_APPEND is ignored"));
    CHECK(settings.warnings[1].starts_with("kdumpbox.sysconfig:2: KDUMP_SYSLOGLVL is ignored"));
    CHECK(settings.warnings[2] == "kdumpbox.sysconfig:4: KEXEC_ARGS is set again (first on line 3); this later value wins, as in a shell: remove one of them");
    CHECK(settings.kexec_args == "-s");
}

TEST_CASE("sysconfig: errors name the file, the line, the problem and the fix")
{
    struct Case {
        char const* text;
        char const* expected;
    };
    Case const cases[] = {
        { "# x\nKDUMP_FOO=\"1\"\n", "/etc/sysconfig/kdumpbox:2: unknown setting 'KDUMP_FOO'; the settings are KDUMP_KERNELVER," },
        { "KDUMPBOX_HOOK_TIMEOUT=5m\n", "KDUMPBOX_HOOK_TIMEOUT: '5m' is not a time in seconds; write a number such as 300" },
        { "KDUMPBOX_COLLECTOR_TIMEOUT=99999999\n", "KDUMPBOX_COLLECTOR_TIMEOUT: '99999999' is not a time in seconds" },
        { "KDUMP_COMMANDLINE_APPEND=\"nr_cpus=$(nproc)\"", "/etc/sysconfig/kdumpbox:1: KDUMP_COMMANDLINE_APPEND: '$' would be expanded by a shell; kdumpbox reads this file without a shell" },
        { "KDUMPBOX_INITRD=/var/lib/kdumpbox/initramfs-`uname -r`.img", "KDUMPBOX_INITRD: '`' would be expanded by a shell" },
        { "KDUMP_KERNELVER=$VERSION", "KDUMP_KERNELVER: '$' would be expanded by a shell" },
        { "KDUMP_COMMANDLINE_APPEND=irqpoll nr_cpus=1", "/etc/sysconfig/kdumpbox:1: KDUMP_COMMANDLINE_APPEND: unquoted blank in the value (a shell would run 'nr_cpus=1' as a command); put the whole value in double quotes" },
        { "KDUMP_COMMANDLINE=\"a b", "KDUMP_COMMANDLINE: unterminated double quote; close it on the same line" },
        { "KDUMP_COMMANDLINE='a b", "KDUMP_COMMANDLINE: unterminated single quote; close it on the same line" },
        { "KDUMP_COMMANDLINE=a\\", "KDUMP_COMMANDLINE: a line continuation" },
        { "KEXEC_ARGS=-s;reboot", "KEXEC_ARGS: ';' is shell syntax" },
        { "KDUMP_IMG = \"vmlinuz\"", "/etc/sysconfig/kdumpbox:1: blank before '=' after KDUMP_IMG; write KEY=\"value\" with no blanks around '='" },
        { "source /etc/other", "/etc/sysconfig/kdumpbox:1: 'source /etc/other' is not a KEY=\"value\" line" },
        { "1KDUMP=x", "is not a KEY=\"value\" line" },
        { "KDUMPBOX_KERNEL=vmlinuz", "KDUMPBOX_KERNEL: 'vmlinuz' is not an absolute path; write the full path, or remove the line for the default" },
        { "KDUMPBOX_INITRD=initrd.img", "KDUMPBOX_INITRD: 'initrd.img' is not an absolute path" },
        { "KDUMPBOX_CONF=kdump.conf", "KDUMPBOX_CONF: 'kdump.conf' is not an absolute path" },
        { "KDUMP_BOOTDIR=boot", "KDUMP_BOOTDIR: 'boot' is not an absolute path" },
        { "KDUMP_IMG=/boot/vmlinuz", "KDUMP_IMG: '/boot/vmlinuz' contains '/'" },
        { "KDUMP_KERNELVER=../6.1", "KDUMP_KERNELVER: '../6.1' contains '/'" },
        { "KDUMP_NUM_DUMPS=many", "KDUMP_NUM_DUMPS: 'many' is not a number of dumps to keep" },
        { "KDUMP_NUM_DUMPS=-1", "KDUMP_NUM_DUMPS: '-1' is not a number" },
        { "KDUMPBOX_NOTIFY=mail-dump", "KDUMPBOX_NOTIFY: 'mail-dump' is not an absolute path" },
        { "KDUMPBOX_NOTIFY=\"/bin/mail 'x\"", "KDUMPBOX_NOTIFY: unterminated" },
    };
    for (auto const& c : cases) {
        CAPTURE(c.text);
        std::string message = settings_error(c.text);
        CHECK_MESSAGE(contains(message, c.expected), message);
        CHECK(message.starts_with("/etc/sysconfig/kdumpbox:"));
    }
}

TEST_CASE("sysconfig: the effective settings read back the same")
{
    char const* const texts[] = {
        "",
        "KDUMP_KERNELVER=6.6\nKDUMP_COMMANDLINE=\"a='b c' d=\\\"e\\\"\"' $x'\nKDUMP_COMMANDLINE_REMOVE=''\n"
        "KDUMP_COMMANDLINE_APPEND=\"it's\"\nKEXEC_ARGS=-s\nKDUMP_BOOTDIR=/b\nKDUMP_IMG=bz\nKDUMP_IMG_EXT=.efi\n"
        "KDUMPBOX_KERNEL=/k\nKDUMPBOX_INITRD=/i\nKDUMPBOX_CONF=/c\nKDUMP_NUM_DUMPS=3\nKDUMPBOX_NOTIFY='/usr/local/bin/mail-dump --to root'\n"
        "KDUMPBOX_HOOK_TIMEOUT=30\nKDUMPBOX_COLLECTOR_TIMEOUT=0\n",
    };
    for (auto text : texts) {
        CAPTURE(text);
        auto first = parse_kdump_settings(text, "s").value();
        if (!std::string_view(text).empty())
            CHECK(first.commandline == "a='b c' d=\"e\" $x");
        std::string formatted = format_effective_settings(first);
        CAPTURE(formatted);
        auto second = settings_ok(formatted);
        CHECK(second.warnings.empty());
        CHECK(second.kernel_version == first.kernel_version);
        CHECK(second.commandline == first.commandline);
        CHECK(second.commandline_remove == first.commandline_remove);
        CHECK(second.commandline_append == first.commandline_append);
        CHECK(second.kexec_args == first.kexec_args);
        CHECK(second.boot_dir == first.boot_dir);
        CHECK(second.image == first.image);
        CHECK(second.image_ext == first.image_ext);
        CHECK(second.kernel_path == first.kernel_path);
        CHECK(second.initrd_path == first.initrd_path);
        CHECK(second.conf_path == first.conf_path);
        CHECK(second.num_dumps == first.num_dumps);
        CHECK(second.notify_command == first.notify_command);
        CHECK(second.budgets.hook_seconds == first.budgets.hook_seconds);
        CHECK(second.budgets.collector_seconds == first.budgets.collector_seconds);
        if (!std::string_view(text).empty())
            CHECK((first.budgets.hook_seconds == 30 && first.budgets.collector_seconds == 0));
        if (!std::string_view(text).empty())
            CHECK((first.num_dumps == 3 && first.notify_command == "/usr/local/bin/mail-dump --to root"));
    }
    auto shown = format_effective_settings(KdumpSettings {});
    CHECK(contains(shown, "\nKDUMP_IMG='vmlinuz'\n"));
    CHECK(contains(shown, "\nKDUMPBOX_CONF='/etc/kdump.conf'\n"));
    CHECK(contains(shown, cat("\nKDUMP_COMMANDLINE_APPEND='", arch::capture_cmdline_append_default(), "'\n")));
}

TEST_CASE("sysconfig: the capture kernel and initramfs paths")
{
    KdumpSettings settings;
    CHECK(capture_kernel_version(settings, "6.1.0-18-amd64") == "6.1.0-18-amd64");
    CHECK(capture_kernel_path(settings, "6.1.0-18-amd64") == "/boot/vmlinuz-6.1.0-18-amd64");
    CHECK(capture_initrd_path(settings, "6.1.0-18-amd64") == "/var/lib/kdumpbox/initramfs-6.1.0-18-amd64.img");

    auto versioned = settings_ok("KDUMP_KERNELVER=6.6.0-kdump\nKDUMP_IMG=bzImage\nKDUMP_IMG_EXT=.efi\nKDUMP_BOOTDIR=/efi/\n");
    CHECK(capture_kernel_version(versioned, "6.1.0") == "6.6.0-kdump");
    CHECK(capture_kernel_path(versioned, "6.1.0") == "/efi/bzImage-6.6.0-kdump.efi");
    CHECK(capture_initrd_path(versioned, "6.1.0") == "/var/lib/kdumpbox/initramfs-6.6.0-kdump.img");

    auto overridden = settings_ok("KDUMPBOX_KERNEL=/opt/k/vmlinuz\nKDUMPBOX_INITRD=/opt/k/initrd\n");
    CHECK(capture_kernel_path(overridden, "6.1.0") == "/opt/k/vmlinuz");
    CHECK(capture_initrd_path(overridden, "6.1.0") == "/opt/k/initrd");
}

TEST_CASE("sysconfig: reading files, and the shipped conf/kdumpbox.sysconfig")
{
    auto missing = read_kdump_settings("/nonexistent/kdumpbox.sysconfig");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().errno_code() == ENOENT);
    auto defaults = read_kdump_settings("/nonexistent/kdumpbox.sysconfig", IfMissing::UseDefaults);
    REQUIRE(defaults.ok());
    CHECK(defaults->commandline_append == arch::capture_cmdline_append_default());

    std::string path = source_path("conf/kdumpbox.sysconfig");
    auto shipped = read_kdump_settings(path);
    if (!shipped.ok())
        FAIL_CHECK(shipped.error().message());
    REQUIRE(shipped.ok());
    CHECK(shipped->warnings.empty());
    // It documents the defaults without changing them.
    KdumpSettings built_in;
    CHECK(shipped->kernel_version == built_in.kernel_version);
    CHECK(shipped->commandline == built_in.commandline);
    CHECK(shipped->commandline_remove == built_in.commandline_remove);
    CHECK(shipped->commandline_append == built_in.commandline_append);
    CHECK(shipped->kexec_args == built_in.kexec_args);
    CHECK(shipped->kernel_path == built_in.kernel_path);
    CHECK(shipped->initrd_path == built_in.initrd_path);
    CHECK(shipped->conf_path == built_in.conf_path);
    // Its commented examples are valid settings lines too.
    auto text = read_text_file(path);
    REQUIRE(text.ok());
    size_t examples = 0;
    for (auto line : split(*text, '\n')) {
        if (!line.starts_with("#K"))
            continue;
        CAPTURE(line);
        auto one = parse_kdump_settings(line.substr(1), "example");
        CHECK(one.ok());
        ++examples;
    }
    CHECK(examples >= 5);
}

TEST_CASE("capture cmdline: /proc/cmdline, minus the remove list, plus the append list")
{
    KdumpSettings settings;
    settings.commandline_remove = "quiet hugepages cma";
    settings.commandline_append = "irqpoll nr_cpus=1 reset_devices";
    std::string proc = "BOOT_IMAGE=/vmlinuz-6.1 root=UUID=abc ro quiet hugepages=64 crashkernel=256M splash cma=64M panic_on_warn=1\n";
    CHECK(build_capture_cmdline(proc, settings) == "root=UUID=abc ro splash irqpoll nr_cpus=1 reset_devices");

    // KDUMP_COMMANDLINE replaces /proc/cmdline; the lists still apply.
    settings.commandline = "root=/dev/vda1 quiet console=ttyS0";
    CHECK(build_capture_cmdline(proc, settings) == "root=/dev/vda1 console=ttyS0 irqpoll nr_cpus=1 reset_devices");

    // crashkernel and BOOT_IMAGE go even with empty lists; quotes survive;
    // init's arguments after "--" stay last.
    KdumpSettings empty_lists;
    empty_lists.commandline_remove = "";
    empty_lists.commandline_append = "";
    CHECK(build_capture_cmdline("BOOT_IMAGE=x crashkernel=1G-:256M dyndbg=\"file a.c +p\" -- single", empty_lists) == "dyndbg=\"file a.c +p\" -- single");
    CHECK(build_capture_cmdline("", empty_lists).empty());
    empty_lists.commandline_append = "console=ttyS0 \"x=a b\"";
    CHECK(build_capture_cmdline("root=/dev/sda -- s", empty_lists) == "root=/dev/sda console=ttyS0 \"x=a b\" -- s");
    // A remove entry with '=' drops only that exact word.
    empty_lists.commandline_remove = "console=tty0";
    empty_lists.commandline_append = "";
    CHECK(build_capture_cmdline("console=tty0 console=ttyS0,115200", empty_lists) == "console=ttyS0,115200");
}

TEST_CASE("capture cmdline: the arch defaults")
{
    KdumpSettings settings;
    std::string line = build_capture_cmdline("BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet crashkernel=512M log_buf_len=16M", settings);
    CHECK(contains(line, "root=/dev/sda1 ro"));
    CHECK_FALSE(contains(line, "crashkernel"));
    CHECK_FALSE(contains(line, "BOOT_IMAGE"));
    if (arch::host_name() == "x86_64") {
        CHECK_FALSE(contains(line, "quiet"));
        CHECK_FALSE(contains(line, "log_buf_len"));
        CHECK(line == cat("root=/dev/sda1 ro ", arch::capture_cmdline_append_default()));
    }
}

TEST_CASE("join_command_words: split_command_words reads back the same words, and a kdump.conf line too")
{
    std::vector<std::string> words { "/usr/bin/sh", "-c", "makedumpfile -F -d 31 /proc/vmcore | gzip # x", "it's", "a\\b", "plain" };
    std::string joined = core::join_command_words(words);
    CHECK(core::split_command_words(joined).value() == words);
    CHECK(core::join_command_words({ "makedumpfile", "-F", "-d", "31" }) == "makedumpfile -F -d 31");
    core::KdumpConfig config;
    config.core_collector = core::CoreCollector { joined, words, 0 };
    auto reread = core::parse_kdump_conf(core::format_effective_config(config), "effective");
    REQUIRE(reread.ok());
    CHECK(reread->core_collector->argv == words);
}
