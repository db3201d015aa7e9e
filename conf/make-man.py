#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes kdumpbox's man pages at build time (conf/meson.build):

  kdumpbox.8    `kdumpbox --help`, then every applet's `--help`
  kdump.8       `kdumpbox --help kdump`
  kdump.conf.5  conf/README.md's "kdump.conf" and "kdumpbox.sysconfig"

Usage: make-man.py KDUMPBOX README.md OUTDIR VERSION

The help texts and the README are the only sources, so the pages cannot
drift from them; tests/cli/man-pages.sh checks every option of every
applet is in kdumpbox.8.
"""
import os
import re
import subprocess
import sys

DATE = ""  # no build date, so the pages are reproducible


def run(binary, *args):
    # KDUMPBOX_EXE_WRAPPER: how a binary for another CPU runs here (qemu user mode).
    wrapper = [os.environ["KDUMPBOX_EXE_WRAPPER"]] if os.environ.get("KDUMPBOX_EXE_WRAPPER") else []
    return subprocess.run([*wrapper, binary, *args], check=True, capture_output=True, text=True).stdout


# ---- roff ----------------------------------------------------------------

def escape(text):
    """Plain text for roff: backslashes, hyphens, a leading dot or quote,
    and anything beyond ASCII as a named Unicode character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)
    return re.sub(r"^([.'])", r"\\&\1", text)


def inline_markdown(text):
    """`code` and **strong** in bold, *emphasis* in italics."""
    out = []
    for part in re.split(r"(`[^`]*`|\*\*[^*]+\*\*|\*[^*\s][^*]*\*)", text):
        if part.startswith("`") and part.endswith("`") and len(part) >= 2:
            out.append("\\fB" + escape(part[1:-1]) + "\\fR")
        elif part.startswith("**") and part.endswith("**") and len(part) >= 4:
            out.append("\\fB" + escape(part[2:-2]) + "\\fR")
        elif part.startswith("*") and part.endswith("*") and len(part) >= 2:
            out.append("\\fI" + escape(part[1:-1]) + "\\fR")
        else:
            out.append(escape(part))
    return re.sub(r"^([.'])", r"\\&\1", "".join(out))


def header(name, section, title, summary, version):
    return [
        "'\\\" t",
        f'.TH {name.upper()} {section} "{DATE}" "kdumpbox {version}" "{title}"',
        ".SH NAME",
        f"{escape(name)} \\- {escape(summary)}",
    ]


def preformatted(lines):
    return [".PP", ".nf"] + [escape(line) for line in lines] + [".fi"]


# ---- help texts ------------------------------------------------------------

# An entry of an indented two-column list ("  -f, --force   help",
# "      --settings=FILE   help", "  start      help"): two spaces, or six
# before a long option without a short one, then the term; a line indented
# deeper continues the entry above.
ENTRY_LINE = re.compile(r"^  (?:    (?=--))?(\S.*?)(?:\s{2,}(\S.*))?$")
# (an entry line is matched first; a line that does not match and is
# indented deeper continues the entry above)


def two_column_list(lines):
    """.TP per entry, its text joined."""
    out = []
    for line in lines:
        if not line.strip():
            continue
        match = ENTRY_LINE.match(line)
        if match:
            out.append((match.group(1).strip(), [match.group(2)] if match.group(2) else []))
        elif out and line.startswith("   "):
            out[-1][1].append(line.strip())
        else:
            raise SystemExit(f"make-man.py: cannot read the list line {line!r}")
    roff = []
    for term, text in out:
        roff += [".TP", "\\fB" + escape(term) + "\\fR", escape(" ".join(text))]
    return roff


help_options = two_column_list


def help_body(text):
    """An applet's help: synopsis, description blocks, options, aliases."""
    blocks = [block.split("\n") for block in re.split(r"\n\s*\n", text.strip("\n"))]
    synopsis, body, options, aliases = [], [], [], []
    for block in blocks:
        first = block[0]
        if first.startswith("Usage:"):
            synopsis = [re.sub(r"^Usage: ", "", first)] + [line.strip() for line in block[1:]]
        elif first == "Options:":
            options = block[1:]
        elif first.startswith("Also called as:"):
            aliases = first.split(":", 1)[1].split()
        elif all(line.startswith("  ") for line in block[1:]) and first.endswith(":") and len(block) > 1:
            # "Commands:" and the like: a heading and an indented list
            body += [".PP", escape(first), ".RS"] + two_column_list(block[1:]) + [".RE"]
        elif any(line.startswith("  ") for line in block):
            body += preformatted(block)
        else:
            body += [".PP", escape(" ".join(line.strip() for line in block))]
    return synopsis, body, options, aliases


def applet_section(binary, name, level):
    synopsis, body, options, aliases = help_body(run(binary, "--help", name))
    roff = [f".{level} SYNOPSIS" if level == "SH" else f".SS {escape(name)}"]
    roff += [".nf"] + [escape(line) for line in synopsis] + [".fi"]
    if level == "SH":
        roff.append(".SH DESCRIPTION")
    roff += body
    if options:
        roff += [".SH OPTIONS" if level == "SH" else ".PP\nOptions:", ".RS" if level != "SH" else ""]
        roff += help_options(options)
        roff += [".RE" if level != "SH" else ""]
    if aliases:
        roff += [".PP", "Also called as: " + escape(", ".join(aliases)) + "."]
    return [line for line in roff if line != ""]


def applets(binary):
    """(name, aliases) per line of `kdumpbox --list`."""
    return [(line.split()[0], line.split()[1:]) for line in run(binary, "--list").splitlines() if line.strip()]


def kdumpbox_page(binary, version):
    general = run(binary, "--help")
    summary = general.splitlines()[0].split(" - ", 1)[1]
    before_applets = general.split("\nApplets:\n")[0]
    synopsis, body, options, _ = help_body("\n".join(before_applets.splitlines()[1:]))
    roff = header("kdumpbox", 8, "System Administration", summary, version)
    roff += [".SH SYNOPSIS", ".nf"] + [escape(line) for line in synopsis] + [".fi"]
    roff += [".SH DESCRIPTION", ".PP",
             "The Linux crash\\-dump (kexec/kdump) system in one static binary. "
             "It dispatches on the name it is called by, or on its first argument."]
    roff += body
    roff += [".SH OPTIONS"] + help_options(options)
    roff += [".SH APPLETS"]
    for name, _ in applets(binary):
        roff += applet_section(binary, name, "SS")
    roff += see_also(["kdump(8)", "kdump.conf(5)", "systemd.generator(7)"])
    return roff


def kdump_page(binary, version):
    summary = next(line for line in run(binary, "--help").splitlines() if line.startswith("  kdump "))
    roff = header("kdump", 8, "System Administration", summary.split(None, 1)[1].strip(), version)
    roff += applet_section(binary, "kdump", "SH")
    roff += [".SH FILES", ".TP", "\\fI/etc/kdump.conf\\fR", "what happens at crash time (kdump.conf(5))",
             ".TP", "\\fI/etc/sysconfig/kdumpbox\\fR", "what kdump start loads (kdump.conf(5))",
             ".TP", "\\fI/var/lib/kdumpbox/\\fR", "the capture initramfs"]
    roff += see_also(["kdumpbox(8)", "kdump.conf(5)"])
    return roff


def see_also(pages):
    return [".SH SEE ALSO", ", ".join(f"\\fB{escape(p.split('(')[0])}\\fR({p.split('(')[1]}" for p in pages)]


# ---- conf/README.md ----------------------------------------------------------

def markdown_section(text, heading):
    """The lines of the "## heading" section, up to the next "## "."""
    lines = text.split("\n")
    start = lines.index("## " + heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


def table_cells(line):
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [inline_markdown(cell.strip().replace("\\|", "|")) for cell in cells]


def markdown_to_roff(lines):
    roff, i = [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("### "):
            roff.append(".SS " + inline_markdown(line[4:]))
            i += 1
        elif line.startswith("    "):
            block = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                block.append(lines[i][4:])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            roff += [".PP", ".RS", ".nf"] + [escape(b) for b in block] + [".fi", ".RE"]
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                if not re.match(r"^\|[\s|:-]+\|$", lines[i]):
                    rows.append(table_cells(lines[i]))
                i += 1
            columns = len(rows[0])
            roff += [".PP", ".TS", "allbox tab(\t);", " ".join(["lb"] * columns), " ".join(["l"] * (columns - 1) + ["lx"]) + "."]
            for n, row in enumerate(rows):
                row = (row + [""] * columns)[:columns]
                roff.append("\t".join(row if n == 0 else [f"T{{\n{cell}\nT}}" for cell in row]))
            roff.append(".TE")
        elif re.match(r"^- ", line):
            while i < len(lines) and lines[i].startswith("- "):
                item = [lines[i][2:]]
                i += 1
                while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                    item.append(lines[i].strip())
                    i += 1
                roff += [".IP \\(bu 2", inline_markdown(" ".join(item))]
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not re.match(r"^(### |    |\||- )", lines[i]):
                para.append(lines[i].strip())
                i += 1
            roff += [".PP", inline_markdown(" ".join(para))]
    return roff


def kdump_conf_page(readme, version):
    text = open(readme, encoding="utf-8").read()
    roff = header("kdump.conf", 5, "File Formats", "kdumpbox's configuration: kdump.conf and /etc/sysconfig/kdumpbox", version)
    roff += [".SH DESCRIPTION", ".PP",
             "\\fI/etc/kdump.conf\\fR says what happens at crash time: the target, the collector, hooks and actions. "
             "\\fI/etc/sysconfig/kdumpbox\\fR says what \\fBkdump start\\fR loads: the capture kernel, its initramfs "
             "and its command line. Both are read by one parser; \\fBkdump show\\fR prints the configuration in effect."]
    roff += [".SH KDUMP.CONF"] + markdown_to_roff(markdown_section(text, "kdump.conf"))
    roff += [".SH THE SETTINGS FILE"] + markdown_to_roff(markdown_section(text, "kdumpbox.sysconfig"))
    roff += [".SH FILES", ".TP", "\\fI/etc/kdump.conf\\fR", ".TP", "\\fI/etc/sysconfig/kdumpbox\\fR"]
    roff += see_also(["kdump(8)", "kdumpbox(8)"])
    return roff


def main():
    if len(sys.argv) != 5:
        raise SystemExit("usage: make-man.py KDUMPBOX README.md OUTDIR VERSION")
    binary, readme, outdir, version = sys.argv[1:]
    pages = {
        "kdumpbox.8": kdumpbox_page(binary, version),
        "kdump.8": kdump_page(binary, version),
        "kdump.conf.5": kdump_conf_page(readme, version),
    }
    for name, roff in pages.items():
        with open(f"{outdir}/{name}", "w", encoding="utf-8") as page:
            page.write("\n".join(roff) + "\n")


if __name__ == "__main__":
    main()
