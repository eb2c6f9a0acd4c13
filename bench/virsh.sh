#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# virsh save / virsh restore of a libvirt LXC domain, wall time as an
# operator sees it, through the patched libvirtd (scripts/libvirt-build.sh,
# scripts/libvirtd.sh): the controller (libvirt_lxc) and the container are
# checkpointed together by liblxccr and the engine.
#
# bench/virsh.sh [--sizes "0 1024"] [--runs 3] [--warmup 1] [--out DIR]
# Size 0 is the idle domain: a busybox shell init with a second shell.
# Size N adds bench/memhog N inside (N MiB of private anonymous memory with
# known contents, checked after each restore); the domain's memory is N+512
# MiB. Save files live on a private tmpfs (the disk is not what is measured).
#
# Each run: `virsh start`, wait until memhog is ready, time `virsh save DOM
# FILE` (returns when the file is complete, synced and the domain shut off),
# time `virsh restore FILE` (returns when libvirt has re-adopted the running
# domain), check it: domstate running, init is PID 1 inside, memhog's check
# says OK; `virsh destroy`. Prints medians and the save file's size. The same
# container through bare `lxc-cr dump/restore` (no libvirt) is bench/ct.sh.
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")
. "$BENCH_DIR/lib.sh"

SIZES="0 1024"
RUNS=3
WARMUP=1
OUT=

usage() {
	sed -n '4,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--sizes) SIZES=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--warmup) WARMUP=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h|--help) usage 0 ;;
	*) echo "virsh.sh: unknown option $1" >&2; usage 2 ;;
	esac
done

if [ "$(id -u)" != 0 ]; then
	echo "virsh.sh: needs root (libvirtd, containers)" >&2
	exit 1
fi
prefix=${LXC_CR_LIBVIRT_PREFIX:-/opt/lxc-cr/libvirt}
if [ ! -x "$prefix/bin/virsh" ] || [ ! -x "$prefix/sbin/libvirtd" ]; then
	echo "virsh.sh: no patched libvirt in $prefix: run scripts/libvirt-build.sh first" >&2
	exit 1
fi
if ! make -s -C "$BENCH_DIR" memhog >&2; then
	echo "virsh.sh: cannot build bench/memhog" >&2
	exit 1
fi

# Under a reaping subreaper: the daemon's controllers are re-parented to it
# (PID 1 here does not reap orphans; see scripts/reaper.pl).
if [ -z "${VIRSH_BENCH_REAPED:-}" ]; then
	export VIRSH_BENCH_REAPED=1
	exec perl "$REPO_DIR/scripts/reaper.pl" "$0" --sizes "$SIZES" --runs "$RUNS" \
		--warmup "$WARMUP" ${OUT:+--out "$OUT"}
fi

export LXC_CR_LIBVIRTD_NAME=vbench$$
[ -n "$OUT" ] || OUT=/tmp/lxc-cr-virshbench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
work=$(mktemp -d /tmp/virsh-bench.XXXXXX)
root=$work/rootfs
saves=$work/save
dom=vb$$
bridge=vbb$$
uri=

V() { "$prefix/bin/virsh" -q -c "$uri" "$@"; }

cleanup() {
	if [ -n "$uri" ]; then
		V destroy "$dom" >/dev/null 2>&1
		V undefine "$dom" >/dev/null 2>&1
		"$REPO_DIR/scripts/libvirtd.sh" stop >/dev/null 2>&1
	fi
	ip link del dev "$bridge" 2>/dev/null
	mountpoint -q "$saves" && umount "$saves"
	rm -rf "$work" "/var/lib/lxc-cr/libvirtd/$LXC_CR_LIBVIRTD_NAME"
}
trap cleanup EXIT


"$REPO_DIR/tests/container/mkrootfs.sh" --hostname "$dom" "$root" "$BENCH_DIR/memhog" >"$work/mkrootfs.log" 2>&1 ||
	{ echo "virsh.sh: mkrootfs.sh failed: $(tail -n 3 "$work/mkrootfs.log")" >&2; exit 1; }
mkdir -p "$saves" && mount -t tmpfs -o size=90% vbench "$saves" ||
	{ echo "virsh.sh: cannot mount the save tmpfs" >&2; exit 1; }
ip link add "$bridge" type bridge && ip link set "$bridge" up ||
	{ echo "virsh.sh: cannot create the bridge $bridge" >&2; exit 1; }
uri=$("$REPO_DIR/scripts/libvirtd.sh" start 2>"$work/libvirtd.err") ||
	{ echo "virsh.sh: cannot start libvirtd: $(tail -n 3 "$work/libvirtd.err")" >&2; exit 1; }

# one_run SIZE TAG -> "save_s restore_s file_MiB" on stdout, or FAILED reason
one_run() {
	local size=$1 tag=$2 t0 t1 t2 t3 out status init mib file=$saves/$dom.save
	local log=$OUT/size$size-run$tag
	mkdir -p "$log"
	rm -f "$file" "$root"/bench.*
	cat >"$root/bench-init.sh" <<EOF
#!/bin/sh
sh -c 'while :; do sleep 1; done' &
if [ $size -gt 0 ]; then
	/usr/local/bin/memhog -p /bench.memhog.pid -c /bench.check $size >/bench.memhog.out 2>&1 &
fi
while :; do sleep 1; done
EOF
	chmod 755 "$root/bench-init.sh"
	cat >"$work/$dom.xml" <<EOF
<domain type='lxc'>
  <name>$dom</name>
  <memory unit='MiB'>$((size + 512))</memory>
  <vcpu>1</vcpu>
  <os>
    <type>exe</type>
    <init>/bin/sh</init>
    <initarg>/bench-init.sh</initarg>
  </os>
  <devices>
    <filesystem type='mount'>
      <source dir='$root'/>
      <target dir='/'/>
    </filesystem>
    <interface type='bridge'>
      <source bridge='$bridge'/>
    </interface>
    <console type='pty'/>
  </devices>
</domain>
EOF
	if ! V create "$work/$dom.xml" >"$log/create.out" 2>&1; then
		echo "FAILED virsh create: $(head -n 2 "$log/create.out")"
		return 1
	fi
	if [ "$size" -gt 0 ] && ! wait_for 60 grep -q READY "$root/bench.memhog.out"; then
		echo "FAILED memhog did not get ready ($(head -c 200 "$root/bench.memhog.out" 2>&1))"
		return 1
	fi
	sleep 0.2

	t0=$(now)
	out=$(timeout 600 "$prefix/bin/virsh" -q -c "$uri" save "$dom" "$file" 2>&1) ||
		{ echo "FAILED virsh save: $(echo "$out" | head -n 2)"; return 1; }
	t1=$(now)
	mib=$(du -m "$file" | cut -f1)
	t2=$(now)
	out=$(timeout 600 "$prefix/bin/virsh" -q -c "$uri" restore "$file" 2>&1) ||
		{ echo "FAILED virsh restore: $(echo "$out" | head -n 2)"; return 1; }
	t3=$(now)
	out=$(V domstate "$dom" 2>&1)
	[ "$out" = running ] || { echo "FAILED after restore the domain is '$out'"; return 1; }
	status=$("$REPO_DIR/scripts/libvirtd.sh" exec cat "/run/libvirt/lxc/$dom.xml" 2>&1)
	init=$(sed -n "s/^ *<init pid='\([0-9]*\)'.*/\1/p" <<<"$status")
	[ "$(awk '/^NSpid:/ { print $NF }' /proc/"$init"/status 2>/dev/null)" = 1 ] ||
		{ echo "FAILED the restored init '$init' is not PID 1 inside"; return 1; }
	if [ "$size" -gt 0 ]; then
		nsenter -t "$init" -p -m /bin/kill -USR1 "$(cat "$root/bench.memhog.pid")" 2>/dev/null
		wait_for 60 test -s "$root/bench.check"
		out=$(cat "$root/bench.check" 2>&1)
		[[ "$out" == OK* ]] || { echo "FAILED memhog's check after restore: $out"; return 1; }
	fi
	V destroy "$dom" >/dev/null 2>&1
	rm -rf "$log" "$file"
	awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v m="$mib" 'BEGIN { printf "%.3f %.3f %s\n", b - a, d - c, m }'
}

fmt='%-10s %-5s %12s %12s %10s\n'
printf "$fmt" "domain" "runs" "save s" "restore s" "file MiB"
anyfail=0
for size in $SIZES; do
	res= fail=
	for r in $(seq $((WARMUP + RUNS))); do
		line=$(one_run "$size" "$r")
		if [[ "$line" != [0-9]* ]]; then
			echo "size $size run $r: ${line:-FAILED no result}" >&2
			fail=${line#FAILED }
			anyfail=1
			V destroy "$dom" >/dev/null 2>&1
			continue
		fi
		[ "$r" -gt "$WARMUP" ] && res+="$line"$'\n'
	done
	label=idle
	[ "$size" -gt 0 ] && label="${size}MiB"
	n=$(printf '%s' "$res" | grep -c .)
	if [ "$n" = 0 ]; then
		printf "$fmt" "$label" 0 FAILED - -
		echo "    ${fail:-no counted run}"
		continue
	fi
	printf "$fmt" "$label" "$n" \
		"$(printf '%s' "$res" | awk '{print $1}' | median)" \
		"$(printf '%s' "$res" | awk '{print $2}' | median)" \
		"$(printf '%s' "$res" | awk '{print $3}' | median)"
done
[ "$anyfail" = 1 ] && echo "logs of failed runs: $OUT"
