#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build tests/fuzz/fuzz-image.c with libFuzzer + AddressSanitizer from this
# source tree (and the generated protobuf files of a configured build dir),
# make seeds by dumping a real `sleep` with the built lxc-cr, and fuzz.
#
# Usage: run-fuzz.sh [--builddir DIR] [--seconds N] [--out DIR] [-- LIBFUZZER-ARGS...]
#   --builddir  a configured and built tree (default: ./build under the source tree,
#               or the current directory when it holds src/lxc-cr)
#   --seconds   how long to fuzz (default 60)
#   --out       where the binary, corpus and crash files go (default: a temp dir)
# Needs root (the seed dump), clang and libclang-rt-14-dev (libFuzzer):
#   apt-get install -y clang libclang-rt-14-dev
# Exits non-zero when the fuzzer found a crash, a leak, a hang or a process.

set -eu

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
builddir=
seconds=60
out=
while [ $# -gt 0 ]; do
	case "$1" in
	--builddir) builddir=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--) shift; break ;;
	-h|--help) sed -n '4,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) echo "run-fuzz.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
if [ -z "$builddir" ]; then
	if [ -x "$PWD/src/lxc-cr" ]; then builddir=$PWD; else builddir=$srcdir/build; fi
fi
builddir=$(cd "$builddir" && pwd)
for f in config.h src/lxc-cr src/criu_core/images/core.pb-c.c src/criu_core/restore/restorer-blob.c; do
	[ -e "$builddir/$f" ] || { echo "run-fuzz.sh: $builddir/$f missing: configure and make first" >&2; exit 2; }
done
out=${out:-$(mktemp -d /tmp/fuzz-image.XXXXXX)}
mkdir -p "$out/corpus" "$out/seeds" "$out/artifacts"

cc=${CC_FUZZ:-clang}
probe=$out/probe.c
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n' > "$probe"
if ! "$cc" -fsanitize=fuzzer,address "$probe" -o "$out/probe" 2>/dev/null; then
	echo "run-fuzz.sh: $cc cannot link libFuzzer: apt-get install -y clang libclang-rt-14-dev" >&2
	exit 2
fi

srcs=$(cd "$srcdir" && find src/common src/criu_core -name '*.c' ! -name restorer.c | sort)
echo "run-fuzz.sh: building $out/fuzz-image"
# shellcheck disable=SC2086
"$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-include "$builddir/config.h" \
	-I"$srcdir/src/common" -I"$srcdir/src/criu_core" -I"$srcdir/src/criu_core/include" \
	-I"$builddir/src/criu_core/images" \
	-Wno-unused-command-line-argument \
	-o "$out/fuzz-image" "$srcdir/tests/fuzz/fuzz-image.c" \
	$(cd "$srcdir" && for s in $srcs; do printf '%s/%s ' "$srcdir" "$s"; done) \
	"$builddir"/src/criu_core/images/*.pb-c.c "$builddir/src/criu_core/restore/restorer-blob.c" \
	$(pkg-config --cflags --libs libprotobuf-c) -lcap

# Seeds: a real dump of a sleeping process.
reaper=$builddir/tests/zdtm/zdtm-subreaper
mkdir -p "$out/dump"
if [ -x "$reaper" ]; then run=("$reaper"); else run=(); fi
"${run[@]}" /bin/bash -c '
	setsid sleep 1000 </dev/null >/dev/null 2>&1 &
	pid=$!
	sleep 0.2
	"$1" dump -t $pid -D "$2" -o "$2.log" || { kill -9 $pid; exit 1; }
' seed "$builddir/src/lxc-cr" "$out/dump" || { echo "run-fuzz.sh: the seed dump failed: $(tail -n 3 "$out/dump.log")" >&2; exit 1; }
FUZZ_IMAGE_MKSEED="$out/dump:$out/seeds" "$out/fuzz-image"

# And a tree in its own pid/uts/ipc/network namespaces whose ns.img holds links,
# addresses, routes of another table, a rule, a neighbour and sysctls (for
# net_validate()); a host without ip(8) or namespaces fuzzes without it.
mkdir -p "$out/dump-net" "$out/seeds-net"
seeds=("$out/seeds")
if "${run[@]}" /bin/bash -c '
	unshare -p -f -n -u -i setsid /bin/sh -c "ip link set lo up && ip link add zf0 type veth peer name zf1 &&
		ip addr add 10.5.0.1/24 dev zf0 && ip link set zf0 up && ip link set zf1 up &&
		ip route add 10.6.0.0/16 via 10.5.0.2 table 100 &&
		ip rule add from 10.5.0.0/24 table 100 priority 100 &&
		ip neigh add 10.5.0.9 lladdr 02:00:00:00:00:09 dev zf0 nud permanent &&
		exec sleep 1000" </dev/null >/dev/null 2>&1 &
	sleep 0.5
	pid=$(pgrep -P $! | head -n 1)
	[ -n "$pid" ] || exit 1
	"$1" dump -t $pid -D "$2" -o "$2.log" || { kill -9 $pid; exit 1; }
' seed "$builddir/src/lxc-cr" "$out/dump-net"; then
	FUZZ_IMAGE_MKSEED="$out/dump-net:$out/seeds-net" "$out/fuzz-image"
	seeds+=("$out/seeds-net")
else
	echo "run-fuzz.sh: no network namespace seed: $(tail -n 1 "$out/dump-net.log" 2>/dev/null)" >&2
fi

# And a FUSE filesystem with its server thread and a bind of its file (zdtm's
# fuse00: fuse.img, fuse-mnt.img, a fuse mount and a held bind in ns.img).
mkdir -p "$out/dump-fuse" "$out/seeds-fuse" "$out/fuse-wd"
if [ -x "$builddir/tests/zdtm/static/fuse00" ] && "${run[@]}" /bin/bash -c '
	cd "$3" && "$4" --pidfile "$3/pid" --outfile "$3/out" </dev/null >/dev/null 2>&1 || exit 1
	pid=$(cat "$3/pid")
	"$1" dump -t $pid -D "$2" -o "$2.log" || { kill -9 $pid; exit 1; }
' seed "$builddir/src/lxc-cr" "$out/dump-fuse" "$out/fuse-wd" "$builddir/tests/zdtm/static/fuse00"; then
	FUZZ_IMAGE_MKSEED="$out/dump-fuse:$out/seeds-fuse" "$out/fuzz-image"
	seeds+=("$out/seeds-fuse")
else
	echo "run-fuzz.sh: no FUSE seed: $(tail -n 1 "$out/dump-fuse.log" 2>/dev/null)" >&2
fi

echo "run-fuzz.sh: fuzzing for $seconds s; corpus $out/corpus, crashes in $out/artifacts"
set +e
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
"$out/fuzz-image" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
	-artifact_prefix="$out/artifacts/" -print_final_stats=1 "$@" "$out/corpus" "${seeds[@]}" \
	2>"$out/fuzz.log"
rc=$?
set -e
tail -n 20 "$out/fuzz.log"
if [ "$rc" != 0 ] || [ -n "$(ls -A "$out/artifacts")" ]; then
	echo "run-fuzz.sh: FOUND SOMETHING (rc $rc): $(ls "$out/artifacts")" >&2
	exit 1
fi
echo "run-fuzz.sh: no crash in $seconds s"
