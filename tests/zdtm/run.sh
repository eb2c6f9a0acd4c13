#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# ZDTM-style harness: start each test program, checkpoint and restore it
# N times with lxc-cr, then ask it (SIGTERM) to verify its own state.
#
# Usage: run.sh [--lxc-cr PATH] [--builddir DIR] [--iters N] [--keep] [--tap]
#               [--no-cr] [--strict] [--ns] [--ns-mnt] [--ns-net] [--ct] [--ctl] [TEST...]
# --strict: tests in known-gaps.list count as failures.
# --ns: each test tree's root is the init of new PID, UTS and IPC namespaces
#   (ZDTM_NEWNS=1); a restored root has a new host PID, which the harness follows.
# --ns-mnt: the same and a mount namespace: a private /proc and a tmpfs (ZDTM_NEWNS=2).
# --ns-net: as --ns, and a network namespace too (ZDTM_NEWNS=3), left empty.
# --ct: each test runs inside a ct-launch container (pivoted busybox rootfs
#   holding the test programs, tmpfs /dev, devpts, ro /sys; a shell as init);
#   the container is dumped by its init's PID.
# --ctl: as --ct, but the tree is rooted at the container's controller
#   (ct-launch-plain, in its own mount namespace, init's parent), dumped and
#   restored with --shell-job, as virsh save needs it.
# Tests default to every name in tests.list without "flags: noauto".
# A test's NAME.desc may say "opts: ..." (extra dump and restore options),
# "flags: noauto", and "wrap: PROG ARGS": then PROG (in the build dir) wraps
# the start, each dump and each restore as "PROG ARGS start|dump|restore WD --
# COMMAND..." (it may add options, e.g. --external or --inherit-fd, and hold
# descriptors outside the tree), and "PROG ARGS stop WD" ends it.

set -u

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self="$srcdir/$(basename "${BASH_SOURCE[0]}")"

usage() {
	sed -n '6,19s/^# \{0,1\}//p' "$self" >&2
	exit 2
}

lxc_cr=${LXC_CR:-}
builddir=${ZDTM_BUILDDIR:-}
iters=2
keep=0
tap=0
nocr=0
strict=0
ns=0
ct=0
ctlroot=0
tests=()
orig_args=("$@")

while [ $# -gt 0 ]; do
	case "$1" in
	--lxc-cr) lxc_cr=$2; shift 2 ;;
	--lxc-cr=*) lxc_cr=${1#*=}; shift ;;
	--builddir) builddir=$2; shift 2 ;;
	--builddir=*) builddir=${1#*=}; shift ;;
	--iters) iters=$2; shift 2 ;;
	--iters=*) iters=${1#*=}; shift ;;
	--keep) keep=1; shift ;;
	--tap) tap=1; shift ;;
	--no-cr) nocr=1; shift ;;
	--strict) strict=1; shift ;;
	--ns) ns=1; shift ;;
	--ns-mnt) ns=2; shift ;;
	--ns-net) ns=3; shift ;;
	--ct) ct=1; shift ;;
	--ctl) ct=1; ctlroot=1; shift ;;
	-h|--help) usage ;;
	--) shift; tests+=("$@"); break ;;
	-*) echo "run.sh: unknown option $1" >&2; usage ;;
	*) tests+=("$1"); shift ;;
	esac
done

[ "$ns" != 0 ] && export ZDTM_NEWNS=$ns
# --ctl: the controller leads no session (run.sh's session)
ctl_opts=
[ "$ctlroot" = 1 ] && ctl_opts=--shell-job

case "$iters" in ''|*[!0-9]*) echo "run.sh: --iters needs a number" >&2; exit 2 ;; esac

# Where the built test programs are: the option, the environment, the
# build tree we run from, or next to this script (in-tree build).
if [ -z "$builddir" ]; then
	if [ -x "$PWD/tests/zdtm/zdtm-subreaper" ]; then
		builddir=$PWD/tests/zdtm
	elif [ -x "$PWD/zdtm-subreaper" ]; then
		builddir=$PWD
	else
		builddir=$srcdir
	fi
fi
builddir=$(cd "$builddir" 2>/dev/null && pwd) || { echo "run.sh: no build dir $builddir" >&2; exit 2; }
if [ -z "$lxc_cr" ]; then
	lxc_cr=$builddir/../../src/lxc-cr
fi
if [ "$nocr" = 0 ]; then
	if [ ! -x "$lxc_cr" ]; then
		echo "run.sh: lxc-cr not found at $lxc_cr (use --lxc-cr, \$LXC_CR or --no-cr)" >&2
		exit 2
	fi
	lxc_cr=$(cd "$(dirname "$lxc_cr")" && pwd)/$(basename "$lxc_cr")
fi

# Restarted and killed test trees must be reaped by someone: run below a
# subreaper (PID 1 here does not reap orphans).
if [ -z "${ZDTM_UNDER_SUBREAPER:-}" ]; then
	reaper=$builddir/zdtm-subreaper
	if [ ! -x "$reaper" ]; then
		echo "run.sh: $reaper not built (make check TESTS=)" >&2
		exit 2
	fi
	export ZDTM_UNDER_SUBREAPER=1
	exec "$reaper" /bin/bash "$self" "${orig_args[@]}"
fi

# Stray inherited descriptors would end up in the checkpointed tree.
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	case "$fd" in 0|1|2|255) ;; *) eval "exec $fd>&-" 2>/dev/null ;; esac
done

if [ ${#tests[@]} -eq 0 ]; then
	auto=1
	while read -r line; do
		line=${line%%#*}
		line=$(echo $line)
		[ -n "$line" ] && tests+=("$line")
	done < "$srcdir/tests.list"
else
	auto=0
fi

say() {
	if [ "$tap" = 1 ]; then
		sed 's/^/# /' <<< "$*"
	else
		printf '%s\n' "$*"
	fi
}

show_tail() { # title file
	[ -f "$2" ] || { say "  ($1: $2 does not exist)"; return; }
	say "  --- $1 ($2), last lines:"
	say "$(tail -n 25 "$2" | sed 's/^/  | /')"
}

# desc_get FILE KEY: value of "KEY: ..." in a .desc file.
desc_get() {
	[ -f "$1" ] || return 0
	sed -n "s/^[[:space:]]*$2:[[:space:]]*//p" "$1" | tr '\n' ' '
}

proc_sid() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	set -- $stat
	echo "$4"
}

# Every process below pid (from the children lists) plus the members of the
# session the test created.
tree_of() {
	local pid=$1 t c p sid
	echo "$pid"
	for t in /proc/$pid/task/*; do
		for c in $(cat "$t/children" 2>/dev/null); do
			tree_of "$c"
		done
	done
}

kill_leftovers() { # root pid
	local root=$1 p pids sid
	[ -n "$root" ] || return 0
	# --ctl: the controller first, which stops its container and removes
	# its state directories (killed, it would leave them)
	[ "$ctlroot" = 1 ] && kill -TERM "$root" 2>/dev/null && wait_gone "$root" 10
	pids=$(tree_of "$root")
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = $$ ] && continue
		sid=$(proc_sid "$p") || continue
		[ "$sid" = "$root" ] && pids="$pids $p"
	done
	for p in $pids; do
		kill -KILL "$p" 2>/dev/null
	done
	wait_gone "$root" 5
}

wait_gone() { # pid seconds
	local i=$(( $2 * 20 ))
	while [ -d "/proc/$1" ] && [ $i -gt 0 ]; do
		sleep 0.05
		i=$((i - 1))
	done
	[ ! -d "/proc/$1" ]
}

wait_file() { # file seconds
	local i=$(( $2 * 20 ))
	while [ ! -s "$1" ] && [ $i -gt 0 ]; do
		sleep 0.05
		i=$((i - 1))
	done
	[ -s "$1" ]
}

find_log() { # workdir imgdir name
	if [ -f "$2/$3" ]; then echo "$2/$3"; else echo "$1/$3"; fi
}

run_root=$(mktemp -d /tmp/zdtm.XXXX)
npass=0 nfail=0 nskip=0 idx=0
failed_names=()

result() { # status name reason
	local st=$1 name=$2 reason=${3:-}
	idx=$((idx + 1))
	case "$st" in
	pass)
		npass=$((npass + 1))
		if [ "$tap" = 1 ]; then echo "ok $idx - $name"; else echo "=== $name: PASS"; fi ;;
	skip)
		nskip=$((nskip + 1))
		if [ "$tap" = 1 ]; then echo "ok $idx - $name # SKIP $reason"
		else echo "=== $name: SKIPPED *** $reason ***"; fi ;;
	fail)
		nfail=$((nfail + 1))
		failed_names+=("$name")
		if [ "$tap" = 1 ]; then echo "not ok $idx - $name # $reason"
		else echo "=== $name: FAIL ($reason)"; fi ;;
	esac
}

# --ct: the host PID of the process of container init's tree whose PID
# inside the container is inner.
ct_hostpid() { # init inner
	local p
	for p in $(tree_of "$1"); do
		[ "$(awk '/^NSpid:/ { print $NF }' "/proc/$p/status" 2>/dev/null)" = "$2" ] &&
			{ echo "$p"; return 0; }
	done
	return 1
}

# --ct: dead, or a zombie nobody reaped yet.
ct_gone() { # pid seconds
	local i=$(( $2 * 20 ))
	while [ $i -gt 0 ]; do
		[ -d "/proc/$1" ] || return 0
		[ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" = Z ] && return 0
		sleep 0.05
		i=$((i - 1))
	done
	return 1
}

# --ct: start the test in a new container; its init is a shell that runs the
# test's launcher, then sleeps (and reaps) forever. Sets pid to init's host
# PID and ctl to the ct-launch controller; returns the launcher's status.
ct_start() { # name wd
	local name=$1 wd=$2 in=/zdtm/wd/$1
	{
		echo "cd $in || exit 1"
		echo "ip link set lo up"	# as libvirt does
		echo "/zdtm/$name --pidfile $in/test.pid --outfile $in/test.out </dev/null >>$in/test.out 2>&1"
		echo "echo \$? >$in/launcher.rc"
		echo "while :; do sleep 1; done"
	} >"$wd/init.sh"
	"$ct_launch" --name "zc$$-$idx" --rootfs "$ctroot" --no-console-stdio --no-cgroups \
		--pidfile "$wd/init.pid" -- /bin/sh "$in/init.sh" </dev/null >"$wd/ct-launch.out" 2>&1 &
	ctl=$!
	# --ctl: the dump kills it; reaped all the same, without a "Killed" line
	[ "$ctlroot" = 1 ] && disown "$ctl"
	if ! wait_file "$wd/launcher.rc" 20; then
		show_tail "ct-launch" "$wd/ct-launch.out"
		return 1
	fi
	pid=$(cat "$wd/init.pid" 2>/dev/null)
	# --ctl: the tree's root is the controller, init's parent
	[ "$ctlroot" = 1 ] && [ -n "$pid" ] && pid=$ctl
	return "$(cat "$wd/launcher.rc")"
}

# --ct: stop what is left of the container (the test's tree dies with init).
ct_stop() {
	if [ "$ctlroot" = 1 ]; then
		# the controller kills init, reaps it and cleans up
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait_gone "$pid" 10
	else
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait_gone "$pid" 5
	fi
	[ -n "$ctl" ] && wait "$ctl" 2>/dev/null
	ctl=
}

# run_one NAME: prints nothing but diagnostics; sets r_status, r_reason, and
# r_stop (the command that ends a wrapper, to run once the test is done).
run_one() {
	local name=$1 bin desc opts flags wd pidf outf pid= i img log rc rpid wrap ctl= tpid
	local w_start=() w_dump=() w_restore=()

	bin=$builddir/$name
	desc=$srcdir/$name.desc
	opts=$(desc_get "$desc" opts)
	flags=$(desc_get "$desc" flags)
	wrap=$(desc_get "$desc" wrap)
	wd=$run_root/$name
	[ "$ct" = 1 ] && wd=$ctroot/zdtm/wd/$name
	pidf=$wd/test.pid
	outf=$wd/test.out
	r_status=fail r_reason= r_stop=()
	if [ -n "$wrap" ]; then
		set -- $wrap
		if [ ! -x "$builddir/$1" ]; then
			r_reason="wrapper not built: $builddir/$1"
			return
		fi
		local wprog=$builddir/$1
		shift
		w_start=("$wprog" "$@" start "$wd" --)
		w_dump=("$wprog" "$@" dump "$wd" --)
		w_restore=("$wprog" "$@" restore "$wd" --)
		r_stop=("$wprog" "$@" stop "$wd")
	fi

	if [ ! -x "$bin" ]; then
		r_reason="not built: $bin"
		return
	fi
	if [ "$ct" = 1 ] && [ -n "$wrap" ]; then
		r_status=skip
		r_reason="--ct: its wrapper holds descriptors outside the tree, which the container's shell init cannot pass in"
		r_stop=()
		return
	fi
	if [ "$ct" = 1 ] && [ ! -x "$ctroot/zdtm/$name" ]; then
		r_reason="not in the container's rootfs: see $run_root/mkrootfs.log"
		return
	fi
	mkdir -p "$wd"

	# Start: the launcher returns once the daemon signalled readiness.
	if [ "$ct" = 1 ]; then
		ct_start "$name" "$wd"
		rc=$?
		if [ $rc -ne 0 ] || ! grep -q . "$pidf" 2>/dev/null; then
			grep -q '^SKIP' "$outf" 2>/dev/null || show_tail "ct-launch" "$wd/ct-launch.out"
			ct_stop
			pid=
			[ $rc = 0 ] && rc=1
		fi
	else
		(cd "$wd" && exec "${w_start[@]}" "$bin" --pidfile "$pidf" --outfile "$outf" </dev/null >>"$outf" 2>&1)
		rc=$?
	fi
	if grep -q '^SKIP' "$outf" 2>/dev/null; then
		r_status=skip
		r_reason=$(sed -n 's/^SKIP: *//p' "$outf" | head -n 1)
		[ "$ct" = 1 ] && { ct_stop; return; }
		[ -s "$pidf" ] && kill_leftovers "$(cat "$pidf")"
		return
	fi
	if [ $rc -ne 0 ]; then
		r_reason="start: launcher exited $rc"
		show_tail output "$outf"
		return
	fi
	if ! wait_file "$pidf" 10; then
		r_reason="not ready"
		show_tail output "$outf"
		return
	fi
	if [ "$ct" = 1 ]; then
		tpid=$(cat "$pidf")	# the test's root, inside; pid is the container's init
	else
		pid=$(cat "$pidf")
	fi

	if [ "$nocr" = 0 ]; then
		for ((i = 1; i <= iters; i++)); do
			img=$wd/dump.$i
			mkdir -p "$img"
			(cd "$wd" && timeout 120 "${w_dump[@]}" "$lxc_cr" dump -t "$pid" -D "$img" -o dump.log -v4 $opts $ctl_opts) \
				>"$wd/dump.$i.cmd.out" 2>&1
			rc=$?
			if [ $rc -ne 0 ]; then
				r_reason="dump #$i exited $rc"
				show_tail "dump output" "$wd/dump.$i.cmd.out"
				show_tail "dump log" "$(find_log "$wd" "$img" dump.log)"
				show_tail output "$outf"
				kill_leftovers "$pid"
				return
			fi
			if ! wait_gone "$pid" 5; then
				r_reason="dump #$i: pid $pid still alive after dump"
				show_tail "dump log" "$(find_log "$wd" "$img" dump.log)"
				kill_leftovers "$pid"
				return
			fi
			# the first generation's controller leaves with its init
			[ -n "$ctl" ] && { wait "$ctl" 2>/dev/null; ctl=; }
			rm -f "$wd/rpid"
			(cd "$wd" && timeout 120 "${w_restore[@]}" "$lxc_cr" restore -D "$img" -d --pidfile "$wd/rpid" \
				-o restore.log -v4 $opts $ctl_opts) >"$wd/restore.$i.cmd.out" 2>&1
			rc=$?
			if [ $rc -ne 0 ]; then
				r_reason="restore #$i exited $rc"
				show_tail "restore output" "$wd/restore.$i.cmd.out"
				show_tail "restore log" "$(find_log "$wd" "$img" restore.log)"
				show_tail output "$outf"
				kill_leftovers "$pid"
				return
			fi
			rpid=$(cat "$wd/rpid" 2>/dev/null)
			# the init of a PID namespace of its own gets whatever host PID is free
			{ [ "$ns" != 0 ] || [ "$ct" = 1 ]; } && [ -n "$rpid" ] && pid=$rpid
			if [ ! -d "/proc/$pid" ]; then
				r_reason="restore #$i: pid $pid does not exist after restore"
				show_tail "restore log" "$(find_log "$wd" "$img" restore.log)"
				show_tail output "$outf"
				return
			fi
			if [ "$rpid" != "$pid" ]; then
				r_reason="restore #$i: pidfile says '$rpid', expected $pid"
				kill_leftovers "$pid"
				return
			fi
		done
	fi

	if [ "$ct" = 1 ]; then
		rpid=$(ct_hostpid "$pid" "$tpid")
		if [ -z "$rpid" ]; then
			r_reason="no process $tpid in the container of init $pid"
			show_tail output "$outf"
			ct_stop
			return
		fi
		kill -TERM "$rpid" 2>/dev/null
		if ! ct_gone "$rpid" 10; then
			r_reason="pid $tpid (host $rpid) did not exit within 10 s of SIGTERM"
			show_tail output "$outf"
			ct_stop
			return
		fi
		sleep 0.2	# children of the test report too
		ct_stop
	fi
	kill -TERM "$pid" 2>/dev/null
	if ! wait_gone "$pid" 10; then
		r_reason="pid $pid did not exit within 10 s of SIGTERM"
		show_tail output "$outf"
		kill_leftovers "$pid"
		return
	fi
	# Children of the test report through the same output file; give the
	# ones that outlive the root a moment, then clean up.
	kill_leftovers "$pid"

	if grep -q '^FAIL' "$outf"; then
		r_reason=$(grep -m 1 '^FAIL' "$outf" | sed 's/^FAIL: *//')
		show_tail output "$outf"
		return
	fi
	if grep -q '^SKIP' "$outf"; then
		r_status=skip
		r_reason=$(sed -n 's/^SKIP: *//p' "$outf" | head -n 1)
		return
	fi
	if ! grep -q '^PASS$' "$outf"; then
		r_reason="no PASS line"
		show_tail output "$outf"
		return
	fi
	r_status=pass
}

# Select the tests first, so TAP can print the plan.
run_list=()
for t in "${tests[@]}"; do
	if [ ! -e "$builddir/$t" ] && [ ! -e "$srcdir/$t.c" ] && [ -e "$srcdir/static/$t.c" ]; then
		t=static/$t
	fi
	if [ "$auto" = 1 ] && desc_get "$srcdir/$t.desc" flags | grep -qw noauto; then
		continue
	fi
	run_list+=("$t")
done

[ "$tap" = 1 ] && echo "1..${#run_list[@]}"

# --ct: one rootfs for every test: busybox, the test programs under /zdtm
# with their libraries, and a directory per test under /zdtm/wd.
if [ "$ct" = 1 ]; then
	ct_launch=$builddir/../container/ct-launch
	# checkpointed itself: never a sanitizer build's
	[ "$ctlroot" = 1 ] && ct_launch=$builddir/../container/ct-launch-plain
	if [ ! -x "$ct_launch" ] || [ ! -x /bin/busybox ]; then
		echo "run.sh: --ct needs $ct_launch (make check TESTS=) and /bin/busybox (busybox-static)" >&2
		exit 2
	fi
	ctroot=$run_root/ctroot
	progs=()
	for t in "${run_list[@]}"; do
		[ -x "$builddir/$t" ] && progs+=("$builddir/$t:/zdtm/$t")
	done
	if ! "$srcdir/../container/mkrootfs.sh" --hostname zdtm-ct "$ctroot" "${progs[@]}" \
		>"$run_root/mkrootfs.log" 2>&1; then
		echo "run.sh: cannot build the container rootfs:" >&2
		tail -n 5 "$run_root/mkrootfs.log" >&2
		exit 2
	fi
fi
[ "$tap" = 0 ] && [ "$nocr" = 1 ] && echo "(--no-cr: tests run without checkpoint/restore)"

# Known gaps: tests of state the engine cannot restore yet. They still run;
# a failure is reported loudly as a known gap (counted as skipped, never as
# passed), a pass is reported so that the line can be removed.
gaps_files=("$srcdir/known-gaps.list")
{ [ "$ns" = 1 ] || [ "$ns" = 3 ]; } && gaps_files+=("$srcdir/known-gaps-ns.list")
[ "$ns" = 2 ] && gaps_files+=("$srcdir/known-gaps-ns-mnt.list")
[ "$ct" = 1 ] && gaps_files+=("$srcdir/known-gaps-ct.list")
gap_reason() {
	local f
	for f in "${gaps_files[@]}"; do
		[ -f "$f" ] || continue
		awk -v t="$1" '$1 == t { $1 = ""; sub(/^ +/, ""); print; found = 1 } END { exit !found }' "$f" && return 0
	done
	return 1
}

for t in "${run_list[@]}"; do
	[ "$tap" = 0 ] && echo "--- $t"
	run_one "$t"
	if [ ${#r_stop[@]} -gt 0 ]; then
		"${r_stop[@]}" >/dev/null 2>&1 || say "  ($t: the wrapper did not stop cleanly)"
	fi
	if [ "$nocr" = 0 ] && [ "$strict" = 0 ] && gap=$(gap_reason "$t"); then
		if [ "$r_status" = fail ]; then
			r_status=skip
			r_reason="KNOWN GAP: $gap (failed: $r_reason)"
		elif [ "$r_status" = pass ]; then
			say "$t passes but is listed in known-gaps.list: remove it from there"
		fi
	fi
	result "$r_status" "$t" "$r_reason"
done

if [ $nfail -gt 0 ] || [ "$keep" = 1 ]; then
	say "work files kept in $run_root"
	[ $nfail -gt 0 ] && say "failed: ${failed_names[*]}"
else
	rm -rf "$run_root"
fi
echo "$npass passed, $nfail failed, $nskip skipped"
[ $nfail -eq 0 ]
