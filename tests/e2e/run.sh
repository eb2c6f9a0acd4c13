#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# End-to-end test against a real libvirtd (the one scripts/libvirt-build.sh
# builds, started by scripts/libvirtd.sh as its own instance): define and start
# an LXC domain with a shell as init, its own busybox root filesystem, a
# bridged interface on a bridge this test creates and a memory limit; check
# from the host that it runs as the status file says, that the limit and the
# interface are in place, that `virsh console` reaches the shell (driven
# through script(1)'s pty), that a libvirtd restart re-adopts it.
#
# Save and restore (issue 4), with the real engine: state is put in the
# domain (a file on a tmpfs of its own, a process, a shell variable in the
# console's shell). `virsh save` shuts it off (saved); `virsh restore`
# brings it back (running, restored) with the same PIDs, state, hostname,
# /proc/meminfo served by the restored controller's FUSE, network and
# console session; 10 save/restore cycles keep it; restore --paused and
# --running; lifecycle events; `domjobinfo` and `domjobabort` during a save
# (the engine held with LXC_CR_FAULT=dump-stall); a save that fails once its
# images are written (LXC_CR_FAULT=after-images) leaves the domain running
# and no file; a restore that fails at its last step
# (LXC_CR_FAULT=before-release) leaves nothing and the file intact; managed
# save, `virsh start` from it, managedsave-remove, undefine --managed-save;
# the python3-libvirt client does the same.
# Bad save files (missing, junk, damaged, truncated, foreign
# version, without a checkpoint) and a restore of a running domain are
# refused naming the file and the cause, before anything is created; destroy
# and undefine leave nothing.
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
# Descriptors inherited from the caller (shells here pass 10-13, 250, 251,
# 255) would reach the processes this test starts inside the domain, and the
# engine rightly refuses a file of the host's opened by a process of the
# container: close everything above 2 (../shared/MACHINE.md).
for fd in $(ls /proc/$$/fd); do
	[ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
done
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

ctl= init= evpid= tpeer=
cleanup() {
	local h
	[ -n "$evpid" ] && kill "$evpid" 2>/dev/null
	[ -n "$tpeer" ] && kill "$tpeer" 2>/dev/null
	if [ -n "$uri" ]; then
		V destroy "$dom" >/dev/null 2>&1
		V undefine "$dom" >/dev/null 2>&1
		V destroy "$dom-tcp" >/dev/null 2>&1
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
	ip link del "${br}b" 2>/dev/null
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

# --- the console: type into the shell through virsh console, read its answer.
# console_run LINE: type LINE into the domain's console shell (through
# script(1)'s pty), wait until WANT (a regexp) shows, detach; the output
# goes to $console_out.
console_run() {
	local cpid line=$1 want=$2
	rm -f "$work/console.in" "$work/console.out"
	mkfifo "$work/console.in"
	script -qfec "$virsh_bin -c '$uri' console $dom" /dev/null <"$work/console.in" >"$work/console.out" 2>&1 &
	cpid=$!
	exec 7>"$work/console.in"
	if wait_for grep -q 'Escape character' "$work/console.out"; then
		printf '%s\r' "$line" >&7
		wait_for grep -qE "$want" "$work/console.out"
	fi
	printf '\035' >&7    # ^] detaches virsh console
	exec 7>&-
	wait_for sh -c "! kill -0 $cpid 2>/dev/null"
	kill "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
	console_out=$(tr -d '\r' <"$work/console.out")
}
# 6*7 is computed by the shell: the typed line holds no "42". MARK stays in
# this shell: after a restore, the same shell session still knows it.
console_run 'MARK=shell-'$id'; echo CONSOLE-$((6*7))-OK; hostname; head -n 1 /proc/meminfo' '^CONSOLE-42-OK'
out=$console_out
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

# --- state in the container for a save to keep: a file in a tmpfs of its
#     own, a process (its host PID; a session of its own, as a daemon: one
#     started from the host would be in a session outside the tree), the
#     shell's MARK (set above)
inct() { nsenter -t "$init" -m -u -i -n -p "$@"; }
sleeper=$((100000 + id % 100000))
inct sh -c "mkdir -p /run/e2e && mount -t tmpfs e2e /run/e2e && echo STATE-$id > /run/e2e/state" 2>"$work/out" &&
	inct sh -c "setsid sleep $sleeper </dev/null >/dev/null 2>&1 &" 2>>"$work/out"
spid=
wait_for sh -c "pgrep -x -f 'sleep $sleeper' >/dev/null" && spid=$(pgrep -x -f "sleep $sleeper" | head -n 1)
if [ -n "$spid" ] && [ "$(inct cat /run/e2e/state 2>/dev/null)" = "STATE-$id" ]; then
	pass "state in $dom: /run/e2e/state on its own tmpfs, sleep $sleeper as host pid $spid"
else
	fail "cannot put state in $dom: $(cat "$work/out")"
fi

# check_state WHAT: the domain runs with the controller, init and state it had.
check_state() {
	local what=$1 st newctl newinit newtty bad=
	st=$(V domstate --reason "$dom" 2>&1)
	status=$(inns cat "/run/libvirt/lxc/$dom.xml" 2>&1)
	newctl=$(sed -n "s/^<domstatus .* pid=.\([0-9]*\).*/\1/p" <<<"$status")
	newinit=$(sed -n "s/^ *<init pid=.\([0-9]*\).*/\1/p" <<<"$status")
	newtty=$(sed -n "s/^ *<console type=.pty. tty=.\([^'\"]*\).*/\1/p" <<<"$status")
	case "$st" in "running (restored)"|"running (unknown)"|running*) ;; *) bad="$bad state '$st';";; esac
	[ "$newctl" = "$ctl" ] && [ "$(cat /proc/$ctl/comm 2>/dev/null)" = libvirt_lxc ] || bad="$bad controller '$newctl' (was $ctl);"
	[ "$newinit" = "$init" ] && kill -0 "$init" 2>/dev/null || bad="$bad init '$newinit' (was $init);"
	[ -n "$newtty" ] && [ -c "$newtty" ] || bad="$bad console tty '$newtty';"
	[ "$(V domid "$dom" 2>&1)" = "$ctl" ] || bad="$bad domain id $(V domid "$dom" 2>&1);"
	V list --name | grep -qx "$dom" || bad="$bad not in virsh list;"
	[ "$(inct cat /run/e2e/state 2>/dev/null)" = "STATE-$id" ] || bad="$bad /run/e2e/state lost;"
	[ "$(cat /proc/$spid/cmdline 2>/dev/null | tr '\0' ' ')" = "sleep $sleeper " ] || bad="$bad sleep pid $spid gone;"
	[ "$(inct hostname 2>/dev/null)" = "$dom" ] || bad="$bad hostname;"
	# head reads; cat would sendfile(), which libvirt's FUSE file (size 0,
	# direct_io) answers with nothing, before any save as after
	inct head -n 1 /proc/meminfo 2>/dev/null | grep -qE '^MemTotal: +131072 kB$' ||
		bad="$bad /proc/meminfo: '$(inct head -n 1 /proc/meminfo 2>&1)';"
	[ -z "$bad" ] && pass "$what: running, controller $ctl, init $init, console $newtty, tmpfs file, sleep pid $spid, hostname, meminfo (FUSE) intact" ||
		fail "$what:$bad"
}
# check_saved WHAT FILE: the domain is shut off (saved), its processes gone, FILE complete.
check_saved() {
	local what=$1 file=$2 bad= st
	st=$(V domstate --reason "$dom" 2>&1)
	[ "$st" = "shut off (saved)" ] || bad="$bad state '$st';"
	wait_for sh -c "! kill -0 $ctl 2>/dev/null && ! kill -0 $init 2>/dev/null" || bad="$bad controller or init still runs;"
	inns test -e "/run/libvirt/lxc/$dom.xml" && bad="$bad status file left;"
	inns test -f "$file" || bad="$bad no save file $file;"
	[ "$(inns stat -c %a "$file" 2>/dev/null)" = 600 ] || bad="$bad mode $(inns stat -c %a "$file" 2>/dev/null);"
	[ -z "$bad" ] && pass "$what: shut off (saved), controller and init gone, $file 0600" || fail "$what:$bad"
}

# lifecycle events, as a client of the daemon sees them (python3-libvirt)
evpid=
if /usr/bin/python3 -c 'import libvirt' 2>/dev/null; then
	cat > "$work/events.py" <<'PYEOF'
import sys, libvirt
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(sys.argv[1])
names = {libvirt.VIR_DOMAIN_EVENT_STOPPED: "stopped", libvirt.VIR_DOMAIN_EVENT_STARTED: "started"}
reasons = {(libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_SAVED): "saved",
           (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_RESTORED): "restored"}
def cb(conn, dom, event, detail, opaque):
    print("%s/%s" % (names.get(event, str(event)), reasons.get((event, detail), str(detail))), flush=True)
conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
print("ready", flush=True)
while True:
    libvirt.virEventRunDefaultImpl()
PYEOF
	/usr/bin/python3 "$work/events.py" "$uri" > "$work/events.out" 2>&1 &
	evpid=$!
	wait_for grep -q ready "$work/events.out"
fi
# --- virsh save of the real domain: the engine checkpoints the controller's
#     tree (controller, container, the controller's mount namespace, FUSE,
#     the console master and the libvirtd connection as externals)
engine_ok=0
t0=$(date +%s%N)
V save "$dom" "$work/$dom.save" >"$work/out" 2>&1; rc=$?
if [ $rc = 0 ]; then
	engine_ok=1
	pass "virsh save $dom ($(ms_since $t0))"
	check_saved "after virsh save" "$work/$dom.save"
else
	fail "virsh save $dom, exit $rc: $(tr '\n' ' ' <"$work/out")"
	if [ ! -e "$work/$dom.save" ] && [ -z "$(ls -A "$work" | grep -F ".$dom.save.")" ] &&
	   [ "$(V domstate "$dom" 2>&1)" = running ] && kill -0 "$ctl" 2>/dev/null &&
	   [ "$(inct cat /run/e2e/state 2>/dev/null)" = "STATE-$id" ] && kill -0 "$spid" 2>/dev/null; then
		pass "after the failed save: no save file, no temporary file, the domain runs with its state"
	else
		fail "after the failed save: a file is left or the domain lost something: $(ls -A "$work")"
	fi
fi

# restart_daemon [VAR=VALUE...]: libvirtd again, with that environment (the
# engine inherits it: LXC_CR_FAULT); the running domain is re-adopted.
restart_daemon() {
	"$top/scripts/libvirtd.sh" stop >/dev/null 2>&1
	env "$@" "$top/scripts/libvirtd.sh" start >/dev/null 2>"$work/daemon.err" ||
		{ fail "cannot restart libvirtd ($*): $(cat "$work/daemon.err")"; return 1; }
}

if [ $engine_ok = 1 ]; then
	V save-image-dumpxml "$work/$dom.save" >"$work/out" 2>&1 && grep -qF "<name>$dom</name>" "$work/out" &&
		pass "virsh save-image-dumpxml of the save file shows $dom" ||
		fail "virsh save-image-dumpxml of the save file: $(head -c 300 "$work/out")"
	t0=$(date +%s%N)
	if V restore "$work/$dom.save" >"$work/out" 2>&1; then
		pass "virsh restore ($(ms_since $t0))"
	else
		fail "virsh restore: $(cat "$work/out")"
	fi
	check_state "after virsh restore"
	[ "$(V domstate --reason "$dom" 2>&1)" = "running (restored)" ] && pass "domstate --reason: running (restored)" ||
		fail "domstate --reason: '$(V domstate --reason "$dom" 2>&1)', expected running (restored)"
	V list | grep -qE "^ *$ctl +$dom +running\$" && pass "virsh list: $dom running with id $ctl" ||
		fail "virsh list: $(V list)"
	V dominfo "$dom" >"$work/out" 2>&1 && grep -qE '^State: +running' "$work/out" && grep -qE "^Id: +$ctl\$" "$work/out" &&
		pass "virsh dominfo: running, id $ctl" || fail "virsh dominfo: $(cat "$work/out")"
	newtty=$(inns sed -n "s/.*<console type=.pty. tty=.\([^'\"]*\).*/\1/p" "/run/libvirt/lxc/$dom.xml" 2>/dev/null)
	[ -n "$newtty" ] && V dumpxml "$dom" | grep -qF "tty='$newtty'" &&
		pass "virsh dumpxml: the console on the restored host pty $newtty (the status file's)" ||
		fail "virsh dumpxml: console tty '$newtty' not shown"
	if [ -n "$evpid" ]; then
		wait_for grep -q 'started/restored' "$work/events.out"
		kill "$evpid" 2>/dev/null
		wait "$evpid" 2>/dev/null
		[ "$(grep -v ready "$work/events.out" | tr '\n' ' ')" = "stopped/saved started/restored " ] &&
			pass "lifecycle events: stopped/saved, then started/restored" ||
			fail "lifecycle events: $(tr '\n' ' ' < "$work/events.out")"
	else
		skip "lifecycle events: python3-libvirt is not installed (scripts/deps.sh installs it)"
	fi
	console_run 'echo MARK-$MARK-$((6*7)); head -n 1 /proc/meminfo' '^MemTotal'
	grep -q "^MARK-shell-$id-42\$" <<<"$console_out" &&
		pass "virsh console after restore reaches the same shell session (it remembers MARK)" ||
		fail "virsh console after restore: $(tail -c 300 <<<"$console_out")"
	grep -qE '^MemTotal: +131072 kB$' <<<"$console_out" &&
		pass "/proc/meminfo in the restored shell (the restored controller's FUSE) shows the 128 MiB limit" ||
		fail "/proc/meminfo after restore: $(grep MemTotal <<<"$console_out")"
	/bin/busybox ping -c 1 -W 2 "${net}2" >/dev/null 2>&1 && pass "the guest answers ping at ${net}2 after restore (veth back on $br)" ||
		fail "the guest does not answer ping at ${net}2 after restore"
	V restore "$work/$dom.save" >"$work/out" 2>&1; rc=$?
	[ $rc != 0 ] && grep -qF "domain '$dom' is already active" "$work/out" && [ "$(V domstate "$dom")" = running ] &&
		pass "virsh restore while $dom runs is refused; it goes on running" ||
		fail "virsh restore while it runs, exit $rc: $(cat "$work/out")"

	# --- restore --xml moving the interface to another bridge (what may change),
	#     then back
	br2=${br}b
	if ip link add "$br2" type bridge && ip link set "$br2" up; then
		V save "$dom" "$work/x.save" >"$work/out" 2>&1 &&
			V save-image-dumpxml "$work/x.save" 2>>"$work/out" | sed -e "s|<source bridge='$br'/>|<source bridge='$br2'/>|" > "$work/x.xml" &&
			V restore --xml "$work/x.xml" "$work/x.save" >>"$work/out" 2>&1; rc=$?
		veth=$(inns sed -n "s/^ *<target dev=.\([^'\"]*\).*/\1/p" "/run/libvirt/lxc/$dom.xml" | head -n 1)
		master=$(ip -o link show "$veth" 2>/dev/null | sed -n 's/.* master \([^ ]*\) .*/\1/p')
		[ $rc = 0 ] && [ "$master" = "$br2" ] && V dumpxml "$dom" | grep -qF "<source bridge='$br2'/>" &&
			pass "virsh restore --xml with the interface on bridge $br2: its host end $veth is there" ||
			fail "virsh restore --xml to bridge $br2, exit $rc: $(cat "$work/out") veth '$veth' master '$master'"
		V save "$dom" "$work/x.save" >"$work/out" 2>&1 &&
			V save-image-dumpxml "$work/x.save" 2>>"$work/out" | sed -e "s|<source bridge='$br2'/>|<source bridge='$br'/>|" > "$work/x.xml" &&
			V restore --xml "$work/x.xml" "$work/x.save" >>"$work/out" 2>&1; rc=$?
		veth=$(inns sed -n "s/^ *<target dev=.\([^'\"]*\).*/\1/p" "/run/libvirt/lxc/$dom.xml" | head -n 1)
		[ $rc = 0 ] && /bin/busybox ping -c 1 -W 2 "${net}2" >/dev/null 2>&1 &&
			pass "and back on $br with restore --xml: the guest answers ping" ||
			fail "restore --xml back to $br, exit $rc: $(cat "$work/out")"
		ip link del "$br2" 2>/dev/null
		rm -f "$work/x.save" "$work/x.xml"
		check_state "after the restores with --xml"
	else
		fail "cannot create bridge $br2"
	fi

	# --- 10 cycles, state checked each time
	ok=0
	for cycle in $(seq 1 10); do
		V save "$dom" "$work/cycle.save" >"$work/out" 2>&1 || { fail "cycle $cycle: save: $(cat "$work/out")"; break; }
		V restore "$work/cycle.save" >"$work/out" 2>&1 || { fail "cycle $cycle: restore: $(cat "$work/out")"; break; }
		[ "$(inct cat /run/e2e/state 2>/dev/null)" = "STATE-$id" ] && kill -0 "$spid" 2>/dev/null &&
			[ "$(V domstate --reason "$dom")" = "running (restored)" ] && [ "$(V domid "$dom")" = "$ctl" ] &&
			[ "$(inct hostname 2>/dev/null)" = "$dom" ] &&
			inct head -n 1 /proc/meminfo 2>/dev/null | grep -qE '^MemTotal: +131072 kB$' ||
			{ fail "cycle $cycle: state lost"; break; }
		ok=$cycle
	done
	[ "$ok" = 10 ] && pass "10 save/restore cycles, state (tmpfs file, sleep pid, hostname, meminfo, id) intact each time"
	rm -f "$work/cycle.save"
	check_state "after 10 cycles"

	# --- paused: restore --paused, a paused domain saved, restore --running
	V save "$dom" "$work/p.save" >"$work/out" 2>&1 && V restore --paused "$work/p.save" >>"$work/out" 2>&1 &&
		[ "$(V domstate --reason "$dom")" = "paused (user)" ] &&
		[ "$(cat "/sys/fs/cgroup/freezer/machine/lxc-$ctl-$dom.libvirt-lxc/freezer.state" 2>/dev/null)" = FROZEN ] &&
		V resume "$dom" >>"$work/out" 2>&1 && [ "$(V domstate "$dom")" = running ] &&
		pass "virsh restore --paused: paused (freezer FROZEN), then resumed" ||
		fail "virsh restore --paused: $(cat "$work/out") state '$(V domstate --reason "$dom")'"
	V suspend "$dom" >"$work/out" 2>&1 && V save "$dom" "$work/p.save" >>"$work/out" 2>&1 &&
		V restore "$work/p.save" >>"$work/out" 2>&1 && [ "$(V domstate --reason "$dom")" = "paused (user)" ] &&
		V save "$dom" "$work/p.save" >>"$work/out" 2>&1 && V restore --running "$work/p.save" >>"$work/out" 2>&1 &&
		[ "$(V domstate --reason "$dom")" = "running (restored)" ] &&
		pass "a paused domain saved comes back paused, or running with --running" ||
		fail "save of a paused domain: $(cat "$work/out") state '$(V domstate --reason "$dom")'"
	rm -f "$work/p.save"
	check_state "after the paused saves"

	# --- a save is a job: domjobinfo shows it, domjobabort cancels it. The
	#     engine is held after its images are written (LXC_CR_FAULT=dump-stall,
	#     3 s, the tree frozen) so that there is time to look and abort.
	if restart_daemon LXC_CR_FAULT=dump-stall LXC_CR_FAULT_SECONDS=3; then
		V save "$dom" "$work/abort.save" >"$work/save.out" 2>&1 &
		sp=$!
		sleep 1
		V domjobinfo "$dom" >"$work/out" 2>&1
		V domjobabort "$dom" >>"$work/out" 2>&1; rc=$?
		wait "$sp"; src=$?
		grep -qE '^Job type: +Unbounded' "$work/out" && grep -qE '^Operation: +Save' "$work/out" &&
			pass "virsh domjobinfo during a save: an unbounded save job" ||
			fail "virsh domjobinfo during a save: $(cat "$work/out")"
		[ $rc = 0 ] && [ $src != 0 ] && grep -qF "operation aborted: cannot save domain '$dom': cancelled" "$work/save.out" &&
			[ ! -e "$work/abort.save" ] && [ -z "$(ls -A "$work" | grep -F '.abort.save.')" ] &&
			[ "$(V domstate "$dom")" = running ] &&
			pass "virsh domjobabort cancels the save: no file, $dom runs" ||
			fail "virsh domjobabort: abort exit $rc, save exit $src: $(cat "$work/save.out")"
		V domjobinfo "$dom" 2>&1 | grep -qE '^Job type: +None' && pass "virsh domjobinfo after it: no job" ||
			fail "virsh domjobinfo after the save: $(V domjobinfo "$dom" 2>&1)"
		check_state "after the aborted save"
	fi
	# --- a save that fails once the images are written (LXC_CR_FAULT=after-images):
	#     the domain runs on, no file
	if restart_daemon LXC_CR_FAULT=after-images; then
		V save "$dom" "$work/fault.save" >"$work/out" 2>&1; rc=$?
		[ $rc != 0 ] && grep -qF "cannot save domain '$dom'" "$work/out" && grep -qF "after-images" "$work/out" &&
			[ ! -e "$work/fault.save" ] && [ -z "$(ls -A "$work" | grep -F '.fault.save.')" ] &&
			pass "a save failing after the images (fault after-images): refused naming it, no file" ||
			fail "a save failing after the images, exit $rc: $(cat "$work/out")"
		check_state "after the failed save"
	fi
	# --- a restore that fails at its last step (LXC_CR_FAULT=before-release):
	#     nothing left (process, status file, cgroup, veth), the file intact;
	#     then the same file restores
	if restart_daemon LXC_CR_FAULT=before-release; then
		V save "$dom" "$work/fault.save" >"$work/out" 2>&1 || fail "save before the restore fault: $(cat "$work/out")"
		sum=$(sha256sum < "$work/fault.save" 2>/dev/null)
		V restore "$work/fault.save" >"$work/out" 2>&1; rc=$?
		left=
		kill -0 "$ctl" 2>/dev/null && left="$left controller $ctl;"
		kill -0 "$spid" 2>/dev/null && left="$left sleep $spid;"
		inns test -e "/run/libvirt/lxc/$dom.xml" && left="$left status file;"
		[ -d "$cg" ] && left="$left cgroup $cg;"
		ip link show "$veth" >/dev/null 2>&1 && left="$left veth $veth;"
		[ $rc != 0 ] && grep -qF "before-release" "$work/out" && [ -z "$left" ] &&
			[ "$(sha256sum < "$work/fault.save")" = "$sum" ] && [ "$(V domstate --reason "$dom")" = "shut off (saved)" ] &&
			pass "a restore failing at its last step (fault before-release): refused, nothing left, file untouched" ||
			fail "a restore failing at its last step, exit $rc: $(cat "$work/out") left:$left state '$(V domstate --reason "$dom")'"
	fi
	if restart_daemon; then
		V restore "$work/fault.save" >"$work/out" 2>&1 && pass "the same file then restores" ||
			fail "restore after the failed one: $(cat "$work/out")"
		check_state "after the restore that follows the failed one"
	fi
	rm -f "$work/fault.save"

	# --- managed save, start restores it
	V managedsave "$dom" >"$work/out" 2>&1 && pass "virsh managedsave $dom" || fail "virsh managedsave: $(cat "$work/out")"
	check_saved "after virsh managedsave" "/var/lib/libvirt/lxc/save/$dom.save"
	V dominfo "$dom" | grep -qE '^Managed save: +yes' && pass "dominfo: Managed save: yes" ||
		fail "dominfo after managedsave: $(V dominfo "$dom" | grep Managed)"
	V undefine "$dom" >"$work/out" 2>&1; rc=$?
	[ $rc != 0 ] && V list --all --name | grep -qx "$dom" && inns test -f "/var/lib/libvirt/lxc/save/$dom.save" &&
		pass "virsh undefine without --managed-save keeps the domain and its managed save" ||
		fail "virsh undefine with a managed save, exit $rc: $(cat "$work/out")"
	V start "$dom" >"$work/out" 2>&1 && pass "virsh start restores the managed save" || fail "virsh start: $(cat "$work/out")"
	check_state "after virsh start from the managed save"
	V dominfo "$dom" | grep -qE '^Managed save: +no' && ! inns test -e "/var/lib/libvirt/lxc/save/$dom.save" &&
		pass "the managed save file is gone once restored" || fail "the managed save file is still there"
fi

# --- the API client (python3-libvirt, as virt-manager would use it)
if /usr/bin/python3 -c 'import libvirt' 2>/dev/null && [ $engine_ok = 1 ]; then
	cat > "$work/api.py" <<'PYEOF'
import sys, libvirt
uri, name, path, junk = sys.argv[1:5]
libvirt.registerErrorHandler(lambda *a: None, None)
conn = libvirt.open(uri)
dom = conn.lookupByName(name)
ctl = dom.ID()
def check(what, ok):
    print("%s: API %s" % ("PASS" if ok else "FAIL", what))
dom.save(path)
check("dom.save: shut off (saved)", dom.state() == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SAVED])
conn.restore(path)
dom = conn.lookupByName(name)
check("conn.restore: running (restored), same id %d" % ctl,
      dom.state() == [libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_RESTORED] and dom.ID() == ctl)
dom.managedSave()
ok = dom.hasManagedSaveImage() == 1 and not dom.isActive()
dom.create()
check("dom.managedSave, then dom.create restores it",
      ok and dom.isActive() and dom.hasManagedSaveImage() == 0 and dom.ID() == ctl)
try:
    conn.restore(junk)
    check("conn.restore of a junk file refused", False)
except libvirt.libvirtError as e:
    check("conn.restore of a junk file refused: %s" % e, "is not an lxc-cr save file" in str(e))
PYEOF
	echo junk > "$work/junk-api.save"
	while read -r verdict rest; do
		case "$verdict" in
		PASS:) pass "$rest";;
		*) fail "${verdict#FAIL:} $rest";;
		esac
	done < <(/usr/bin/python3 "$work/api.py" "$uri" "$dom" "$work/api.save" "$work/junk-api.save" 2>&1)
	rm -f "$work/api.save"
	check_state "after the API client's saves and restores"
	# managedsave-remove discards the image; start then boots afresh (new PIDs)
	V managedsave "$dom" >/dev/null 2>&1 && V managedsave-remove "$dom" >"$work/out" 2>&1 &&
		V dominfo "$dom" | grep -qE '^Managed save: +no' && ! inns test -e "/var/lib/libvirt/lxc/save/$dom.save" &&
		V start "$dom" >>"$work/out" 2>&1 && [ "$(V domstate --reason "$dom")" = "running (booted)" ] &&
		pass "managedsave-remove discards it; start boots afresh" || fail "managedsave-remove: $(cat "$work/out")"
	status=$(inns cat "/run/libvirt/lxc/$dom.xml" 2>&1)
	ctl=$(sed -n "s/^<domstatus .* pid=.\([0-9]*\).*/\1/p" <<<"$status")
	init=$(sed -n "s/^ *<init pid=.\([0-9]*\).*/\1/p" <<<"$status")
	veth=$(sed -n "s/^ *<target dev=.\([^'\"]*\).*/\1/p" <<<"$status" | head -n 1)
	cg=/sys/fs/cgroup/memory/machine/lxc-$ctl-$dom.libvirt-lxc
elif [ $engine_ok = 1 ]; then
	skip "API client checks: python3-libvirt is not installed (scripts/deps.sh installs it)"
else
	skip "save/restore checks (state, console, cycles, paused, jobs, faults, managed save, API): virsh save failed above"
fi

# --- a second domain with live TCP connections across its bridged interface
#     (ct-tcp, as tests/container/run-tcp.sh): a: the host connects to the
#     container, b: the container to the host; both ends send a numbered byte
#     stream all the time and check every byte they receive. virsh save and
#     virsh restore twice: the host's ends stay established (no FIN, no RST)
#     while the domain is saved, and afterwards each end has received exactly
#     what the other sent, every byte checked.
cttcp=${CT_TCP:-$top/build/tests/container/ct-tcp}
tdom=$dom-tcp
tpeer=
if [ $engine_ok != 1 ]; then
	skip "TCP domain: virsh save failed above"
elif [ ! -x "$cttcp" ]; then
	skip "TCP domain: no $cttcp (build lxc-cr's check programs in $top/build: scripts/build.sh, or set CT_TCP)"
else
	troot=$work/tcp-rootfs ctdir=$work/tcp-rootfs/var/cttcp hostdir=$work/tcp-host
	hostip=${net}1 ctip=${net}3
	tmac=$(printf '52:54:00:e3:%02x:%02x' $(((id >> 8) & 255)) $((id & 255)))
	if bash "$top/tests/container/mkrootfs.sh" --hostname "$tdom" "$troot" "$cttcp" >"$work/mkrootfs-tcp.log" 2>&1; then
		mkdir -p "$ctdir" "$hostdir"
		cat >"$troot/ct-init.sh" <<EOF
#!/bin/sh
ip addr add $ctip/24 dev eth0 && ip link set eth0 up
/usr/local/bin/ct-tcp inner 7001 $hostip 7002 /var/cttcp &
exec /bin/sh
EOF
		chmod 755 "$troot/ct-init.sh"
		sed -e "s|<name>$dom</name>|<name>$tdom</name>|" -e "s|$work/rootfs|$troot|" \
			-e "s|<init>/bin/sh</init>|<init>/ct-init.sh</init>|" -e "s|$mac|$tmac|" \
			"$work/$dom.xml" > "$work/$tdom.xml"
		V create "$work/$tdom.xml" >"$work/out" 2>&1 || fail "virsh create $tdom: $(cat "$work/out")"
		if wait_for test -s "$ctdir/status"; then
			"$cttcp" host "$ctip" 7001 "$hostip" 7002 "$hostdir" </dev/null >"$work/tcp-peer.log" 2>&1 &
			tpeer=$!
		fi
		tst() { # tst SIDE CONN FIELD
			local f=$hostdir/status
			[ "$1" = ct ] && f=$ctdir/status
			awk -v c="$2" -v k="$3" '$1 == c { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) print a[2] } }' "$f" 2>/dev/null
		}
		ttick() { awk '$1 == "tick" { print $2 }' "$1/status" 2>/dev/null; }
		flowing() {
			local s c
			for s in ct host; do
				for c in a b; do
					[ "$(tst $s $c state)" = ESTABLISHED ] && [ "$(tst $s $c recv)" -gt 20000 ] 2>/dev/null || return 1
				done
			done
		}
		settled() {
			local c
			[ "$(ttick "$ctdir")" != "$1" ] && [ "$(ttick "$hostdir")" != "$2" ] || return 1
			for c in a b; do
				[ "$(tst ct $c recv)" = "$(tst host $c sent)" ] && [ "$(tst host $c recv)" = "$(tst ct $c sent)" ] || return 1
			done
		}
		exact_check() { # exact_check WHAT: pause both senders, compare, go on
			local t1 t2 c s bad=
			touch "$ctdir/pause" "$hostdir/pause"
			sleep 0.1
			t1=$(ttick "$ctdir") t2=$(ttick "$hostdir")
			if ! wait_for settled "$t1" "$t2"; then
				for c in a b; do
					bad="$bad $c: host sent $(tst host $c sent), container received $(tst ct $c recv); container sent $(tst ct $c sent), host received $(tst host $c recv);"
				done
			fi
			for s in ct host; do
				for c in a b; do
					[ "$(tst $s $c bad)" = 0 ] || bad="$bad $s $c: $(tst $s $c bad) wrong bytes;"
					[ "$(tst $s $c eof)" = 0 ] || bad="$bad $s $c: EOF;"
					[ "$(tst $s $c err)" = 0 ] || bad="$bad $s $c: error $(tst $s $c err);"
					[ "$(tst $s $c state)" = ESTABLISHED ] || bad="$bad $s $c: state $(tst $s $c state);"
				done
			done
			grep -q '^error' "$ctdir/status" "$hostdir/status" 2>/dev/null && bad="$bad $(grep -h '^error' "$ctdir/status" "$hostdir/status");"
			rm -f "$ctdir/pause" "$hostdir/pause"
			[ -z "$bad" ] && pass "$1: every byte arrived once and in order (a: $(tst host a sent) to the container, $(tst ct a sent) back; b: $(tst ct b sent) to the host, $(tst host b sent) back)" ||
				fail "$1:$bad"
		}
		if [ -n "$tpeer" ] && wait_for flowing; then
			pass "$tdom: TCP connections a (host to container) and b (container to host) carry data both ways over $br"
			exact_check "$tdom before any save"
			tctl=$(V domid "$tdom")
			for round in 1 2; do
				V save "$tdom" "$work/tcp.save" >"$work/out" 2>&1 || { fail "$tdom save $round: $(cat "$work/out")"; break; }
				sleep 1
				bad=
				for c in a b; do
					[ "$(tst host $c state)" = ESTABLISHED ] && [ "$(tst host $c eof)" = 0 ] && [ "$(tst host $c err)" = 0 ] ||
						bad="$bad $c: state $(tst host $c state) eof $(tst host $c eof) err $(tst host $c err);"
				done
				[ -z "$bad" ] && pass "$tdom saved ($round): the host's ends stay established, no FIN, no RST, 1 s later" ||
					fail "$tdom saved ($round): the host's ends:$bad"
				V restore "$work/tcp.save" >"$work/out" 2>&1 || { fail "$tdom restore $round: $(cat "$work/out")"; break; }
				[ "$(V domstate --reason "$tdom")" = "running (restored)" ] && [ "$(V domid "$tdom")" = "$tctl" ] ||
					fail "$tdom restore $round: state '$(V domstate --reason "$tdom")', id $(V domid "$tdom")"
				exact_check "$tdom after virsh save and restore $round"
			done
		else
			fail "$tdom: no TCP connections: container $(cat "$ctdir/status" 2>&1) host $(cat "$hostdir/status" 2>&1) $(cat "$work/tcp-peer.log" 2>&1)"
		fi
		[ -n "$tpeer" ] && kill "$tpeer" 2>/dev/null && wait "$tpeer" 2>/dev/null
		tpeer=
		V destroy "$tdom" >/dev/null 2>&1
		rm -f "$work/tcp.save"
	else
		fail "mkrootfs.sh for $tdom: $(tail -n 3 "$work/mkrootfs-tcp.log")"
	fi
fi

# --- bad save files: refused naming the file and the cause, before anything
#     is created; the file untouched
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

# a real save file without a checkpoint (liblxccr's writer), and damaged copies
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
	[ $rc != 0 ] && grep -qF "domain '$dom' is already active" "$work/out" &&
		[ "$(V domstate "$dom" 2>&1)" = running ] && [ "$(V domid "$dom")" = "$ctl" ] &&
		pass "virsh restore of a file whose domain runs is refused; the domain runs on" ||
		fail "virsh restore of a file whose domain runs, exit $rc: $(cat "$work/out")"
	# save-image-define: a new description is written in; a new memory size is refused
	sed -e "s|<name>$dom</name>|<name>$dom</name><description>moved by e2e</description>|" \
		"$work/dom.xml" > "$work/dom-desc.xml"
	sed -e "s|<memory unit='KiB'>131072</memory>|<memory unit='KiB'>262144</memory>|" \
		"$work/dom.xml" > "$work/dom-mem.xml"
	sum=$(sha256sum < "$work/real.save")
	V save-image-define "$work/real.save" "$work/dom-mem.xml" >"$work/out" 2>&1; rc=$?
	[ $rc != 0 ] && grep -qF "(save file '$work/real.save') changes its memory from '131072 KiB' to '262144 KiB'" "$work/out" &&
		[ "$(sha256sum < "$work/real.save")" = "$sum" ] &&
		pass "virsh save-image-define changing the memory: refused naming the field, file untouched" ||
		fail "virsh save-image-define changing the memory, exit $rc: $(cat "$work/out")"
	V save-image-define "$work/real.save" "$work/dom-desc.xml" >"$work/out" 2>&1; rc=$?
	[ $rc = 0 ] && V save-image-dumpxml "$work/real.save" 2>&1 | grep -qF "<description>moved by e2e</description>" &&
		[ "$(stat -c %a "$work/real.save")" = 600 ] && [ -z "$(ls -A "$work" | grep -F '.real.save.')" ] &&
		pass "virsh save-image-define with a new description: written in (0600, no temporary file left)" ||
		fail "virsh save-image-define with a new description, exit $rc: $(cat "$work/out")"
	cp "$work/real.save" "$work/damaged.save"
	printf 'X' | dd of="$work/damaged.save" bs=1 seek=200 conv=notrunc status=none
	head -c 100 "$work/real.save" > "$work/truncated.save"
	cp "$work/real.save" "$work/foreign.save"
	printf '\x07' | dd of="$work/foreign.save" bs=1 seek=16 conv=notrunc status=none
	for bad in "damaged:is damaged: its checksum does not match" \
	           "truncated:is 100 bytes, its header says" \
	           "foreign:has version 7; this lxc-cr reads version 1"; do
		f=$work/${bad%%:*}.save
		sum=$(sha256sum < "$f")
		V restore "$f" >"$work/out" 2>&1; rc=$?
		[ $rc != 0 ] && grep -qF "save file '$f' ${bad#*:}" "$work/out" && [ "$(sha256sum < "$f")" = "$sum" ] &&
			[ "$(V domid "$dom")" = "$ctl" ] &&
			pass "virsh restore of a ${bad%%:*} save file is refused naming it and the cause; file untouched" ||
			fail "virsh restore of a ${bad%%:*} save file, exit $rc: $(cat "$work/out")"
	done
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

# --- restores of files that cannot be restored, the domain shut off: refused
#     before anything is created (no status file, no process, file untouched)
if [ -x "$mksave" ]; then
	sum=$(sha256sum < "$work/real.save")
	V restore "$work/real.save" >"$work/out" 2>&1; rc=$?
	[ $rc != 0 ] && grep -qF "save file '$work/real.save' holds no checkpoint of a domain" "$work/out" &&
		[ "$(V domstate "$dom" 2>&1)" = "shut off" ] && ! inns test -e "/run/libvirt/lxc/$dom.xml" &&
		[ "$(sha256sum < "$work/real.save")" = "$sum" ] && [ -z "$(ls -A "$work" | grep -F '.real.save.')" ] &&
		pass "virsh restore of a save file without a checkpoint: refused naming it; nothing created, file untouched" ||
		fail "virsh restore of a save file without a checkpoint, exit $rc: $(cat "$work/out")"
fi

state=$(V domstate "$dom" 2>&1)
[ "$state" = "shut off" ] && pass "domstate is shut off" || fail "domstate is '$state', expected shut off"
# undefine --managed-save: the domain and its managed save image go together
if [ $engine_ok = 1 ]; then
	V start "$dom" >"$work/out" 2>&1 && V managedsave "$dom" >>"$work/out" 2>&1 &&
		V undefine --managed-save "$dom" >>"$work/out" 2>&1 && ! V list --all --name | grep -qx "$dom" &&
		! inns test -e "/var/lib/libvirt/lxc/save/$dom.save" &&
		pass "virsh undefine --managed-save $dom: no longer listed, its managed save removed" ||
		fail "virsh undefine --managed-save $dom: $(cat "$work/out")"
elif V undefine "$dom" >"$work/out" 2>&1 && ! V list --all --name | grep -qx "$dom"; then
	pass "virsh undefine $dom: no longer listed"
else
	fail "virsh undefine $dom: $(cat "$work/out")"
fi

summary
