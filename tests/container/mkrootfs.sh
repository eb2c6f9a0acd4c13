#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build a container root filesystem in DIR from Debian's busybox-static
# (/bin/busybox plus one symlink per applet) and the given programs, each
# copied with the shared libraries ldd finds for it (and the loader).
#
# Usage: mkrootfs.sh [--hostname NAME] DIR [PROG[:DEST]]...
#   PROG goes to DEST inside DIR (default /usr/local/bin/$(basename PROG)).
# Needs: busybox-static (/bin/busybox, statically linked), ldd (libc-bin).

set -eu

hostname=ct
if [ "${1:-}" = --hostname ]; then
	hostname=$2
	shift 2
fi
if [ $# -lt 1 ]; then
	echo "usage: $0 [--hostname NAME] DIR [PROG[:DEST]]..." >&2
	exit 2
fi
root=$1
shift

busybox=/bin/busybox
if [ ! -x "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
	# `file` may be missing: fall back to asking ldd.
	if [ ! -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
		echo "$0: $busybox is not a static busybox (install busybox-static)" >&2
		exit 1
	fi
fi

mkdir -p "$root"
cd "$root"
mkdir -p bin sbin usr/bin usr/sbin usr/local/bin etc root tmp proc sys dev run var/run var/log lib lib64
chmod 1777 tmp
chmod 700 root
cp "$busybox" bin/busybox
for applet in $(bin/busybox --list-full); do
	[ -e "$applet" ] || [ -L "$applet" ] || ln -s /bin/busybox "$applet"
done

# Copy FILE to the same path under the rootfs (resolving symlinks).
copy_same() {
	local f=$1
	[ -e "./$f" ] && return 0
	mkdir -p "./$(dirname "$f")"
	cp -L "$f" "./$f"
}

for spec in "$@"; do
	prog=${spec%%:*}
	dest=/usr/local/bin/$(basename "$prog")
	[ "$spec" != "$prog" ] && dest=${spec#*:}
	case "$prog" in /*) ;; *) prog=$OLDPWD/$prog ;; esac
	mkdir -p "./$(dirname "$dest")"
	cp -L "$prog" "./$dest"
	# "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and
	# "/lib64/ld-linux-x86-64.so.2 (0x...)"; static programs have none.
	for lib in $(ldd "$prog" 2>/dev/null | awk '/=> \// { print $3 } /^[[:space:]]*\// { print $1 }'); do
		copy_same "$lib"
	done
done

cat > etc/passwd <<'EOT'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOT
cat > etc/group <<'EOT'
root:x:0:
tty:x:5:
nogroup:x:65534:
EOT
echo "$hostname" > etc/hostname
cat > etc/hosts <<EOT
127.0.0.1	localhost
127.0.1.1	$hostname
EOT
: > etc/resolv.conf
echo "/bin/sh" > etc/shells
# For `-- /sbin/init`: busybox init runs /etc/rc.local once, then a shell
# on the console.
cat > etc/inittab <<'EOT'
::sysinit:/bin/sh -c '[ -x /etc/rc.local ] && exec /etc/rc.local; exit 0'
::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
EOT
