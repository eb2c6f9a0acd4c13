#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Fetch CRIU 4.1.1 from Debian's source package (trixie) and build it as a
# peer for bench/run.sh.  CRIU's code stays outside this repository.
#
# Usage: bench/build-criu.sh [TARGET_DIR]   (default $CRIU_BUILD_DIR or /work/peers/criu)
# Prints the path of the criu binary on the last line of stdout.
# Idempotent: every step is skipped when its result already exists.
set -eu

CRIU_VERSION=4.1.1
DEB_VERSION=4.1.1-1
TARGET=${1:-${CRIU_BUILD_DIR:-/work/peers/criu}}
SRCLIST=/etc/apt/sources.list.d/lxc-cr-bench-trixie-src.sources

log() { echo "build-criu: $*" >&2; }

# 1. deb-src entry for trixie, on the same mirror as the existing deb entries.
if [ ! -f "$SRCLIST" ]; then
	mirror=$(grep -hE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '{print $2}' | grep -v -- '-security' | grep -i debian | head -n1 || true)
	if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
		mirror=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
	fi
	mirror=${mirror:-http://deb.debian.org/debian}
	log "adding deb-src for trixie on $mirror ($SRCLIST)"
	cat > "$SRCLIST" <<EOS
Types: deb-src
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
	apt-get update -q >&2
fi

# 2. Build dependencies, from the distribution's own (bookworm) packages.
DEPS="build-essential pkg-config python3 libprotobuf-dev libprotobuf-c-dev
protobuf-c-compiler protobuf-compiler python3-protobuf libnl-3-dev libnl-route-3-dev
libnet1-dev libcap-dev libaio-dev libbsd-dev libgnutls28-dev libdrm-dev uuid-dev
iproute2 xz-utils"
missing=
for p in $DEPS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	log "installing build deps:$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2 ||
		{ apt-get update -q >&2 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2; }
fi

# 3. Source: only the orig tarball may come; that is enough.
mkdir -p "$TARGET"
SRC="$TARGET/criu-$CRIU_VERSION"
if [ ! -f "$SRC/Makefile" ]; then
	dl="$TARGET/download"
	mkdir -p "$dl"
	if ! ls "$dl"/criu_"$CRIU_VERSION".orig.tar.* >/dev/null 2>&1; then
		log "downloading criu=$DEB_VERSION source"
		(cd "$dl" && apt-get source --download-only "criu=$DEB_VERSION" >&2) || true
	fi
	tarball=$(ls "$dl"/criu_"$CRIU_VERSION".orig.tar.* 2>/dev/null | head -n1)
	[ -n "$tarball" ] || { log "no orig tarball for criu $CRIU_VERSION"; exit 1; }
	log "unpacking $tarball"
	tmp="$TARGET/unpack.$$"
	rm -rf "$tmp"; mkdir -p "$tmp"
	tar -xf "$tarball" -C "$tmp"
	top=$(ls "$tmp")
	rm -rf "$SRC"
	mv "$tmp/$top" "$SRC"
	rmdir "$tmp"
fi

# 4. Kernel >= 6.16 returns EOPNOTSUPP for SO_PASSCRED/SO_PASSSEC on inet
#    sockets.  CRIU treats that as fatal; treat it as "option not set".
#    dump_socket_opts()/restore_socket_opts() go through do_dump_opt() and
#    do_restore_opt(); both get one early return for exactly that case.
if [ ! -f "$SRC/.lxc-cr-passcred-patched" ]; then
	f="$SRC/criu/sockets.c"
	log "patching SO_PASSCRED/SO_PASSSEC EOPNOTSUPP handling in $f"
	sed -i \
	    -e '/if (getsockopt(sk, level, name, val, &aux) < 0) {/a\
\t\tif (level == SOL_SOCKET && (name == SO_PASSCRED || name == SO_PASSSEC) && errno == EOPNOTSUPP) { memset(val, 0, len); return 0; } /* lxc-cr bench: kernel >= 6.16 */' \
	    -e '/if (setsockopt(sk, level, name, val, len) < 0) {/a\
\t\tif (level == SOL_SOCKET && (name == SO_PASSCRED || name == SO_PASSSEC) && errno == EOPNOTSUPP) return 0; /* lxc-cr bench: kernel >= 6.16 */' \
	    "$f"
	n=$(grep -c 'lxc-cr bench: kernel >= 6.16' "$f")
	[ "$n" = 2 ] || { log "patch did not apply ($n of 2 sites)"; exit 1; }
	touch "$SRC/.lxc-cr-passcred-patched"
fi

# 5. Build.
if [ ! -x "$SRC/criu/criu" ]; then
	log "building (make -j2 criu)"
	make -C "$SRC" -j2 criu >&2
fi

echo "$SRC/criu/criu"
