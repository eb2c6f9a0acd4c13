#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build Debian's libvirt 9.0.0 with lxc-cr's patch series and install it in a
# private prefix, leaving the system's libvirt (if any) alone:
#
#   1. add a deb-src entry mirroring Debian 12's deb entries (once);
#   2. `apt-get source libvirt=VERSION` into the cache dir, `apt-get build-dep`;
#   3. copy the pristine source to a work tree and apply src/lxc_cr/libvirt/series
#      (patch -p1, in order);
#   4. build liblxccr from this tree and install it in the prefix (the patched
#      LXC driver links it through liblxccr.pc);
#   5. meson: only the LXC, remote and network drivers, no docs, no tests;
#   6. ninja, and ninja install into the prefix when anything was rebuilt.
#
# Idempotent: the source is fetched and build-deps installed once; when only the
# patches changed, the work tree is re-patched in place and ninja rebuilds what
# they touch (seconds). When the series is unchanged and the prefix is complete,
# only ninja runs and finds nothing to do.
#
# Usage: scripts/libvirt-build.sh [--force]
# Env:   LXC_CR_LIBVIRT_PREFIX (default /opt/lxc-cr/libvirt)
#        LXC_CR_LIBVIRT_CACHE  (default /var/cache/lxc-cr/libvirt)
#        LXC_CR_LIBVIRT_VERSION (default: the bookworm candidate of libvirt-daemon)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
prefix=${LXC_CR_LIBVIRT_PREFIX:-/opt/lxc-cr/libvirt}
cache=${LXC_CR_LIBVIRT_CACHE:-/var/cache/lxc-cr/libvirt}
patchdir=$top/src/lxc_cr/libvirt
force=0
[ "${1:-}" = --force ] && force=1

die() { echo "libvirt-build: $*" >&2; exit 1; }
say() { echo "libvirt-build: $*"; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get, install into $prefix)"
export DEBIAN_FRONTEND=noninteractive

# 1. deb-src entry: mirror every deb entry of Debian's own sources file.
srcfile=/etc/apt/sources.list.d/lxc-cr-debian-src.sources
have_src() {
	# a deb-src entry for bookworm (not trixie, which some benches add)
	grep -rlsE '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		xargs -r grep -lsE '^Suites:.*\bbookworm\b' | grep -q . && return 0
	grep -sqE '^deb-src .* bookworm ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list
}
updated=0
if ! have_src; then
	deb=/etc/apt/sources.list.d/debian.sources
	if [ -f "$deb" ]; then
		say "adding $srcfile (deb-src mirroring $deb)"
		sed -e 's/^Types:[[:space:]]*deb[[:space:]]*$/Types: deb-src/' "$deb" > "$srcfile.tmp"
		mv "$srcfile.tmp" "$srcfile"
	elif grep -qsE '^deb .* bookworm' /etc/apt/sources.list; then
		srcfile=/etc/apt/sources.list.d/lxc-cr-debian-src.list
		say "adding $srcfile (deb-src mirroring /etc/apt/sources.list)"
		sed -n -e 's/^deb \(.* bookworm.*\)$/deb-src \1/p' /etc/apt/sources.list > "$srcfile.tmp"
		mv "$srcfile.tmp" "$srcfile"
	else
		die "no Debian 12 deb entry to mirror; add a deb-src entry for bookworm by hand"
	fi
	apt-get update -qq
	updated=1
fi

# The version: Debian 12's, never the newer suite's source a bench may have added.
ver=${LXC_CR_LIBVIRT_VERSION:-}
if [ -z "$ver" ]; then
	ver=$(apt-cache policy libvirt-daemon | awk '/Candidate:/ { print $2 }')
	case "$ver" in 9.0.0*) ;; *) die "libvirt-daemon's candidate is '$ver', expected 9.0.0 (Debian 12)";; esac
fi
upver=${ver%-*}
upver=${upver#*:}

# 2. source and build dependencies (once per version).
mkdir -p "$cache"
pristine=$cache/libvirt-$upver
if [ ! -f "$cache/.fetched-$ver" ]; then
	command -v dpkg-source >/dev/null || apt-get install -y -qq dpkg-dev >/dev/null
	if ! (cd "$cache" && apt-get source -qq "libvirt=$ver" >/dev/null 2>"$cache/source.log"); then
		[ "$updated" = 1 ] || { apt-get update -qq; updated=1; }
		(cd "$cache" && apt-get source -qq "libvirt=$ver" >/dev/null 2>"$cache/source.log") ||
			die "apt-get source libvirt=$ver failed: $(tail -n 3 "$cache/source.log")"
	fi
	[ -d "$pristine" ] || die "apt-get source did not unpack $pristine"
	touch "$cache/.fetched-$ver"
fi
if [ ! -f "$cache/.build-dep-$ver" ]; then
	say "installing build dependencies of libvirt $ver"
	apt-get build-dep -y -qq "libvirt=$ver" >"$cache/build-dep.log" 2>&1 ||
		die "apt-get build-dep libvirt=$ver failed: $(tail -n 5 "$cache/build-dep.log")"
	touch "$cache/.build-dep-$ver"
fi

# 3. the work tree: pristine source + our series. Re-patch when the series changed.
series=$patchdir/series
patches=()
if [ -f "$series" ]; then
	while read -r p _; do
		case "$p" in ''|\#*) continue;; esac
		[ -f "$patchdir/$p" ] || die "$series names $p, which is not in $patchdir"
		patches+=("$patchdir/$p")
	done < "$series"
fi
stamp=$( { echo "$ver"; if [ ${#patches[@]} -gt 0 ]; then cat "${patches[@]}"; fi; } | sha256sum | cut -c1-16)
work=$cache/work
builddir=$work/build
if [ "$force" = 1 ] || [ ! -f "$work/.series" ] || [ "$(cat "$work/.series")" != "$stamp" ]; then
	if [ -d "$work/src" ] && [ -f "$work/.series" ]; then
		# Unapply the old series file by file from the pristine copy: only the
		# files it touched are rewritten, so ninja rebuilds only those.
		while read -r f; do
			if [ -f "$pristine/$f" ]; then
				cmp -s "$pristine/$f" "$work/src/$f" || cp "$pristine/$f" "$work/src/$f"
			else
				rm -f "$work/src/$f"
			fi
		done < "$work/.touched"
	else
		rm -rf "$work"
		mkdir -p "$work"
		cp -a "$pristine" "$work/src"
	fi
	: > "$work/.touched"
	for p in "${patches[@]}"; do
		say "applying $(basename "$p")"
		lsdiff --strip=1 "$p" >> "$work/.touched" 2>/dev/null ||
			grep -E '^\+\+\+ b/' "$p" | sed -e 's|^+++ b/||' >> "$work/.touched"
		# A file patch(1) rewrites gets a new mtime; the rest keep theirs.
		(cd "$work/src" && patch -p1 -s --no-backup-if-mismatch < "$p") ||
			die "$(basename "$p") does not apply to libvirt $ver"
	done
	echo "$stamp" > "$work/.series"
	rm -f "$work/.installed"
fi

# 4. liblxccr (the LXC driver links it): built from this tree, installed in
#    the prefix with lxccr.h and liblxccr.pc; files that did not change keep
#    their mtime, so ninja rebuilds the driver only when the header changed.
lxbuild=$cache/lxccr-build
if [ -f "$lxbuild/.srcdir" ] && [ "$(cat "$lxbuild/.srcdir")" != "$top" ]; then
	rm -rf "$lxbuild"    # configured from another checkout
fi
if [ ! -f "$lxbuild/Makefile" ]; then
	say "configuring liblxccr (lxc-cr from $top)"
	"$top/scripts/deps.sh" >/dev/null
	[ -x "$top/configure" ] || (cd "$top" && ./autogen.sh >/dev/null 2>&1)
	mkdir -p "$lxbuild"
	(cd "$lxbuild" && "$top/configure" -q --prefix="$prefix" --libdir="$prefix/lib" \
		>"$cache/lxccr-configure.log" 2>&1) ||
		die "configure of liblxccr failed: $(tail -n 5 "$cache/lxccr-configure.log")"
	echo "$top" > "$lxbuild/.srcdir"
fi
make -C "$lxbuild" -j"$(nproc)" src/lxc_cr/liblxccr.la src/lxc_cr/liblxccr.pc src/lxc-cr \
	>"$cache/lxccr-build.log" 2>&1 ||
	die "build of liblxccr failed: $(grep -E 'error|Error' "$cache/lxccr-build.log" | head -n 10)"
make -C "$lxbuild" INSTALL="install -C" INSTALL_DATA="install -C -m 644" \
	install-libLTLIBRARIES install-includeHEADERS install-pkgconfigDATA install-binPROGRAMS \
	>>"$cache/lxccr-build.log" 2>&1 ||
	die "install of liblxccr into $prefix failed: $(tail -n 5 "$cache/lxccr-build.log")"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}

# 5. configure once.
if [ ! -f "$builddir/build.ninja" ]; then
	say "configuring (prefix $prefix; LXC, remote and network drivers)"
	meson setup "$builddir" "$work/src" \
		-Dpkg_config_path="$prefix/lib/pkgconfig" \
		--prefix="$prefix" --libdir=lib \
		--sysconfdir="$prefix/etc" --localstatedir=/var -Drunstatedir=/run \
		--buildtype=debugoptimized -Dwerror=false \
		-Ddocs=disabled -Dtests=disabled -Dexpensive_tests=disabled \
		-Ddriver_lxc=enabled -Ddriver_remote=enabled -Ddriver_network=enabled \
		-Ddriver_libvirtd=enabled -Ddriver_qemu=disabled -Ddriver_libxl=disabled \
		-Ddriver_ch=disabled -Ddriver_bhyve=disabled -Ddriver_esx=disabled \
		-Ddriver_hyperv=disabled -Ddriver_openvz=disabled -Ddriver_vbox=disabled \
		-Ddriver_vmware=disabled -Ddriver_vz=disabled -Ddriver_test=enabled \
		-Ddriver_interface=disabled -Ddriver_secrets=disabled \
		-Dstorage_dir=disabled -Dstorage_disk=disabled -Dstorage_fs=disabled \
		-Dstorage_gluster=disabled -Dstorage_iscsi=disabled -Dstorage_iscsi_direct=disabled \
		-Dstorage_lvm=disabled -Dstorage_mpath=disabled -Dstorage_rbd=disabled \
		-Dstorage_scsi=disabled -Dstorage_vstorage=disabled -Dstorage_zfs=disabled \
		-Dfuse=enabled -Dlibssh=disabled -Dlibssh2=disabled -Dsasl=disabled \
		-Dpolkit=disabled -Dfirewalld=disabled -Dfirewalld_zone=disabled \
		-Dselinux=enabled -Dapparmor=disabled -Daudit=disabled -Dnss=disabled \
		-Dsanlock=disabled -Dwireshark_dissector=disabled -Dbash_completion=disabled \
		-Dnumactl=disabled -Dnumad=disabled -Dlibpcap=disabled -Dglusterfs=disabled \
		-Dlibiscsi=disabled -Dinit_script=none -Dqemu_user=root -Dqemu_group=root \
		>"$cache/configure.log" 2>&1 ||
		die "meson setup failed: $(tail -n 15 "$cache/configure.log")"
fi

# 6. build (ninja only rebuilds what changed) and install when anything did.
t0=$(date +%s)
ninja -C "$builddir" >"$cache/build.log" 2>&1 ||
	die "build failed: $(grep -E 'error|FAILED' "$cache/build.log" | head -n 20)"
if ! grep -q '^ninja: no work to do' "$cache/build.log" || [ ! -f "$work/.installed" ] ||
   [ ! -x "$prefix/sbin/libvirtd" ]; then
	ninja -C "$builddir" install >"$cache/install.log" 2>&1 ||
		die "install failed: $(tail -n 15 "$cache/install.log")"
	touch "$work/.installed"
	say "built and installed in $(( $(date +%s) - t0 )) s"
fi
say "libvirt $ver (series $stamp) in $prefix: $prefix/sbin/libvirtd, $prefix/bin/virsh"
