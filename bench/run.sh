#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Dump/restore benchmark: lxc-cr against CRIU on the same workload.
#
# bench/run.sh [--sizes "256 1024 4096"] [--runs 5] [--lxc-cr PATH] [--criu PATH]
#              [--warmup 1] [--tools "lxc-cr criu"] [--out DIR] [--no-limits] [--huge]
# --huge: the image tmpfs is mounted huge=always (2 MiB pages in its page cache),
#         for both tools alike: page allocation then no longer bounds the copy.
#
# For each size (MiB) and tool, N times: start bench/memhog SIZE under a
# reaping subreaper, time `TOOL dump -t PID -D DIR --shell-job -o dump.log`,
# read the frozen time the tool reports, time `TOOL restore -D DIR -d
# --shell-job -o restore.log`, let memhog verify all its memory (SIGUSR1),
# kill it; the first --warmup runs of each size and tool are not counted.
# Images live on a private tmpfs.  Prints medians and the machine's
# own limits (bench/limits).  A failing run is reported, never fatal.
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")

SIZES="256 1024 4096"
RUNS=5
WARMUP=1
LXC_CR=${LXC_CR:-}
CRIU=${CRIU:-}
TOOLS="lxc-cr criu"
OUT=""
LIMITS=1
HUGE=

usage() {
	sed -n '4,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

ARGS=("$@")
while [ $# -gt 0 ]; do
	case "$1" in
	--sizes) SIZES=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--warmup) WARMUP=$2; shift 2 ;;
	--lxc-cr) LXC_CR=$2; shift 2 ;;
	--criu) CRIU=$2; shift 2 ;;
	--tools) TOOLS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--no-limits) LIMITS=0; shift ;;
	--huge) HUGE=1; shift ;;
	-h|--help) usage 0 ;;
	*) echo "run.sh: unknown option $1" >&2; usage 2 ;;
	esac
done

# Helpers are built on demand (standalone Makefile, not part of the product).
if ! make -s -C "$BENCH_DIR" subreaper memhog limits >&2; then
	echo "run.sh: cannot build bench helpers" >&2
	exit 1
fi

# Everything below runs under a subreaper: the task a `restore -d` leaves
# behind is reparented to it and reaped when killed (PID 1 here does not reap,
# and a zombie keeps the PID the next restore needs).
if [ -z "${LXC_CR_BENCH_INNER:-}" ]; then
	exec "$BENCH_DIR/subreaper" env LXC_CR_BENCH_INNER=1 bash "${BASH_SOURCE[0]}" "${ARGS[@]}"
fi

MEMHOG=$BENCH_DIR/memhog

# --- tools -------------------------------------------------------------------
find_lxc_cr() {
	local c
	for c in "$REPO_DIR/src/cli/lxc-cr" "$REPO_DIR/src/lxc-cr" "$REPO_DIR/lxc-cr" \
		 "$REPO_DIR/build/src/cli/lxc-cr" "$(command -v lxc-cr 2>/dev/null)"; do
		[ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return; }
	done
}
find_criu() {
	local c
	for c in "${CRIU_BUILD_DIR:-/work/peers/criu}/criu-4.1.1/criu/criu" \
		 /work/peers/criu/criu-4.1.1/criu/criu; do
		[ -x "$c" ] && { echo "$c"; return; }
	done
	# Debian 12's own criu (3.17) does not work on kernels >= 6.13: not used.
}
[ -n "$LXC_CR" ] || LXC_CR=$(find_lxc_cr)
[ -n "$CRIU" ] || CRIU=$(find_criu)

declare -A TOOL_BIN
ACTIVE=()
for t in $TOOLS; do
	case "$t" in
	lxc-cr) bin=$LXC_CR; hint="build lxc-cr or pass --lxc-cr PATH" ;;
	criu) bin=$CRIU; hint="run bench/build-criu.sh" ;;
	*) echo "run.sh: unknown tool $t" >&2; exit 2 ;;
	esac
	if [ -z "$bin" ] || [ ! -x "$bin" ]; then
		echo "########################################################" >&2
		echo "### SKIP $t: not built ($hint)" >&2
		echo "########################################################" >&2
		continue
	fi
	TOOL_BIN[$t]=$bin
	ACTIVE+=("$t")
done

# --- work space ----------------------------------------------------------------
STAMP=$(date +%Y%m%d-%H%M%S)
[ -n "$OUT" ] || OUT=/tmp/lxc-cr-bench-$STAMP
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)

max_mb=0
for s in $SIZES; do [ "$s" -gt "$max_mb" ] && max_mb=$s; done
WORK=/tmp/lxc-cr-bench-tmpfs.$$
mkdir -p "$WORK"
# Images of the largest size plus slack; tmpfs only takes what is written.
if mount -t tmpfs -o "size=$((max_mb + max_mb / 4 + 1024))m,mode=0700${HUGE:+,huge=always}" lxc-cr-bench "$WORK" 2>/dev/null; then
	MOUNTED=1
else
	MOUNTED=0
	rmdir "$WORK"
	WORK=/dev/shm/lxc-cr-bench.$$
	mkdir -p "$WORK" || exit 1
fi

LIVE_PIDS=()
cleanup() {
	local p
	for p in "${LIVE_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	sleep 0.2
	cd /
	if [ "$MOUNTED" = 1 ]; then
		umount "$WORK" 2>/dev/null || umount -l "$WORK"
		rmdir "$WORK" 2>/dev/null
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[run.sh] $*" >&2; }

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

mem_avail_mb() { awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo; }

wait_gone() { # PID TIMEOUT_S
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		# A zombie still answers kill -0; it counts as gone only once reaped.
		sleep 0.05
	done
	return 1
}

forget_pid() {
	local p keep=()
	for p in "${LIVE_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	LIVE_PIDS=("${keep[@]}")
}

# Results: R[tool,size] = lines "dump_s frozen_ms restore_s" for good runs.
declare -A R NOK NFAIL FAILNOTE

# One run. Prints nothing on stdout; records into R/NOK/NFAIL.
one_run() { # TOOL SIZE RUN (RUN 'wN' = warm-up, not counted)
	local tool=$1 size=$2 run=$3 bin=${TOOL_BIN[$1]}
	local key="$tool,$size" W="$WORK/$tool-$size-$run" keep="$OUT/$tool-$size-$run"
	local img pid t0 t1 dump_s restore_s frozen_ms i res extra=() tmo why=""

	img=$W/img
	mkdir -p "$img"
	tmo=$((60 + size / 20))

	# The workload: own session, no descriptors but /dev/null and a log, and
	# (double fork) a child of the subreaper rather than of this shell.
	(cd "$W" && exec setsid "$MEMHOG" -p "$W/pid" -c "$W/check" "$size" \
		</dev/null >"$W/memhog.out" 2>&1 &)
	for ((i = 0; i < tmo * 20; i++)); do
		[ -s "$W/pid" ] && break
		sleep 0.05
	done
	if [ ! -s "$W/pid" ]; then
		why="memhog did not start"
	else
		pid=$(cat "$W/pid")
		LIVE_PIDS+=("$pid")
		[ "$tool" = criu ] && extra=(--display-stats)

		sync
		t0=$(now)
		timeout "$tmo" "$bin" dump -t "$pid" -D "$img" --shell-job -o dump.log "${extra[@]}" \
			>"$W/dump.out" 2>&1
		res=$?
		t1=$(now)
		dump_s=$(elapsed "$t0" "$t1")
		if [ "$res" != 0 ]; then
			why="dump exit $res"
		elif ! wait_gone "$pid" 10; then
			why="dumped task $pid still there 10 s after dump"
		fi
	fi

	if [ -z "$why" ]; then
		frozen_ms=$(cat "$img/dump.log" "$W/dump.out" 2>/dev/null |
			sed -n 's/.*frozen for \([0-9.]*\) *ms.*/\1/p' | tail -n1)
		if [ -z "$frozen_ms" ]; then
			frozen_ms=$(cat "$W/dump.out" "$img/dump.log" 2>/dev/null |
				awk '/Frozen time:/ { printf "%.1f", $3 / 1000 }' | tail -n1)
		fi
		[ -n "$frozen_ms" ] || frozen_ms=-

		rm -f "$W/check"
		t0=$(now)
		timeout "$tmo" "$bin" restore -D "$img" -d --shell-job -o restore.log \
			>"$W/restore.out" 2>&1
		res=$?
		t1=$(now)
		restore_s=$(elapsed "$t0" "$t1")
		if [ "$res" != 0 ]; then
			why="restore exit $res"
		elif ! kill -0 "$pid" 2>/dev/null; then
			why="restored task $pid not running"
		else
			kill -USR1 "$pid"
			for ((i = 0; i < tmo * 20; i++)); do
				[ -s "$W/check" ] && break
				sleep 0.05
			done
			if [ ! -s "$W/check" ]; then
				why="no memory check result from restored task"
			elif ! grep -q '^OK' "$W/check"; then
				why="memory check: $(cat "$W/check")"
			fi
		fi
	fi

	if [ -n "${pid:-}" ]; then
		kill -9 "$pid" 2>/dev/null
		wait_gone "$pid" 10 || log "warning: $pid still present after kill"
		forget_pid "$pid"
	fi

	if [[ $run == w* ]]; then
		log "$tool ${size}MiB warm-up $run: ${why:-OK} (not counted)"
		if [ -n "$why" ]; then
			mkdir -p "$keep"
			cp "$W"/*.out "$img"/*.log "$keep"/ 2>/dev/null
		fi
	elif [ -z "$why" ]; then
		R[$key]+="$dump_s $frozen_ms $restore_s"$'\n'
		NOK[$key]=$(( ${NOK[$key]:-0} + 1 ))
		log "$tool ${size}MiB run $run: dump ${dump_s}s frozen ${frozen_ms}ms restore ${restore_s}s OK"
	else
		NFAIL[$key]=$(( ${NFAIL[$key]:-0} + 1 ))
		FAILNOTE[$key]="$why (logs: $keep)"
		mkdir -p "$keep"
		cp "$W"/*.out "$img"/*.log "$keep"/ 2>/dev/null
		log "$tool ${size}MiB run $run: FAILED: $why; logs in $keep"
	fi
	rm -rf "$W"
}

median() { # column number, reads values on stdin; "-" entries ignored
	awk -v c="$1" '$c != "-" { print $c }' | sort -g |
		awk '{ v[NR] = $1 } END { if (!NR) { print "-"; exit }
			if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

gbs() { # size_mb seconds
	awk -v m="$1" -v s="$2" 'BEGIN { if (s == "-" || s <= 0) print "-"; else printf "%.2f", m * 1048576 / s / 1e9 }'
}

# --- main loop -------------------------------------------------------------------
log "images on $WORK ($([ "$MOUNTED" = 1 ] && echo private tmpfs || echo /dev/shm)), logs in $OUT"
for t in "${ACTIVE[@]}"; do log "$t: ${TOOL_BIN[$t]}"; done

for size in $SIZES; do
	need=$((size * 2 + size / 8 + 512))
	avail=$(mem_avail_mb)
	if [ "$avail" -lt "$need" ]; then
		log "SKIP size ${size}MiB: needs ~${need} MiB free (workload + image), ${avail} MiB available"
		for t in "${ACTIVE[@]}"; do FAILNOTE[$t,$size]="skipped: not enough memory"; done
		continue
	fi
	for t in "${ACTIVE[@]}"; do
		for ((r = 1; r <= WARMUP; r++)); do
			one_run "$t" "$size" "w$r"
		done
		for ((r = 1; r <= RUNS; r++)); do
			one_run "$t" "$size" "$r"
		done
	done
done

# --- report ------------------------------------------------------------------------
{
	echo
	echo "lxc-cr benchmark $STAMP  ($(uname -r), $(nproc) CPUs, images on tmpfs${HUGE:+ (huge=always)}, medians of $RUNS runs after $WARMUP warm-up)"
	for t in "${ACTIVE[@]}"; do echo "  $t: ${TOOL_BIN[$t]}"; done
	printf "%9s  %-7s %8s %9s %10s %10s %12s  %s\n" \
		"size" "tool" "dump s" "dump GB/s" "frozen ms" "restore s" "restore GB/s" "runs"
	for size in $SIZES; do
		for t in $TOOLS; do
			key="$t,$size"
			if [ -z "${TOOL_BIN[$t]:-}" ]; then
				printf "%6sMiB  %-7s %8s\n" "$size" "$t" "SKIP (not built)"
				continue
			fi
			ok=${NOK[$key]:-0}
			fail=${NFAIL[$key]:-0}
			if [ "$ok" = 0 ]; then
				printf "%6sMiB  %-7s %8s  %s\n" "$size" "$t" "FAILED" "${FAILNOTE[$key]:-}"
				continue
			fi
			d=$(printf "%s" "${R[$key]}" | median 1)
			f=$(printf "%s" "${R[$key]}" | median 2)
			rs=$(printf "%s" "${R[$key]}" | median 3)
			status="$ok/$((ok + fail)) ok"
			[ "$fail" != 0 ] && status="$status, FAILED $fail: ${FAILNOTE[$key]}"
			printf "%6sMiB  %-7s %8s %9s %10s %10s %12s  %s\n" "$size" "$t" "$d" \
				"$(gbs "$size" "$d")" "$f" "$rs" "$(gbs "$size" "$rs")" "$status"
		done
	done
	echo "(GB/s = workload size / wall time, 1 GB = 1e9 bytes; frozen = as reported by the tool)"
	if [ "$LIMITS" = 1 ]; then
		echo
		echo "machine limits (bench/limits -s 1024 -r 5 -d $WORK, medians):"
		"$BENCH_DIR/limits" -s 1024 -r 5 -d "$WORK" 2>&1 | sed 's/^/  /'
	fi
} | tee "$OUT/results.txt"
log "results saved in $OUT/results.txt"
