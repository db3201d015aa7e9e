// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/config/cmdline.h"

#include <doctest.h>

using namespace core;

TEST_SUITE("cmdline")
{

TEST_CASE("cmdline: command lines split at blanks outside quotes")
{
    auto words = split_cmdline("  root=/dev/sda1   dyndbg=\"file x.c +p\" quiet\t\"a=b c\"\n");
    REQUIRE(words.size() == 4);
    CHECK(words[0] == "root=/dev/sda1");
    CHECK(words[1] == "dyndbg=\"file x.c +p\"");
    CHECK(words[2] == "quiet");
    CHECK(words[3] == "\"a=b c\"");
    CHECK(split_cmdline("").empty());
    CHECK(split_cmdline(" \n").empty());
    // An unterminated quote runs to the end, as in the kernel's parser.
    CHECK(split_cmdline("a=\"b c").size() == 1);

    CHECK(cmdline_word_key("crashkernel=1G-4G:256M,4G-:512M") == "crashkernel");
    CHECK(cmdline_word_key("quiet") == "quiet");
    CHECK(cmdline_word_key("\"a=b c\"") == "a");
    CHECK(cmdline_word_key("\"quiet\"") == "quiet");
    CHECK(cmdline_word_key("mod.param=1") == "mod.param");
}

TEST_CASE("cmdline: edit_cmdline removes keys, appends, keeps quotes and init arguments")
{
    CHECK(edit_cmdline("root=/dev/sda1 quiet crashkernel=256M splash crashkernel=1G,high", { "crashkernel", "quiet" }, {}) == "root=/dev/sda1 splash");
    // An entry with '=' removes only that exact word.
    CHECK(edit_cmdline("console=tty0 console=ttyS0,115200", { "console=tty0" }, {}) == "console=ttyS0,115200");
    CHECK(edit_cmdline("root=/dev/sda1", {}, { "irqpoll nr_cpus=1", "reset_devices" }) == "root=/dev/sda1 irqpoll nr_cpus=1 reset_devices");
    CHECK(edit_cmdline("a=\"x y\" b", { "b" }, { "c=\"p q\"" }) == "a=\"x y\" c=\"p q\"");
    CHECK(edit_cmdline("\"quiet\" loud", { "quiet" }, {}) == "loud");
    // Words after "--" go to init: never removed, and appended words stay in front.
    CHECK(edit_cmdline("ro quiet -- single quiet", { "quiet" }, { "irqpoll" }) == "ro irqpoll -- single quiet");
    CHECK(edit_cmdline("", {}, {}) == "");
    CHECK(edit_cmdline("  a   b  ", {}, {}) == "a b");
    // A key is not a prefix: crashkernel_x stays.
    CHECK(edit_cmdline("crashkernel_x=1 crashkernel=2", { "crashkernel" }, {}) == "crashkernel_x=1");
}

TEST_CASE("cmdline: root_device_from_cmdline, the last root= before --")
{
    CHECK(root_device_from_cmdline("console=ttyS0 root=/dev/vda1 ro") == "/dev/vda1");
    CHECK(root_device_from_cmdline("root=/dev/sda1 quiet root=UUID=abcd") == "UUID=abcd");
    CHECK(root_device_from_cmdline("root=/dev/sda1 -- root=/dev/init-arg") == "/dev/sda1");
    CHECK(root_device_from_cmdline("console=ttyS0 noroot=x") == "");
}

} // TEST_SUITE
