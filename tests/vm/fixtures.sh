#!/bin/bash
# tests/vm/fixtures.sh: make sure the standard vmcore fixtures exist in
# $KDUMPBOX_CACHE/fixtures/ (default ~/.cache/kdumpbox/fixtures) and print
# their paths, one a line, on stdout (messages go to stderr).
#
#   fixtures.sh [--bench] [--refresh] [--check]
#
# Standard fixtures (ELF /proc/vmcore files, each with .info and .console.log):
#   bookworm-1g.vmcore         Debian 12 cloud kernel (6.1), 1 GiB guest, 5-level paging
#   bookworm-1g-4level.vmcore  the same with 4-level paging (-cpu max,la57=off)
#   trixie-1g.vmcore           Debian 13 cloud kernel (6.12), 1 GiB guest; when
#                              trixie cannot be fetched or booted this one is
#                              left out with a warning
#   bookworm-3g.vmcore         only with --bench: a 3 GiB guest
# A fixture that exists is kept as it is, even if Debian has a newer kernel
# by now (its .info names the kernel); --refresh makes them all again.
# --check runs check-fixture.sh on each fixture as well.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
VM_ME=fixtures
. "$here/lib.sh"

bench=0 refresh=0 check=0
while (($#)); do
	case $1 in
	--bench) bench=1; shift ;;
	--refresh) refresh=1; shift ;;
	--check) check=1; shift ;;
	*) vm_die "usage: fixtures.sh [--bench] [--refresh] [--check]" ;;
	esac
done

dir=$VM_CACHE/fixtures
mkdir -p "$dir"
exec 6>"$dir/.lock"
flock 6

# name  required  make-fixture.sh options
specs=(
	"bookworm-1g yes --suite bookworm --mem 1024"
	"bookworm-1g-4level yes --suite bookworm --mem 1024 --cpu max,la57=off"
	"trixie-1g no --suite trixie --mem 1024"
)
((bench == 0)) || specs+=("bookworm-3g yes --suite bookworm --mem 3072")

paths=() failures=0
for spec in "${specs[@]}"; do
	read -r name required opts <<<"$spec"
	out=$dir/$name.vmcore
	if ((refresh)) || [[ ! -f $out || ! -f $out.info ]]; then
		rm -f "$out" "$out.info" "$out.console.log"
		vm_log "making $name"
		# shellcheck disable=SC2086 # opts is a list of words
		if ! "$here/make-fixture.sh" $opts "$out" >&2; then
			if [[ $required == yes ]]; then
				vm_log "error: could not make $name"
				failures=$((failures + 1))
			else
				vm_log "warning: could not make $name; it is left out"
			fi
			continue
		fi
	else
		vm_log "$name: present ($(awk -F= '$1 == "kernel_release" { print $2 }' "$out.info"))"
	fi
	if ((check)) && ! "$here/check-fixture.sh" "$out" >&2; then
		vm_log "error: $name does not pass check-fixture.sh"
		failures=$((failures + 1))
		continue
	fi
	paths+=("$out")
done

((${#paths[@]} == 0)) || printf '%s\n' "${paths[@]}"
((failures == 0))
