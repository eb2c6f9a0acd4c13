#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# End-to-end test against a real libvirtd (the one scripts/libvirt-build.sh
# builds, started by scripts/libvirtd.sh as its own instance): define and start
# an LXC domain with a shell as init, its own busybox root filesystem, a
# bridged interface on a bridge this test creates and a memory limit; check
# from the host that it runs as the status file says, that the limit and the
# interface are in place, that `virsh console` reaches the shell (driven
# through script(1)'s pty), that a libvirtd restart re-adopts it, that
# `virsh save`, `restore` and `save-image-dumpxml` reach liblxccr
# through the patched driver and are refused with its reasons (not
# implemented yet: the baseline later slices of issue 4 flip), and that
# `managedsave` is still "not supported"; destroy and undefine it and check
# that nothing is left.
#
# Prints one PASS/FAIL line per check with the reason, then
# "N passed, N failed, N skipped". Exit 0 only when nothing failed.
# Usage: tests/e2e/run.sh            (as root)
# Env:   E2E_KEEP=1 keeps the work dir and the daemon's instance dir
#        LXC_CR_MKSAVE (default build/tests/e2e/lxc-cr-mksave) writes save files
#        LXC_CR_LIBVIRT_PREFIX (default /opt/lxc-cr/libvirt)
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Under a subreaper: the daemons this test starts and stops are reaped (PID 1
# here does not reap; see scripts/reaper.pl).
if [ -z "${E2E_UNDER_REAPER:-}" ] && command -v perl >/dev/null; then
	export E2E_UNDER_REAPER=1
	exec perl "$top/scripts/reaper.pl" "$top/tests/e2e/run.sh" "$@"
fi
prefix=${LXC_CR_LIBVIRT_PREFIX:-/opt/lxc-cr/libvirt}
export LXC_CR_LIBVIRT_PREFIX=$prefix
virsh_bin=$prefix/bin/virsh
npass=0 nfail=0 nskip=0

pass() { echo "PASS: $*"; npass=$((npass + 1)); }
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
skip() { echo "SKIP: $* -- NOT a pass"; nskip=$((nskip + 1)); }
summary() {
	echo "$npass passed, $nfail failed, $nskip skipped"
	[ "$nfail" -eq 0 ] && [ "$npass" -gt 0 ]
	exit $?
}

if [ "$(id -u)" != 0 ]; then
	skip "e2e: needs root (libvirtd, namespaces, netdevs)"
	summary
fi
for t in ip nsenter script timeout perl; do
	command -v $t >/dev/null || { skip "e2e: $t not found (iproute2, util-linux, bsdutils, coreutils, perl)"; summary; }
done
if [ ! -x "$prefix/sbin/libvirtd" ] || [ ! -x "$virsh_bin" ]; then
	skip "e2e: no libvirt in $prefix: run scripts/libvirt-build.sh first"
	summary
fi
[ -x /bin/busybox ] || { skip "e2e: /bin/busybox missing (busybox-static)"; summary; }

# Everything global is named after this run.
id=$$
export LXC_CR_LIBVIRTD_NAME=e2e$id
dom=lxccr-e2e-$id
br=lcrbr$id
net=10.213.$((id % 250)).
mac=$(printf '52:54:00:e2:%02x:%02x' $(((id >> 8) & 255)) $((id & 255)))
work=$(mktemp -d /var/tmp/lxc-cr-e2e.XXXXXX)
uri=
ms_since() { echo "$(( ($(date +%s%N) - $1) / 1000000 )) ms"; }
V() { timeout 60 "$virsh_bin" -q -c "$uri" "$@"; }
inns() { "$top/scripts/libvirtd.sh" exec "$@"; }

ctl= init=
cleanup() {
	local h
	if [ -n "$uri" ]; then
		V destroy "$dom" >/dev/null 2>&1
		V undefine "$dom" >/dev/null 2>&1
		"$top/scripts/libvirtd.sh" stop >/dev/null 2>&1
	fi
	# If the daemon could not take the domain down, do it ourselves: its
	# controller, its init (the whole pid namespace goes with it), its cgroups.
	if [ -n "$ctl" ] && [ "$(cat /proc/$ctl/comm 2>/dev/null)" = libvirt_lxc ]; then
		echo "# cleanup: the daemon left controller $ctl running; killing it and init $init"
		kill -KILL "$ctl" ${init:+"$init"} 2>/dev/null
		sleep 0.5
		for h in /sys/fs/cgroup/*/machine/lxc-$ctl-$dom.libvirt-lxc; do
			[ -d "$h" ] && rmdir "$h" 2>/dev/null
		done
	fi
	ip link del "$br" 2>/dev/null
	if [ "${E2E_KEEP:-0}" = 1 ]; then
		echo "# kept $work and /var/lib/lxc-cr/libvirtd/$LXC_CR_LIBVIRTD_NAME"
	else
		rm -rf "$work" "/var/lib/lxc-cr/libvirtd/$LXC_CR_LIBVIRTD_NAME" \
			"/run/lxc-cr/libvirtd/$LXC_CR_LIBVIRTD_NAME"
	fi
}
trap cleanup EXIT

# Poll CMD until it succeeds (10 s).
wait_for() {
	local i
	for i in $(seq 1 100); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

echo "# e2e: domain $dom, bridge $br (${net}0/24), instance $LXC_CR_LIBVIRTD_NAME, work $work"

# --- the daemon
t0=$(date +%s%N)
if uri=$("$top/scripts/libvirtd.sh" start 2>"$work/daemon.err"); then
	pass "libvirtd instance $LXC_CR_LIBVIRTD_NAME answers on $uri ($(ms_since $t0))"
else
	fail "libvirtd did not start: $(cat "$work/daemon.err")"
	uri=
	summary
fi

# --- the bridge and the root filesystem
if ip link add "$br" type bridge && ip addr add "${net}1/24" dev "$br" && ip link set "$br" up; then
	pass "bridge $br created with ${net}1/24"
else
	fail "cannot create bridge $br"
	summary
fi
if bash "$top/tests/container/mkrootfs.sh" --hostname "$dom" "$work/rootfs" >"$work/mkrootfs.log" 2>&1; then
	pass "busybox root filesystem in $work/rootfs"
else
	fail "mkrootfs.sh failed: $(tail -n 3 "$work/mkrootfs.log")"
	summary
fi

cat > "$work/$dom.xml" <<EOF
<domain type='lxc'>
  <name>$dom</name>
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os>
    <type>exe</type>
    <init>/bin/sh</init>
  </os>
  <devices>
    <filesystem type='mount'>
      <source dir='$work/rootfs'/>
      <target dir='/'/>
    </filesystem>
    <interface type='bridge'>
      <source bridge='$br'/>
      <mac address='$mac'/>
    </interface>
    <console type='pty'/>
  </devices>
</domain>
EOF

# --- define and start
if V define "$work/$dom.xml" >"$work/out" 2>&1; then
	pass "virsh define $dom"
else
	fail "virsh define $dom: $(cat "$work/out")"
	summary
fi
t0=$(date +%s%N)
if V start "$dom" >"$work/out" 2>&1; then
	pass "virsh start $dom ($(ms_since $t0))"
else
	fail "virsh start $dom: $(cat "$work/out") $(inns tail -n 5 "/var/log/libvirt/lxc/$dom.log" 2>/dev/null)"
	summary
fi
state=$(V domstate "$dom" 2>&1)
[ "$state" = running ] && pass "domstate is running" || fail "domstate is '$state', expected running"

# --- the status file, the processes
status=$(inns cat "/run/libvirt/lxc/$dom.xml" 2>&1)
ctl=$(sed -n "s/^<domstatus .* pid='\([0-9]*\)'.*/\1/p" <<<"$status")
init=$(sed -n "s/^ *<init pid='\([0-9]*\)'.*/\1/p" <<<"$status")
tty=$(sed -n "s/^ *<console type='pty' tty='\([^']*\)'.*/\1/p" <<<"$status")
veth=$(sed -n "s/^ *<target dev='\([^']*\)'.*/\1/p" <<<"$status" | head -n 1)
domid=$(V domid "$dom" 2>&1)
if [ -n "$ctl" ] && [ "$ctl" = "$domid" ] && [ "$(cat /proc/$ctl/comm 2>/dev/null)" = libvirt_lxc ]; then
	pass "status file: controller pid $ctl (= domain id) is libvirt_lxc"
else
	fail "status file: controller pid '$ctl', domain id '$domid', comm '$(cat /proc/$ctl/comm 2>/dev/null)'"
fi
if [ -n "$init" ] && [ "$(awk '{print $4}' /proc/$init/stat 2>/dev/null)" = "$ctl" ] &&
   [ "$(readlink /proc/$init/exe)" = /bin/busybox ] &&
   [ "$(readlink /proc/$init/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] &&
   [ "$(awk '/^NSpid/ {print $3}' /proc/$init/status)" = 1 ]; then
	pass "status file: init pid $init is the controller's child, busybox sh, pid 1 of its own pid namespace"
else
	fail "status file: init pid '$init' (parent $(awk '{print $4}' /proc/$init/stat 2>/dev/null), exe $(readlink /proc/$init/exe 2>/dev/null), NSpid $(awk '/^NSpid/ {print $2, $3}' /proc/$init/status 2>/dev/null))"
fi
[ -n "$tty" ] && [ -c "$tty" ] && pass "status file: console on host pty $tty" ||
	fail "status file: console tty '$tty' is not a character device"

# --- memory limit: the domain's memory cgroup, and /proc/meminfo inside (FUSE)
cg=/sys/fs/cgroup/memory/machine/lxc-$ctl-$dom.libvirt-lxc
lim=$(cat "$cg/memory.limit_in_bytes" 2>/dev/null)
if [ "$lim" = $((131072 * 1024)) ] && grep -qx "$init" "$cg/cgroup.procs"; then
	pass "memory cgroup $cg: limit 128 MiB, holds init"
else
	fail "memory cgroup $cg: limit '$lim', expected $((131072 * 1024)), or init $init not in it"
fi

# --- the interface: host end on our bridge, guest end with our MAC, reachable
master=$(ip -o link show "$veth" 2>/dev/null | sed -n 's/.* master \([^ ]*\) .*/\1/p')
[ -n "$veth" ] && [ "$master" = "$br" ] && pass "host veth $veth is on bridge $br" ||
	fail "host veth '$veth' has master '$master', expected $br"
gmac=$(nsenter -t "$init" -n ip -o link show eth0 2>/dev/null | sed -n 's/.*link\/ether \([^ ]*\).*/\1/p')
[ "$gmac" = "$mac" ] && pass "guest eth0 has MAC $mac" || fail "guest eth0 MAC '$gmac', expected $mac"
if nsenter -t "$init" -n sh -c "ip addr add ${net}2/24 dev eth0 && ip link set eth0 up" &&
   wait_for /bin/busybox ping -c 1 -W 1 "${net}2" >/dev/null 2>&1; then
	pass "host pings the guest at ${net}2 over $br"
else
	fail "host cannot ping the guest at ${net}2 over $br"
fi

# --- the console: type into the shell through virsh console, read its answer
mkfifo "$work/console.in"
script -qfec "$virsh_bin -c '$uri' console $dom" /dev/null <"$work/console.in" >"$work/console.out" 2>&1 &
cpid=$!
exec 7>"$work/console.in"
if wait_for grep -q 'Escape character' "$work/console.out"; then
	# 6*7 is computed by the shell: the typed line holds no "42".
	printf 'echo CONSOLE-$((6*7))-OK; hostname; head -n 1 /proc/meminfo\r' >&7
	wait_for grep -q 'CONSOLE-42-OK' "$work/console.out"
fi
printf '\035' >&7    # ^] detaches virsh console
exec 7>&-
wait_for sh -c "! kill -0 $cpid 2>/dev/null"
kill "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
out=$(tr -d '\r' <"$work/console.out")
if grep -q '^CONSOLE-42-OK$' <<<"$out"; then
	pass "virsh console reaches the domain's shell (it ran our command)"
else
	fail "virsh console: no answer from the shell: $(tail -c 300 <<<"$out")"
fi
grep -qx "$dom" <<<"$out" && pass "the shell's hostname is $dom" ||
	fail "console: hostname '$dom' not in the shell's answer"
grep -qE '^MemTotal: +131072 kB$' <<<"$out" && pass "/proc/meminfo inside (libvirt's FUSE) shows the 128 MiB limit" ||
	fail "console: /proc/meminfo does not show MemTotal 131072 kB: $(grep MemTotal <<<"$out")"

# --- a daemon restart re-adopts the running domain (what a restore will rely on:
#     the driver reconnects to the controller's monitor socket)
t0=$(date +%s%N)
if "$top/scripts/libvirtd.sh" stop 2>"$work/out" && "$top/scripts/libvirtd.sh" start >/dev/null 2>>"$work/out"; then
	state=$(V domstate "$dom" 2>&1)
	if [ "$state" = running ] && [ "$(V domid "$dom" 2>&1)" = "$ctl" ] && kill -0 "$init" 2>/dev/null; then
		pass "libvirtd restarted ($(ms_since $t0)): $dom re-adopted, running, same controller $ctl"
	else
		fail "after a libvirtd restart: $dom is '$state', id '$(V domid "$dom" 2>&1)' (controller was $ctl)"
	fi
else
	fail "cannot restart libvirtd: $(cat "$work/out")"
fi

# --- save/restore reach liblxccr through the patched driver, which refuses
#     for now (issue 4's next slices flip these); managed save is not wired yet.
V save "$dom" "$work/$dom.save" >"$work/out" 2>&1; rc=$?
want="cannot save domain '$dom': checkpointing its controller (pid $ctl) and container (init pid $init) is not implemented yet"
if [ $rc != 0 ] && grep -qF "Operation not supported: $want" "$work/out"; then
	pass "virsh save reaches liblxccr (status file read: controller $ctl, init $init), refused: not implemented yet"
else
	fail "virsh save exit $rc: $(cat "$work/out"), expected: $want"
fi
V managedsave "$dom" >"$work/out" 2>&1; rc=$?
if [ $rc != 0 ] && grep -q 'this function is not supported by the connection driver: virDomainManagedSave' "$work/out"; then
	pass "baseline: virsh managedsave is refused as not supported by the driver"
else
	fail "baseline: virsh managedsave exit $rc: $(cat "$work/out")"
fi
[ ! -e "$work/$dom.save" ] && [ "$(V domstate "$dom" 2>&1)" = running ] &&
	kill -0 "$ctl" 2>/dev/null && kill -0 "$init" 2>/dev/null &&
	pass "after the refused saves: no save file, the domain, its controller and init still run" ||
	fail "after the refused saves: a save file exists or the domain is not running"
V restore "$work/none.save" >"$work/out" 2>&1; rc=$?
[ $rc != 0 ] && grep -qF "cannot open save file '$work/none.save': No such file or directory" "$work/out" &&
	pass "virsh restore of a missing file names it and the cause" ||
	fail "virsh restore of a missing file, exit $rc: $(cat "$work/out")"
echo "not a save file" > "$work/junk.save"
V save-image-dumpxml "$work/junk.save" >"$work/out" 2>&1; rc=$?
[ $rc != 0 ] && grep -qF "'$work/junk.save' is not an lxc-cr save file" "$work/out" &&
	pass "virsh save-image-dumpxml of another file: refused by liblxccr naming it" ||
	fail "virsh save-image-dumpxml of a junk file, exit $rc: $(cat "$work/out")"
V restore "$work/junk.save" >"$work/out" 2>&1; rc=$?
[ $rc != 0 ] && grep -qF "'$work/junk.save' is not an lxc-cr save file" "$work/out" &&
	[ "$(cat "$work/junk.save")" = "not a save file" ] &&
	pass "virsh restore of another file: refused by liblxccr naming it, file untouched" ||
	fail "virsh restore of a junk file, exit $rc: $(cat "$work/out")"

# --- a real save file (liblxccr's writer, until save makes one): the driver
#     hands its XML out, and restore checks it whole before refusing for now
mksave=${LXC_CR_MKSAVE:-$top/build/tests/e2e/lxc-cr-mksave}
if [ -x "$mksave" ]; then
	mkdir -p "$work/imgs" && echo "an image" > "$work/imgs/inventory.img"
	V dumpxml --inactive "$dom" > "$work/dom.xml" &&
		"$mksave" "$work/real.save" "$work/dom.xml" "$work/imgs" 2>"$work/out" ||
		fail "lxc-cr-mksave: $(cat "$work/out")"
	V save-image-dumpxml "$work/real.save" >"$work/out" 2>&1; rc=$?
	[ $rc = 0 ] && grep -qF "<name>$dom</name>" "$work/out" && grep -qF "$mac" "$work/out" &&
		pass "virsh save-image-dumpxml of a real save file shows its domain XML" ||
		fail "virsh save-image-dumpxml of a real save file, exit $rc: $(head -c 300 "$work/out")"
	V restore "$work/real.save" >"$work/out" 2>&1; rc=$?
	[ $rc != 0 ] && grep -qF "cannot restore domain '$dom' from '$work/real.save': restoring its controller and container is not implemented yet" "$work/out" &&
		[ "$(V domstate "$dom" 2>&1)" = running ] &&
		pass "virsh restore of a real save file: checked whole, then refused for now; the domain still runs" ||
		fail "virsh restore of a real save file, exit $rc: $(cat "$work/out")"
	cp "$work/real.save" "$work/damaged.save"
	printf 'X' | dd of="$work/damaged.save" bs=1 seek=200 conv=notrunc status=none
	V restore "$work/damaged.save" >"$work/out" 2>&1; rc=$?
	[ $rc != 0 ] && grep -qF "save file '$work/damaged.save' is damaged: its checksum does not match" "$work/out" &&
		pass "virsh restore of a damaged save file is refused naming it and the cause" ||
		fail "virsh restore of a damaged save file, exit $rc: $(cat "$work/out")"
else
	skip "real save file checks: no $mksave (build lxc-cr in $top/build, or set LXC_CR_MKSAVE)"
fi

# --- destroy, undefine: nothing left
if V destroy "$dom" >"$work/out" 2>&1; then
	pass "virsh destroy $dom"
else
	fail "virsh destroy $dom: $(cat "$work/out")"
fi
gone() { ! kill -0 "$ctl" 2>/dev/null && ! kill -0 "$init" 2>/dev/null; }
wait_for gone && pass "controller $ctl and init $init are gone" ||
	fail "controller $ctl or init $init still runs after destroy"
left=
[ -d "$cg" ] && left="$left cgroup $cg;"
ip link show "$veth" >/dev/null 2>&1 && left="$left veth $veth;"
inns test -e "/run/libvirt/lxc/$dom.xml" && left="$left status file;"
# libvirt itself leaves the controller's monitor socket file behind when the
# controller is killed (the next start unlinks it before bind): not checked.
inns test -S "/run/libvirt/lxc/$dom.sock" && echo "# note: /run/libvirt/lxc/$dom.sock stays after destroy (libvirt's own behaviour)"
[ -z "$left" ] && pass "destroy left no cgroup, veth or status file" || fail "destroy left:$left"
state=$(V domstate "$dom" 2>&1)
[ "$state" = "shut off" ] && pass "domstate is shut off" || fail "domstate is '$state', expected shut off"
if V undefine "$dom" >"$work/out" 2>&1 && ! V list --all --name | grep -qx "$dom"; then
	pass "virsh undefine $dom: no longer listed"
else
	fail "virsh undefine $dom: $(cat "$work/out")"
fi

summary
