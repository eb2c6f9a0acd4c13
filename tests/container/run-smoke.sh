#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Smoke test for tests/container/ct-launch (TAP): build a busybox rootfs,
# start a container whose init is a shell loop writing to the console,
# check it from the host (pid namespace, hostname, eth0 and a ping over a
# bridge in 10.99.0.0/24, cgroups and memory limit, console log), stop it
# with SIGTERM and check that no veth, cgroup, mount or state dir is left;
# then a container whose command does not exist must fail cleanly too.
#
# Usage: run-smoke.sh   (from the build directory, as `make check` runs it)
# Env: CT_LAUNCH (default ./tests/container/ct-launch), CT_SMOKE_KEEP=1
# keeps the work dir. Needs root, busybox-static, iproute2, util-linux.

set -u

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (namespaces, cgroups, netdevs)"
	exit 0
fi
for t in ip nsenter flock; do
	if ! command -v $t >/dev/null; then
		echo "1..0 # SKIP $t not found (iproute2, util-linux)"
		exit 0
	fi
done
if [ ! -x /bin/busybox ]; then
	echo "1..0 # SKIP /bin/busybox not found (busybox-static)"
	exit 0
fi
if [ ! -d /sys/fs/cgroup/memory ] || [ ! -d /sys/fs/cgroup/freezer ]; then
	echo "1..0 # SKIP no cgroup v1 memory/freezer hierarchy"
	exit 0
fi

launch=${CT_LAUNCH:-}
if [ -z "$launch" ]; then
	for c in "$PWD/tests/container/ct-launch" "$PWD/../tests/container/ct-launch"; do
		[ -x "$c" ] && { launch=$c; break; }
	done
fi
if [ -z "$launch" ] || [ ! -x "$launch" ]; then
	echo "Bail out! ct-launch not found (set CT_LAUNCH or run from the build directory)"
	exit 1
fi

# Stray inherited descriptors (shells here pass some) would hold flock/pipes.
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	case "$fd" in 0|1|2|255) ;; *) eval "exec $fd>&-" 2>/dev/null ;; esac
done

# One smoke run at a time: the bridge subnet 10.99.0.0/24 is fixed.
exec 9>/run/lock/ct-smoke.lock
flock -w 120 9 || { echo "Bail out! another run-smoke.sh holds /run/lock/ct-smoke.lock"; exit 1; }

work=$(mktemp -d /tmp/ct-smoke.XXXXXX)
name=smoke$$
bridge=ctbr$$
veth=ctv$$
limit=67108864
ctl=
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "# $l"; done
}
check() { # check DESC CMD...: ok if CMD succeeds
	local d=$1
	shift
	if out=$("$@" 2>&1); then ok "$d"; else not_ok "$d" "$* failed:" "$out"; fi
}
# Poll CMD... for up to 5 s.
eventually() {
	local i
	for i in $(seq 50); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@"
}

cleanup() {
	if [ -n "$ctl" ] && kill -0 "$ctl" 2>/dev/null; then
		kill -TERM "$ctl" 2>/dev/null
		wait "$ctl" 2>/dev/null
	fi
	ip link del dev "$bridge" 2>/dev/null
	if [ -n "${CT_SMOKE_KEEP:-}" ]; then
		echo "# kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

echo "1..18"

# Nothing of a container named NAME, started by controller PID CTL, is left.
left_over() { # left_over NAME CTL VETH
	local l=()
	ip link show dev "$3" >/dev/null 2>&1 && l+=("veth $3")
	for d in /sys/fs/cgroup/*/machine/lxc-"$2"-"$1".libvirt-lxc; do
		[ -e "$d" ] && l+=("cgroup $d")
	done
	[ -e /run/lxc-cr-ct/"$1" ] && l+=("state dir /run/lxc-cr-ct/$1")
	grep -qF -e "$work" -e "/run/lxc-cr-ct/$1/" /proc/self/mountinfo && l+=("mounts")
	[ ${#l[@]} = 0 ] || { echo "left: ${l[*]}"; return 1; }
}

check "mkrootfs.sh builds a busybox rootfs" \
	"$srcdir/mkrootfs.sh" --hostname "$name" "$work/root"

ip link add "$bridge" type bridge &&
	ip addr add 10.99.0.1/24 dev "$bridge" &&
	ip link set "$bridge" up ||
	{ echo "Bail out! cannot create bridge $bridge"; exit 1; }

"$launch" --name "$name" --rootfs "$work/root" --veth-host "$veth" \
	--bridge "$bridge" --ip 10.99.0.2/24 --gw 10.99.0.1 \
	--memory-limit $limit --console-log "$work/console.log" \
	--pidfile "$work/init.pid" -- \
	/bin/sh -c 'i=0; while :; do echo "tick $i $(hostname)"; i=$((i+1)); sleep 0.2; done' \
	>"$work/launch.log" 2>&1 &
ctl=$!

if eventually test -s "$work/init.pid"; then
	ok "ct-launch writes the pidfile"
else
	not_ok "ct-launch writes the pidfile" "$(cat "$work/launch.log")"
	echo "Bail out! the container did not start"
	exit 1
fi
pid=$(cat "$work/init.pid")

nspid=$(awk '/^NSpid:/ { print $NF }' /proc/"$pid"/status)
ppid=$(awk '/^PPid:/ { print $2 }' /proc/"$pid"/status)
if [ "$nspid" = 1 ] && [ "$ppid" = "$ctl" ]; then
	ok "init is PID 1 in its pid namespace, child of the controller"
else
	not_ok "init is PID 1 in its pid namespace, child of the controller" \
		"NSpid last field '$nspid', PPid '$ppid' (controller $ctl)"
fi

ns_ok=1
for ns in mnt uts ipc net pid; do
	[ "$(readlink /proc/"$pid"/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ] || ns_ok=0
done
[ "$(readlink /proc/"$ctl"/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] || ns_ok=0
if [ $ns_ok = 1 ]; then ok "init has new mnt/uts/ipc/net/pid namespaces, the controller its own mnt ns"
else not_ok "init has new mnt/uts/ipc/net/pid namespaces, the controller its own mnt ns"; fi

h=$(nsenter -t "$pid" -u hostname)
if [ "$h" = "$name" ]; then ok "hostname inside is $name"; else not_ok "hostname inside is $name" "got '$h'"; fi

a=$(nsenter -t "$pid" -n ip -4 -o addr show dev eth0 2>&1)
if [[ "$a" == *"inet 10.99.0.2/24"* ]]; then ok "eth0 inside has 10.99.0.2/24"
else not_ok "eth0 inside has 10.99.0.2/24" "$a"; fi

check "ping from the host bridge to the container" busybox ping -c 1 -W 3 -I "$bridge" 10.99.0.2
check "ping from the container to the gateway" nsenter -t "$pid" -n busybox ping -c 1 -W 3 10.99.0.1

m=$(awk -F: '$2 == "memory" { print $3 }' /proc/"$pid"/cgroup)
cgm=$(awk -F: '$2 == "memory" { print $3 }' /proc/"$ctl"/cgroup)
fr=$(awk -F: '$2 == "freezer" { print $3 }' /proc/"$pid"/cgroup)
want=/machine/lxc-$ctl-$name.libvirt-lxc
if [ "$m" = "$want" ] && [ "$fr" = "$want" ] && [ "$cgm" = "$want" ]; then
	ok "init and controller are in $want (memory, freezer)"
else
	not_ok "init and controller are in $want (memory, freezer)" "init memory '$m' freezer '$fr', controller memory '$cgm'"
fi
l=$(cat /sys/fs/cgroup/memory"$want"/memory.limit_in_bytes 2>&1)
if [ "$l" = $limit ]; then ok "memory.limit_in_bytes is $limit"; else not_ok "memory.limit_in_bytes is $limit" "got '$l'"; fi

t=$(readlink /proc/"$pid"/fd/1)
c=$(nsenter -t "$pid" -m stat -c %t:%T /dev/console 2>&1)
s=$(nsenter -t "$pid" -m stat -c %t:%T "$t" 2>&1)
if [ "$t" = /dev/pts/0 ] && [ "$c" = "$s" ]; then ok "init's stdout is /dev/pts/0, bound on /dev/console"
else not_ok "init's stdout is /dev/pts/0, bound on /dev/console" "fd 1 '$t', console $c, slave $s"; fi

mnt=$(cat /proc/"$pid"/mounts)
if grep -q '^proc /proc proc' <<<"$mnt" && grep -q '^sysfs /sys sysfs ro' <<<"$mnt" &&
   grep -q ' /dev tmpfs' <<<"$mnt" && grep -q ' /dev/pts devpts .*ptmxmode=666' <<<"$mnt"; then
	ok "inside: proc, sysfs ro, tmpfs /dev, devpts /dev/pts"
else
	not_ok "inside: proc, sysfs ro, tmpfs /dev, devpts /dev/pts" "$mnt"
fi

if eventually grep -q "tick [0-9]* $name" "$work/console.log"; then ok "the console log gets the loop's output"
else not_ok "the console log gets the loop's output" "$(head -c 300 "$work/console.log")"; fi

kill -TERM "$ctl"
wait "$ctl"
rc=$?
ctl_pid=$ctl
ctl=
if [ $rc = 0 ] && ! kill -0 "$pid" 2>/dev/null; then ok "SIGTERM stops the container, controller exits 0"
else not_ok "SIGTERM stops the container, controller exits 0" "rc $rc" "$(cat "$work/launch.log")"; fi

if out=$(eventually left_over "$name" "$ctl_pid" "$veth" 2>&1); then
	ok "nothing left: veth, cgroups, mounts, state dir"
else
	not_ok "nothing left: veth, cgroups, mounts, state dir" "$out"
fi
[ -e "$work/init.pid" ] && not_ok "pidfile removed" || ok "pidfile removed"

# A command that does not exist: the launch fails and leaves nothing.
"$launch" --name "$name-bad" --rootfs "$work/root" --veth-host "${veth}b" \
	--bridge "$bridge" --ip 10.99.0.3/24 --memory-limit $limit \
	-- /nonexistent >"$work/bad.log" 2>&1 &
bad=$!
wait $bad
rc=$?
if [ $rc != 0 ] && grep -q "exec /nonexistent" "$work/bad.log"; then ok "a missing command fails with its reason"
else not_ok "a missing command fails with its reason" "rc $rc" "$(cat "$work/bad.log")"; fi
if out=$(eventually left_over "$name-bad" "$bad" "${veth}b" 2>&1); then ok "a failed launch leaves nothing"
else not_ok "a failed launch leaves nothing" "$out"; fi

[ $failed = 0 ]
