#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Container benchmark: dump and restore of a whole container, as libvirt's
# LXC driver builds it (tests/container/ct-launch: pivot_root into a busybox
# rootfs, tmpfs /dev, own devpts, new pid/mnt/uts/ipc/net namespaces, a veth
# on a bridge, cgroups), given its init's PID.
#
# bench/ct.sh [--sizes "0 1024"] [--runs 3] [--warmup 1] [--lxc-cr PATH]
#             [--criu PATH] [--tools "lxc-cr criu"] [--builddir DIR] [--out DIR]
# Size 0 is the idle container: a busybox shell init with a second shell.
# Size N adds bench/memhog N inside (N MiB of private anonymous memory with
# known contents, checked after each restore). Images live on a private tmpfs.
#
# Each run: start the container, time `lxc-cr dump -t INIT`, read the frozen
# time from the dump log, wait for the launcher to go, re-create the
# cgroups (a new controller would), time `lxc-cr restore -d --external
# veth[eth0]:HOST@BRIDGE` until it returns with the container running,
# check it (init is PID 1 inside, eth0 has its address, memhog's check says
# OK), stop it. Prints medians. An idle container's restore time is the
# restore apart from memory (its memory is a few hundred KiB); the size-N
# restore minus it is the memory part.
# CRIU (the peer, bench/build-criu.sh) dumps and restores the same container
# in the same run: `criu dump -t INIT --external mnt[/dev/console]:console`,
# `criu restore -d --root ROOTFS --manage-cgroups --external
# mnt[console]:PTY --external veth[eth0]:HOST@BRIDGE` (PTY: a host pty
# slave held open by the bench, the new console). A tool that fails prints
# FAILED and its first error.
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")
. "$BENCH_DIR/lib.sh"

SIZES="0 1024"
RUNS=3
WARMUP=1
LXC_CR=${LXC_CR:-}
CRIU=${CRIU:-}
TOOLS="lxc-cr criu"
BUILDDIR=${BUILDDIR:-}
OUT=

usage() {
	sed -n '4,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--sizes) SIZES=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--warmup) WARMUP=$2; shift 2 ;;
	--lxc-cr) LXC_CR=$2; shift 2 ;;
	--criu) CRIU=$2; shift 2 ;;
	--tools) TOOLS=$2; shift 2 ;;
	--builddir) BUILDDIR=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h|--help) usage 0 ;;
	*) echo "ct.sh: unknown option $1" >&2; usage 2 ;;
	esac
done

if [ "$(id -u)" != 0 ]; then
	echo "ct.sh: needs root (namespaces, mounts, cgroups, netdevs)" >&2
	exit 1
fi
if [ -z "$BUILDDIR" ]; then
	for d in "$REPO_DIR/build" "$PWD"; do
		[ -x "$d/tests/container/ct-launch" ] && { BUILDDIR=$d; break; }
	done
fi
LAUNCH=$BUILDDIR/tests/container/ct-launch
[ -n "$LXC_CR" ] || LXC_CR=$BUILDDIR/src/lxc-cr
if [ -z "$CRIU" ]; then
	for c in "${CRIU_BUILD_DIR:-/work/peers/criu}/criu-4.1.1/criu/criu" \
		 /work/peers/criu/criu-4.1.1/criu/criu; do
		[ -x "$c" ] && { CRIU=$c; break; }
	done
	# Debian 12's own criu (3.17) does not work on kernels >= 6.13: not used.
fi
if [ ! -x "$LAUNCH" ]; then
	echo "ct.sh: $LAUNCH not found: build first (scripts/build.sh build) or give --builddir" >&2
	exit 1
fi
ACTIVE=()
for t in $TOOLS; do
	case "$t" in
	lxc-cr) bin=$LXC_CR; hint="build first (scripts/build.sh build) or give --lxc-cr PATH" ;;
	criu) bin=$CRIU; hint="run bench/build-criu.sh or give --criu PATH" ;;
	*) echo "ct.sh: unknown tool $t" >&2; exit 2 ;;
	esac
	if [ -z "$bin" ] || [ ! -x "$bin" ]; then
		echo "########################################################" >&2
		echo "### SKIP $t: not built (${bin:-no binary}: $hint)" >&2
		echo "########################################################" >&2
		continue
	fi
	ACTIVE+=("$t")
done
if ! make -s -C "$BENCH_DIR" memhog subreaper >&2; then
	echo "ct.sh: cannot build bench helpers" >&2
	exit 1
fi

# Run under a reaping subreaper: PID 1 here does not reap orphans, and a
# restored container's init is re-parented when lxc-cr restore -d exits.
if [ -z "${CT_BENCH_REAPED:-}" ]; then
	export CT_BENCH_REAPED=1
	exec "$BENCH_DIR/subreaper" "$0" --sizes "$SIZES" --runs "$RUNS" --warmup "$WARMUP" \
		--lxc-cr "$LXC_CR" --criu "$CRIU" --tools "$TOOLS" --builddir "$BUILDDIR" \
		${OUT:+--out "$OUT"}
fi
. "$REPO_DIR/tests/container/lib.sh"
ct_close_stray_fds

[ -n "$OUT" ] || OUT=/tmp/lxc-cr-ctbench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
work=$(mktemp -d /tmp/ct-bench.XXXXXX)
root=$work/rootfs
imgs=$work/img
name=ctb$$
bridge=ctbb$$
veth=ctbv$$
init=
ctl=
cgdirs=()
pty_pid=
pty=

cleanup() {
	[ -n "$init" ] && kill -KILL "$init" 2>/dev/null
	[ -n "$ctl" ] && kill -TERM "$ctl" 2>/dev/null
	[ -n "$pty_pid" ] && kill -TERM "$pty_pid" 2>/dev/null
	wait 2>/dev/null
	ip link del dev "$veth" 2>/dev/null
	ip link del dev "$bridge" 2>/dev/null
	for d in "${cgdirs[@]}"; do rmdir "$d" 2>/dev/null; done
	mountpoint -q "$imgs" && umount "$imgs"
	rm -rf "$work"
}
trap cleanup EXIT

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && [ "$(awk '/^State:/ {print $2}' /proc/"$1"/status 2>/dev/null)" != Z ]; }

"$REPO_DIR/tests/container/mkrootfs.sh" --hostname "$name" "$root" "$BENCH_DIR/memhog" >"$work/mkrootfs.log" 2>&1 ||
	{ echo "ct.sh: mkrootfs.sh failed: $(tail -n 3 "$work/mkrootfs.log")" >&2; exit 1; }
mkdir -p "$imgs" && mount -t tmpfs -o size=90% ctbench "$imgs" ||
	{ echo "ct.sh: cannot mount the image tmpfs" >&2; exit 1; }
ip link add "$bridge" type bridge && ip addr add 10.214.9.1/24 dev "$bridge" && ip link set "$bridge" up ||
	{ echo "ct.sh: cannot create the bridge $bridge" >&2; exit 1; }

# CRIU restores the container's /dev/console (a bind of its devpts' pty 0,
# whose master the controller holds outside) as an external mount: it needs
# a pty slave from outside, like the console a new controller would give.
if [[ " ${ACTIVE[*]} " == *" criu "* ]]; then
	if command -v python3 >/dev/null; then
		python3 -c 'import os, sys, time
m, s = os.openpty()
print(os.ttyname(s), flush=True)
sys.stdout.close()
while True: time.sleep(3600)' </dev/null >"$work/pty" 2>&1 &
		pty_pid=$!
		wait_for 10 test -s "$work/pty"
		pty=$(head -n 1 "$work/pty")
	fi
	if [ ! -c "$pty" ]; then
		echo "ct.sh: no pty for CRIU's console ($(head -c 200 "$work/pty" 2>&1)): /dev/null instead" >&2
		pty=/dev/null
	fi
fi

# CRIU's first error in LOG (the RLIMIT_NOFILE one is in every log here:
# no CAP_SYS_RESOURCE), else the first lines of its output
criu_error() {
	local e
	e=$(grep -E 'Error|Err ' "$1" 2>/dev/null | grep -v 'RLIMIT_NOFILE' | head -n 2 | tr '\n' ' ')
	[ -n "$e" ] && echo "$e" || echo "$2" | head -n 2 | tr '\n' ' '
}

# after a failed run: nothing of it may stay for the next one
run_cleanup() {
	[ -n "$init" ] && kill -KILL "$init" 2>/dev/null
	[ -n "$ctl" ] && kill -TERM "$ctl" 2>/dev/null
	wait 2>/dev/null
	wait_for 10 sh -c "! ip link show dev $veth" || ip link del dev "$veth" 2>/dev/null
	for d in "${cgdirs[@]}"; do wait_for 5 rmdir "$d"; done
}

# one run: SIZE TOOL RUNNO -> "dump_s frozen_ms restore_s" on stdout, or FAILED reason
one_run() {
	local size=$1 tool=$2 tag=$3 t0 t1 t2 t3 frozen out rst rc
	local log=$OUT/size$size-$tool-run$tag
	mkdir -p "$log"
	rm -rf "${imgs:?}"/* "$root"/bench.*
	cat >"$root/bench-init.sh" <<EOF
#!/bin/sh
sh -c 'while :; do sleep 1; done' &
if [ $size -gt 0 ]; then
	/usr/local/bin/memhog -p /bench.memhog.pid -c /bench.check $size >/bench.memhog.out 2>&1 &
fi
while :; do sleep 1; done
EOF
	chmod 755 "$root/bench-init.sh"
	"$LAUNCH" --name "$name" --rootfs "$root" --no-console-stdio --pidfile "$work/init.pid" \
		--veth-host "$veth" --bridge "$bridge" --ip 10.214.9.2/24 --gw 10.214.9.1 \
		-- /bin/sh /bench-init.sh </dev/null >"$log/launch.log" 2>&1 &
	ctl=$!
	if ! wait_for 10 test -s "$work/init.pid"; then
		echo "FAILED the container did not start ($log/launch.log)"
		return 1
	fi
	init=$(cat "$work/init.pid")
	if [ "$size" -gt 0 ] && ! wait_for 60 grep -q READY "$root/bench.memhog.out"; then
		echo "FAILED memhog did not get ready ($(head -c 200 "$root/bench.memhog.out" 2>&1))"
		return 1
	fi
	sleep 0.2
	mapfile -t cgdirs < <(ct_cgroup_dirs "$init")

	t0=$(now)
	if [ "$tool" = criu ]; then
		out=$(timeout 600 "$CRIU" dump -t "$init" -D "$imgs" -o dump.log --display-stats \
			--external 'mnt[/dev/console]:console' 2>&1)
		rc=$?
	else
		out=$(timeout 600 "$LXC_CR" dump -t "$init" -D "$imgs" -o dump.log 2>&1)
		rc=$?
	fi
	t1=$(now)
	if [ $rc != 0 ]; then
		cp "$imgs/dump.log" "$log/" 2>/dev/null
		echo "$out" >"$log/dump.out"
		if [ "$tool" = criu ]; then
			echo "FAILED dump (rc $rc): $(criu_error "$imgs/dump.log" "$out")($log)"
		else
			echo "FAILED dump (rc $rc): $(echo "$out" | head -n 2) ($log)"
		fi
		return 1
	fi
	if [ "$tool" = criu ]; then
		frozen=$(echo "$out" | awk '/Frozen time:/ { printf "%.0f\n", $3 / 1000 }' | tail -n 1)
	else
		frozen=$(sed -n 's/.*frozen for \([0-9]*\) ms.*/\1/p' "$imgs/dump.log" | tail -n 1)
	fi
	wait "$ctl" 2>/dev/null
	ctl=
	wait_for 10 sh -c "! ip link show dev $veth" || { echo "FAILED the host end $veth stayed after the dump"; return 1; }
	ct_make_cgroups "${cgdirs[@]}"

	rm -f "$work/rst.pid"
	t2=$(now)
	if [ "$tool" = criu ]; then
		timeout 600 "$CRIU" restore -D "$imgs" -d -o restore.log --pidfile "$work/rst.pid" \
			--root "$root" --manage-cgroups --external "mnt[console]:$pty" \
			--external "veth[eth0]:$veth@$bridge" </dev/null >"$log/restore.out" 2>&1
		rc=$?
	else
		timeout 600 "$LXC_CR" restore -D "$imgs" -d -o restore.log --pidfile "$work/rst.pid" \
			--external "veth[eth0]:$veth@$bridge" </dev/null >"$log/restore.out" 2>&1
		rc=$?
	fi
	t3=$(now)
	if [ $rc != 0 ] || ! alive "$(cat "$work/rst.pid" 2>/dev/null)"; then
		cp "$imgs/restore.log" "$log/" 2>/dev/null
		if [ "$tool" = criu ] && [ $rc != 0 ]; then
			echo "FAILED restore (rc $rc): $(criu_error "$imgs/restore.log" "$(cat "$log/restore.out")")($log)"
		else
			echo "FAILED restore (rc $rc): $(head -n 2 "$log/restore.out") ($log)"
		fi
		return 1
	fi
	init=$(cat "$work/rst.pid")
	rst=$(awk '/^NSpid:/ { print $NF }' /proc/"$init"/status)
	[ "$rst" = 1 ] || { echo "FAILED the restored init is PID '$rst' inside, not 1"; return 1; }
	out=$(nsenter -t "$init" -n ip -4 -o addr show dev eth0 2>&1)
	[[ "$out" == *"10.214.9.2/24"* ]] || { echo "FAILED eth0 lost its address: $out"; return 1; }
	if [ "$size" -gt 0 ]; then
		rm -f "$root/bench.check"
		# memhog's pidfile holds its PID inside the container
		nsenter -t "$init" -p -m /bin/kill -USR1 "$(cat "$root/bench.memhog.pid")" 2>/dev/null
		wait_for 60 test -s "$root/bench.check"
		out=$(cat "$root/bench.check" 2>&1)
		[[ "$out" == OK* ]] || { echo "FAILED memhog's check after restore: $out"; return 1; }
	fi
	kill -KILL "$init"
	wait_for 10 sh -c "! kill -0 $init 2>/dev/null"
	init=
	wait_for 10 sh -c "! ip link show dev $veth" || ip link del dev "$veth" 2>/dev/null
	for d in "${cgdirs[@]}"; do wait_for 5 rmdir "$d"; done
	rm -rf "$log"
	awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v f="${frozen:-?}" 'BEGIN { printf "%.3f %s %.3f\n", b - a, f, d - c }'
}

fmt='%-10s %-7s %-5s %10s %10s %10s\n'
printf "$fmt" "container" "tool" "runs" "dump s" "frozen ms" "restore s"
for size in $SIZES; do
	declare -A RES=() FAIL=()
	for r in $(seq $((WARMUP + RUNS))); do
		for tool in "${ACTIVE[@]}"; do
			line=$(one_run "$size" "$tool" "$r" || run_cleanup >&2)
			if [[ "$line" != [0-9]* ]]; then
				[[ "$line" == FAILED* ]] || line="FAILED ${line:-no result}"
				echo "size $size $tool run $r: $line" >&2
				FAIL[$tool]=${line#FAILED }
				continue
			fi
			[ "$r" -gt "$WARMUP" ] && RES[$tool]+="$line"$'\n'
		done
	done
	label=idle
	[ "$size" -gt 0 ] && label="${size}MiB"
	for tool in "${ACTIVE[@]}"; do
		n=$(printf '%s' "${RES[$tool]:-}" | grep -c .)
		if [ "$n" = 0 ]; then
			printf "$fmt" "$label" "$tool" 0 FAILED - -
			echo "    $tool: ${FAIL[$tool]:-no counted run}"
			continue
		fi
		d=$(printf '%s' "${RES[$tool]}" | awk '{ print $1 }' | median)
		f=$(printf '%s' "${RES[$tool]}" | awk '{ print $2 }' | median)
		s=$(printf '%s' "${RES[$tool]}" | awk '{ print $3 }' | median)
		printf "$fmt" "$label" "$tool" "$n" "$d" "$f" "$s"
		[ -n "${FAIL[$tool]:-}" ] && echo "    $tool: some runs FAILED: ${FAIL[$tool]}"
	done
	unset RES FAIL
done
