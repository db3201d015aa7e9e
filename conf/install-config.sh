#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# meson's install script for the configuration files (conf/meson.build):
# install-config.sh SOURCE DEST [SOURCE DEST...] copies each SOURCE to
# $DESTDIR/DEST only when DEST does not exist, so `meson install` never
# overwrites a configuration the admin has (or has removed on purpose and
# replaced by a link).
set -eu
while [ $# -ge 2 ]; do
	source=$1 dest=${DESTDIR:-}$2
	shift 2
	if [ -e "$dest" ] || [ -L "$dest" ]; then
		echo "Keeping $dest (configuration is never overwritten)"
		continue
	fi
	mkdir -p "$(dirname "$dest")"
	cp "$source" "$dest.tmp.$$"
	chmod 0644 "$dest.tmp.$$"
	mv "$dest.tmp.$$" "$dest"
	echo "Installing $source to $dest"
done
