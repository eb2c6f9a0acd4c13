#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# No leftovers (TAP). A small container (tests/faults/fault-tree: init of new
# pid/uts/ipc/mount/network namespaces, a private /proc and a tmpfs with
# contents, eth0 whose peer ftvTAG is on the host bridge ftbrTAG, mv0 a
# macvlan on the host link ftmTAG, its own
# memory/pids/freezer cgroups lxccr-ft-TAG with limits, a child) is dumped.
# Then:
#   - a restore failing at each fault point (LXC_CR_FAULT=after-netdev,
#     after-netconf, after-mounts, after-cgroup, in-root, after-fork, before-release)
#     fails naming the point and leaves no process, no host link, no cgroup
#     directory, no mount, no pidfile, and the images byte-identical;
#   - a restore where the host end's name is taken, the cgroup is taken by a
#     process, the macvlan's host link is missing, or an --external names no
#     link of the images, fails before any process exists with a message
#     naming the link or the cgroup, and changes nothing;
#   - a restore works, and a second one of the same images next to it works
#     with --external veth[eth0]:ftcTAG@ftbrTAG, --external
#     macvlan[mv0]:ftnTAG and --cgroup-root: both copies then check their own
#     state (PASS twice).
#
# Usage: run.sh   (from the build directory, as `make check` runs it)
# Env: LXC_CR (default ./src/lxc-cr, then ../src/lxc-cr), FAULTS_KEEP=1
# keeps the work dir. Needs root, iproute2, cgroup v1 memory/pids/freezer.

set -u

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (namespaces, netdevs, cgroups, ptrace)"
	exit 0
fi
if ! command -v ip >/dev/null; then
	echo "1..0 # SKIP ip (iproute2) not found"
	exit 0
fi
for c in memory pids freezer; do
	if [ ! -d /sys/fs/cgroup/$c ]; then
		echo "1..0 # SKIP no cgroup v1 $c hierarchy at /sys/fs/cgroup/$c"
		exit 0
	fi
done

lxc_cr=${LXC_CR:-}
if [ -z "$lxc_cr" ]; then
	for c in "$PWD/src/lxc-cr" "$PWD/../src/lxc-cr"; do
		[ -x "$c" ] && { lxc_cr=$c; break; }
	done
fi
if [ -z "$lxc_cr" ] || [ ! -x "$lxc_cr" ]; then
	echo "Bail out! lxc-cr not found (set LXC_CR or run from the build directory)"
	exit 1
fi
lxc_cr=$(cd "$(dirname "$lxc_cr")" && pwd)/$(basename "$lxc_cr")
tree=$(dirname "$lxc_cr")/../tests/faults/fault-tree
if [ ! -x "$tree" ]; then
	echo "Bail out! $tree not built (make check TESTS=)"
	exit 1
fi

# Killed and restored processes must be reaped (PID 1 here does not).
if [ -z "${FAULTS_UNDER_SUBREAPER:-}" ]; then
	reaper=$(dirname "$lxc_cr")/../tests/zdtm/zdtm-subreaper
	if [ ! -x "$reaper" ]; then
		echo "Bail out! tests/zdtm/zdtm-subreaper not built (make check TESTS=)"
		exit 1
	fi
	export FAULTS_UNDER_SUBREAPER=1 LXC_CR=$lxc_cr
	exec "$reaper" /bin/bash "$self" "$@"
fi

# Stray inherited descriptors would end up in the tree we dump.
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	case "$fd" in 0|1|2|255) ;; *) eval "exec $fd>&-" 2>/dev/null ;; esac
done

points=(after-netdev after-netconf after-mounts after-cgroup in-root after-fork before-release)
tag=$$
br=ftbr$tag
veth=ftv$tag
copy_veth=ftc$tag
squat=ftw$tag
lower=ftm$tag
lower2=ftn$tag
cg=lxccr-ft-$tag
copy_root=/lxccr-ft-$tag-copy
work=$(mktemp -d /tmp/faults.XXXXXX)
img=$work/img
n=0
failed=0
pids=()
sleeper=

cleanup() {
	local p c
	for p in "${pids[@]}" $sleeper; do
		kill -9 "$p" 2>/dev/null
	done
	sleep 0.2
	for l in "$veth" "$copy_veth" "$squat" "$br" "$lower" "$lower2"; do
		ip link del "$l" 2>/dev/null
	done
	for c in memory pids freezer; do
		rmdir /sys/fs/cgroup/$c/$cg/* /sys/fs/cgroup/$c/$cg /sys/fs/cgroup/$c$copy_root 2>/dev/null
	done
	if [ "${FAULTS_KEEP:-0}" = 1 ]; then
		echo "# work dir kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { # what why...
	n=$((n + 1)); failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	local l
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
why=()
bad() { why+=("$*"); }
check() { if [ ${#why[@]} = 0 ]; then ok "$1"; else not_ok "$1" "${why[@]}"; fi; why=(); }

# Processes of the tree: its programs are all called fault-tree (init, its child).
tree_procs() {
	local p c
	for p in /proc/[0-9]*; do
		c=$(cat "$p/comm" 2>/dev/null) || continue
		[ "$c" = fault-tree ] && echo "${p#/proc/}"
	done
}

# Wait up to 5 s for CMD to succeed.
eventually() {
	local i
	for i in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	"$@" >/dev/null 2>&1
}

no_procs() { [ -z "$(tree_procs)" ]; }
no_link() { ! ip link show dev "$1" >/dev/null 2>&1; }
no_cgroups() {
	local c
	for c in memory pids freezer; do
		[ -e /sys/fs/cgroup/$c/$cg ] && return 1
		[ -e /sys/fs/cgroup/$c$copy_root ] && return 1
	done
	return 0
}
no_cgroups_copy() {
	local c
	for c in memory pids freezer; do
		[ -e /sys/fs/cgroup/$c$copy_root ] && return 1
	done
	return 0
}
no_mounts() { ! grep -q -e "$work" -e ft-tmpfs /proc/self/mountinfo; }
sums() { (cd "$img" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

# Nothing of a failed restore is left; images as they were.
nothing_left() {
	eventually no_procs || bad "processes left: $(tree_procs | tr '\n' ' ')"
	eventually no_link "$veth" || bad "host link $veth left"
	eventually no_cgroups || bad "cgroup left: $(ls -d /sys/fs/cgroup/*/$cg /sys/fs/cgroup/*$copy_root 2>/dev/null | tr '\n' ' ')"
	no_mounts || bad "mounts left: $(grep -e "$work" -e ft-tmpfs /proc/self/mountinfo)"
	[ -e "$work/rpid" ] && bad "pidfile $work/rpid written"
	[ "$(sums)" = "$before" ] || bad "the images changed"
}

echo "1..$(( ${#points[@]} + 11 ))"

ip link add "$br" type bridge && ip link set "$br" up || { echo "Bail out! cannot create bridge $br"; exit 1; }
# the macvlan's lower links: one end of a veth pair each, up
for l in "$lower" "$lower2"; do
	ip link add "$l" type veth peer name "${l}p" && ip link set "$l" up && ip link set "${l}p" up ||
		{ echo "Bail out! cannot create $l"; exit 1; }
done

# 1. the tree
mkdir -p "$work/t1" "$img"
(cd "$work/t1" && exec "$tree" --pidfile "$work/t1/pid" --outfile "$work/t1/out" --veth "$veth" \
	--bridge "$br" --cgroup "$cg" --macvlan "$lower") >"$work/t1/launch.log" 2>&1 || bad "launcher: $(cat "$work/t1/launch.log")"
pid=$(cat "$work/t1/pid" 2>/dev/null)
[ -n "$pid" ] && pids+=("$pid")
[ -n "$pid" ] && [ -d /proc/$pid ] || bad "no tree"
[ "$(readlink /proc/$pid/ns/net)" != "$(readlink /proc/self/ns/net)" ] || bad "the tree has no network namespace"
[ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] || bad "the tree has no mount namespace"
ip -o link show dev "$veth" 2>/dev/null | grep -q "master $br" || bad "$veth is not on $br"
check "a container with pid/uts/ipc/mnt/net namespaces, a veth on $br, a macvlan on $lower and cgroups $cg starts"
[ -n "$pid" ] && [ -d /proc/$pid ] || { echo "Bail out! the tree did not start"; exit 1; }

if ! "$lxc_cr" dump -t "$pid" -D "$img" -o dump.log -v4 >"$work/dump.out" 2>&1; then
	bad "$(cat "$work/dump.out")" "$(tail -n 5 "$img/dump.log")"
fi
eventually no_procs || bad "the tree is still there after the dump"
eventually no_link "$veth" || bad "$veth still there after the dump"
check "the container is dumped (and gone)"
# a clean host: the cgroups the launcher made go too, so a restore must make them
for c in memory pids freezer; do rmdir /sys/fs/cgroup/$c/$cg 2>/dev/null; done
rm -f "$img/dump.log"
before=$(sums)

# 2. a fault at each point
for p in "${points[@]}"; do
	rm -f "$work/rpid"
	out=$(LXC_CR_FAULT=$p "$lxc_cr" restore -D "$img" -d --pidfile "$work/rpid" -o "$work/restore-$p.log" -v4 2>&1)
	rc=$?
	[ $rc != 0 ] || bad "restore succeeded (rc 0)"
	grep -q "fault injected at '$p'" "$work/restore-$p.log" || bad "the log does not name the fault point: $out"
	# the restore got as far as the point
	case $p in
	after-fork|before-release)
		grep -q "network namespace\|cgroups:" "$work/restore-$p.log" || bad "no namespace was built: $(tail -n 3 "$work/restore-$p.log")" ;;
	esac
	nothing_left
	check "a restore failing at $p leaves no process, link, cgroup, mount or pidfile; images unchanged"
done

# 3. names taken
ip link add "$veth" type veth peer name "$squat" || bad "cannot make $veth"
out=$("$lxc_cr" restore -D "$img" -d --pidfile "$work/rpid" -o "$work/restore-veth.log" -v4 2>&1)
rc=$?
[ $rc != 0 ] || bad "restore succeeded"
[[ "$out" == *"'$veth'"*"already exists"* ]] || bad "the message does not say that '$veth' exists: $out"
grep -q "cannot create\|fork" "$work/restore-veth.log" && bad "it went on: $(grep -m1 'cannot create\|fork' "$work/restore-veth.log")"
ip link show dev "$veth" >/dev/null 2>&1 || bad "the existing $veth was removed"
ip link del "$veth" 2>/dev/null
eventually no_procs || bad "processes left"
eventually no_cgroups || bad "cgroups created"
[ "$(sums)" = "$before" ] || bad "the images changed"
check "a restore where the host end $veth exists fails before anything, naming it: ${out##*: }"

mkdir -p /sys/fs/cgroup/memory/$cg
sleep 1000 </dev/null >/dev/null 2>&1 &
sleeper=$!
echo $sleeper >/sys/fs/cgroup/memory/$cg/cgroup.procs
out=$("$lxc_cr" restore -D "$img" -d --pidfile "$work/rpid" -o "$work/restore-cg.log" -v4 2>&1)
rc=$?
[ $rc != 0 ] || bad "restore succeeded"
[[ "$out" == *"/sys/fs/cgroup/memory/$cg exists and holds processes"* ]] || bad "the message does not name the cgroup: $out"
grep -q "network namespace\|fork" "$work/restore-cg.log" && bad "it went on: $(grep -m1 'network namespace\|fork' "$work/restore-cg.log")"
eventually no_procs || bad "processes left"
no_link "$veth" || bad "$veth created"
[ "$(sums)" = "$before" ] || bad "the images changed"
kill -9 $sleeper; wait $sleeper 2>/dev/null; sleeper=
eventually rmdir /sys/fs/cgroup/memory/$cg || bad "cannot remove the test's cgroup"
check "a restore where cgroup $cg holds a process fails before anything, naming it"

out=$("$lxc_cr" restore -D "$img" -d --pidfile "$work/rpid" -o "$work/restore-ext.log" -v4 \
	--external "veth[eth9]:$copy_veth" 2>&1)
[ $? != 0 ] && [[ "$out" == *"veth[eth9]:$copy_veth: the images hold no such external link"* ]] ||
	bad "an --external naming no link is not refused: $out"
eventually no_procs || bad "processes left"
no_link "$copy_veth" || bad "$copy_veth created"
check "an --external naming a link the images do not hold is refused, naming it"

ip link set "$lower" name "${lower}x" || bad "cannot rename $lower"
out=$("$lxc_cr" restore -D "$img" -d --pidfile "$work/rpid" -o "$work/restore-lower.log" -v4 2>&1)
[ $? != 0 ] && [[ "$out" == *"link '$lower' for macvlan 'mv0' does not exist on the host"* ]] ||
	bad "a missing lower link is not refused by name: $out"
ip link set "${lower}x" name "$lower" || bad "cannot rename ${lower}x back"
eventually no_procs || bad "processes left"
no_link "$veth" || bad "$veth created"
eventually no_cgroups || bad "cgroups created"
check "a restore where the macvlan's host link is missing fails before anything, naming it"

# 4. a restore, and a copy next to it
rm -f "$work/rpid"
if "$lxc_cr" restore -D "$img" -d --pidfile "$work/rpid" -o "$work/restore-ok.log" -v4 >"$work/restore-ok.out" 2>&1; then
	r1=$(cat "$work/rpid")
	pids+=("$r1")
	ip -o link show dev "$veth" 2>/dev/null | grep -q "master $br" || bad "$veth is not back on $br"
	grep -q ":memory:/$cg\$" /proc/$r1/cgroup || bad "not in memory:/$cg: $(grep memory /proc/$r1/cgroup)"
else
	bad "$(cat "$work/restore-ok.out")"
fi
[ "$(sums)" = "$before" ] || bad "the images changed"
check "the container is restored"

out=$("$lxc_cr" restore -D "$img" -d --pidfile "$work/rpid2" -o "$work/restore-copy0.log" -v4 2>&1)
[ $? != 0 ] && [[ "$out" == *"/sys/fs/cgroup/"*"/$cg exists and holds processes"* ]] ||
	bad "a copy without new names does not fail on cgroup $cg: $out"
out=$("$lxc_cr" restore -D "$img" -d --pidfile "$work/rpid2" -o "$work/restore-copy1.log" -v4 \
	--cgroup-root "$copy_root" --external "macvlan[mv0]:$lower2" 2>&1)
[ $? != 0 ] && [[ "$out" == *"'$veth'"*"already exists"* ]] ||
	bad "a copy with only --cgroup-root does not fail on '$veth': $out"
[ -e "$work/rpid2" ] && bad "pidfile written"
[ "$(tree_procs | wc -l)" = 2 ] || bad "processes: $(tree_procs | tr '\n' ' '), expected the 2 of the first restore"
eventually no_cgroups_copy || bad "cgroups left under $copy_root"
check "a copy next to it fails on the cgroup name, then (with --cgroup-root) on the veth name, leaving nothing"

rm -f "$work/rpid2"
if "$lxc_cr" restore -D "$img" -d --pidfile "$work/rpid2" -o "$work/restore-copy.log" -v4 \
	--external "veth[eth0]:$copy_veth@$br" --external "macvlan[mv0]:$lower2" \
	--cgroup-root "$copy_root" >"$work/restore-copy.out" 2>&1; then
	r2=$(cat "$work/rpid2")
	pids+=("$r2")
	ip -o link show dev "$copy_veth" 2>/dev/null | grep -q "master $br" || bad "$copy_veth is not on $br"
	grep -q ":memory:$copy_root\$" /proc/$r2/cgroup || bad "the copy is not in memory:$copy_root: $(grep memory /proc/$r2/cgroup)"
	# mv0@ifN: N is its lower link's index on the host
	idx=$(cat /sys/class/net/$lower2/ifindex)
	nsenter -t "$r2" -n ip -o link show mv0 | grep -q "mv0@if$idx:" ||
		bad "the copy's mv0 is not on $lower2 (index $idx): $(nsenter -t "$r2" -n ip -o link show mv0)"
	idx=$(cat /sys/class/net/$lower/ifindex)
	nsenter -t "$r1" -n ip -o link show mv0 | grep -q "mv0@if$idx:" ||
		bad "the first one's mv0 is not on $lower (index $idx): $(nsenter -t "$r1" -n ip -o link show mv0)"
	[ -d /proc/$r1 ] || bad "the first one is gone"
else
	bad "$(cat "$work/restore-copy.out")"
fi
check "a copy restores next to the running container with --external veth[eth0]:$copy_veth@$br --external macvlan[mv0]:$lower2 --cgroup-root $copy_root"

: >"$work/t1/out.before"
for r in ${r1:-} ${r2:-}; do kill -TERM "$r"; done
for r in ${r1:-} ${r2:-}; do eventually test ! -d /proc/$r || bad "pid $r does not exit on SIGTERM"; done
npass=$(grep -c '^PASS$' "$work/t1/out")
grep -q '^FAIL' "$work/t1/out" && bad "$(grep '^FAIL' "$work/t1/out")"
[ "$npass" = 2 ] || bad "$npass PASS lines, expected 2: $(cat "$work/t1/out")"
check "both copies check their own namespaces, tmpfs, eth0, cgroup limits and child: PASS twice"

eventually no_procs || bad "processes left: $(tree_procs | tr '\n' ' ')"
eventually no_link "$veth" || bad "$veth left"
eventually no_link "$copy_veth" || bad "$copy_veth left"
check "once both exit, their host links are gone"

[ $failed = 0 ]
