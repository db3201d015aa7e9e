#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What `meson install` puts on a host, into a scratch --destdir: the binary
# in sbin, the host links and nothing that shadows the init system, the
# unit with the right paths, the generator link, the configuration (never
# overwritten), and man pages holding every applet's options and every
# kdump.conf directive (conf/make-man.py).
# Usage: tests/cli/install.sh BUILD_DIR SOURCE_DIR
set -uo pipefail

build=$(readlink -f "${1:?usage: install.sh BUILD_DIR SOURCE_DIR}")
source_dir=$(readlink -f "${2:?usage: install.sh BUILD_DIR SOURCE_DIR}")
work=$(mktemp -d /tmp/kdumpbox-install-XXXXXX)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/../testlib.sh"

option() {
    python3 -c 'import json, sys
for o in json.load(open(sys.argv[1] + "/meson-info/intro-buildoptions.json")):
    if o["name"] == sys.argv[2]: print(o["value"])' "$build" "$1"
}
prefix=$(option prefix)
sbin=$prefix/$(option sbindir)
[[ $(option sbindir) == /* ]] && sbin=$(option sbindir)
mandir=$prefix/$(option mandir)
unitdir=$(option systemdsystemunitdir)
[[ -n $unitdir ]] || unitdir=$prefix/lib/systemd/system
root=$work/root

if ! out=$(meson install -C "$build" --destdir "$root" --no-rebuild 2>&1); then
    fail "meson install --destdir" "$out"
    finish install
    exit
fi
ok "meson install --destdir"
binary=$root$sbin/kdumpbox

# --- the binary and its links ------------------------------------------------
[[ -x $binary ]] && ok "the binary is in sbin ($sbin/kdumpbox)" || fail "the binary is in sbin" "$(find "$root" | sort)"
links=$(cd "$root$sbin" && for f in *; do [[ -L $f ]] && echo "$f -> $(readlink "$f")"; done | tr '\n' ' ')
want=""
for name in collector kdump kdump-config kdumpctl kexec makedumpfile mount-and-save vmcore-dmesg; do want+="$name -> kdumpbox "; done
[[ $links == "$want" ]] && ok "sbin holds the host links, relative: $links" || fail "sbin holds the host links, relative" "have: $links" "want: $want"
mkdir -p "$work/by-install" && "$binary" --install "$work/by-install" >/dev/null
by_install=$(ls "$work/by-install" | tr '\n' ' ')
by_meson=$(cd "$root$sbin" && ls | grep -v '^kdumpbox$' | tr '\n' ' ')
[[ $by_install == "$by_meson" ]] && ok "meson install links the names kdumpbox --install does" \
    || fail "meson install links the names kdumpbox --install does" "meson: $by_meson" "--install: $by_install"
shadowing=$(find "$root" -name reboot -o -name halt -o -name poweroff -o -name init -o -name shutdown | sed "s|^$root||")
[[ -z $shadowing ]] && ok "nothing named reboot, halt, poweroff or init is installed" || fail "nothing named reboot, halt, poweroff or init is installed" "$shadowing"
"$root$sbin/kdumpctl" --help >/dev/null 2>&1 && ok "the kdumpctl link runs" || fail "the kdumpctl link runs" "$("$root$sbin/kdumpctl" --help 2>&1 | head -3)"

# --- the unit and the generator -----------------------------------------------
unit=$root$unitdir/kdumpbox.service
if [[ -f $unit ]]; then
    ok "the unit is in $unitdir"
    for line in "ExecStart=$sbin/kdumpbox kdump start" "ExecStop=$sbin/kdumpbox kdump stop" "ExecReload=$sbin/kdumpbox kdump reload" \
        "Alias=kdump.service" "Conflicts=kdump-tools.service" "WantedBy=multi-user.target"; do
        grep -qxF "$line" "$unit" && ok "the unit has $line" || fail "the unit has $line" "$(cat "$unit")"
    done
    grep -q '@' "$unit" && fail "the unit has no unreplaced @VARIABLE@" "$(grep '@' "$unit")" || ok "the unit has no unreplaced @VARIABLE@"
    # Documentation= names only pages that are installed
    for page in $(sed -n 's/^Documentation=//p' "$unit"); do
        [[ $page =~ ^man:(.*)\(([0-9])\)$ ]] || { fail "Documentation= names a man page" "$page"; continue; }
        [[ -f $root$mandir/man${BASH_REMATCH[2]}/${BASH_REMATCH[1]}.${BASH_REMATCH[2]} ]] \
            && ok "Documentation=$page is installed" || fail "Documentation=$page is installed" "$(find "$root$mandir")"
    done
else
    fail "the unit is in $unitdir" "$(find "$root" | sort)"
fi
generator=$root$(dirname "$unitdir")/system-generators/kdump-generator
if [[ -L $generator && $(readlink -f "$generator") == "$(readlink -f "$binary")" ]]; then
    ok "system-generators/kdump-generator is a link to the binary ($(readlink "$generator"))"
    mkdir -p "$work/gen/out"
    printf 'KDUMPBOX_CONF=%s\n' "$work/gen/kdump.conf" >"$work/gen/settings"
    printf 'nfs 192.0.2.7:/export\n' >"$work/gen/kdump.conf"
    "$generator" --settings "$work/gen/settings" "$work/gen/out" "$work/gen/early" "$work/gen/late" 2>/dev/null
    [[ -s $work/gen/out/kdumpbox.service.d/50-network.conf ]] && ok "the generator runs through its link" || fail "the generator runs through its link" "$(ls -R "$work/gen")"
else
    fail "system-generators/kdump-generator is a link to the binary" "$(ls -l "$generator" 2>&1)"
fi

# --- configuration: installed, and never overwritten -----------------------------
cmp -s "$root/etc/kdump.conf" "$source_dir/conf/kdump.conf" && ok "/etc/kdump.conf is conf/kdump.conf" || fail "/etc/kdump.conf is conf/kdump.conf" "$(ls -l "$root/etc")"
cmp -s "$root/etc/sysconfig/kdumpbox" "$source_dir/conf/kdumpbox.sysconfig" && ok "/etc/sysconfig/kdumpbox is conf/kdumpbox.sysconfig" \
    || fail "/etc/sysconfig/kdumpbox is conf/kdumpbox.sysconfig" "$(ls -lR "$root/etc")"
"$binary" kdump --help | grep -q '/etc/sysconfig/kdumpbox' && ok "the binary reads the settings where they are installed" \
    || fail "the binary reads the settings where they are installed" "$("$binary" kdump --help | tail -3)"
echo "ssh admin@example.org" >"$root/etc/kdump.conf"
rm "$root/etc/sysconfig/kdumpbox"
ln -s /dev/null "$root/etc/sysconfig/kdumpbox"
if out=$(meson install -C "$build" --destdir "$root" --no-rebuild 2>&1); then
    [[ $(cat "$root/etc/kdump.conf") == "ssh admin@example.org" && -L $root/etc/sysconfig/kdumpbox ]] \
        && ok "meson install again keeps a changed kdump.conf and a settings file replaced by a link" \
        || fail "meson install again keeps the admin's configuration" "$(cat "$root/etc/kdump.conf")" "$(ls -l "$root/etc/sysconfig")"
else
    fail "meson install again" "$out"
fi

# --- man pages ------------------------------------------------------------------
for page in man8/kdumpbox.8 man8/kdump.8 man5/kdump.conf.5; do
    [[ -s $root$mandir/$page ]] && ok "$page is installed" || fail "$page is installed" "$(find "$root$mandir" 2>&1)"
done
# the page's text with roff's escapes for -, \ and fonts undone (held in a
# variable: grep -q would cut a pipe short, and pipefail count it as a miss)
man_text() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\e/\\/g' "$root$mandir/$1"; }
kdumpbox_8=$(man_text man8/kdumpbox.8)
kdump_8=$(man_text man8/kdump.8)
kdump_conf_5=$(man_text man5/kdump.conf.5)
# Every option every applet's --help lists is an entry (.TP) of that
# applet's section of kdumpbox(8), and kdump's also of kdump(8).
# option_terms SECTION: the .TP terms of that .SS section (all with "").
option_terms() {
    awk -v want="$1" '/^\.S[SH] / { in_section = (want == "" || $2 == want) } in_section && tp { print; tp = 0 } /^\.TP/ { tp = 1 }' <<<"$2"
}
has_option() { grep -qE -- "(^|[ ,])$1([ ,=[]|\$)" <<<"$2"; }
missing=""
for applet in $("$binary" --list | cut -d' ' -f1); do
    terms=$(option_terms "$applet" "$kdumpbox_8")
    for opt in $("$binary" --help "$applet" | sed -n '/^Options:/,/^$/p' | grep -oE '^  (-[A-Za-z0-9], )?--?[A-Za-z0-9][A-Za-z0-9-]*' | grep -oE -- '--?[A-Za-z0-9][A-Za-z0-9-]*$'); do
        has_option "$opt" "$terms" || missing+=" $applet:$opt"
    done
done
[[ -z $missing ]] && ok "kdumpbox(8) has every applet's options" || fail "kdumpbox(8) has every applet's options" "missing:$missing"
missing=""
terms=$(option_terms "" "$kdump_8")
for opt in $("$binary" --help kdump | sed -n '/^Options:/,/^$/p' | grep -oE -- '--[a-z][a-z-]*'); do
    has_option "$opt" "$terms" || missing+=" $opt"
done
for command in $("$binary" --help kdump | sed -n '/^Commands:/,/^$/p' | grep -oE '^  [a-z-]+'); do
    has_option "$command" "$terms" || missing+=" $command"
done
[[ -z $missing ]] && ok "kdump(8) has every command and option of kdump --help" || fail "kdump(8) has every command and option of kdump --help" "missing:$missing"
# Every directive and variable in conf/README.md's tables is in kdump.conf(5).
missing=""
for word in $(grep -oE '^\| `[A-Za-z_]+`' "$source_dir/conf/README.md" | tr -d '|` '); do
    grep -qF -- "$word" <<<"$kdump_conf_5" || missing+=" $word"
done
[[ -z $missing ]] && ok "kdump.conf(5) has every directive and variable of conf/README.md" || fail "kdump.conf(5) has every directive and variable of conf/README.md" "missing:$missing"
if command -v groff >/dev/null; then
    for page in man8/kdumpbox.8 man8/kdump.8 man5/kdump.conf.5; do
        warnings=$(groff -t -man -rcR=1 -ww -Wbreak -z "$root$mandir/$page" 2>&1)
        [[ -z $warnings ]] && ok "groff reads $page without warnings" || fail "groff reads $page without warnings" "$(head -5 <<<"$warnings")"
    done
else
    skip "groff reads the man pages" "groff is not installed"
fi

finish install
