#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Checkpoint/restore of a tree rooted at a container's CONTROLLER (TAP), what
# `virsh save` of an LXC domain needs: ct-launch stays as init's parent in the
# host's pid/net/uts/ipc namespaces and a private mount namespace of its own
# with NAME.dev (a tmpfs with the device nodes) and NAME.devpts (the
# container's devpts instance, whose ptmx gave it the console master it
# holds); init, its child, has new pid/mnt/net/uts/ipc namespaces, its /dev
# and /dev/pts are those very superblocks, its stdio the console. Inside, a
# shell reads the console and ct-state holds state of every kind (files on
# the root and on a tmpfs on /dev/shm, a deleted file, a pty pair of the
# shared devpts, UNIX sockets, a pipe, a counter). The controller's mount
# namespace is a slave of the test's (as libvirt's of its daemon's).
#   dump -t CONTROLLER --shell-job --leave-running: everything goes on;
#   dump (the tree is killed), restore; dump the restored tree, restore again:
#     the controller's and init's host PIDs, the PIDs inside, init the
#     controller's child, the controller not a session leader, init leading
#     its session on the console; the controller's mount namespace its own
#     with NAME.dev, NAME.devpts and NAME.fuse (ct-launch --fake-fuse: a
#     tmpfs, the shape of libvirt's FUSE mount), the same superblocks as the
#     container's /dev, /dev/pts and /proc/meminfo; its descriptors; a line
#     written into the console through the restored controller's relay
#     (ct-launch --console-in) runs
#     in the container's shell and its output comes back (--console-log), and
#     a line written to the container's /dev/console shows there too;
#     ct-state's checks PASS; the veth's host end on its bridge; the
#     controller's threads and its listening monitor socket (ct-launch
#     --threads, --monitor: libvirt's gmain thread and NAME.sock);
#   restores that fail (LXC_CR_FAULT=after-mounts, in-root, after-fork; an
#     ns.img whose container root is the controller, or with an unknown
#     propagation) leave nothing behind (process, veth, mount, cgroup with
#     processes); the last restore with --root at a bind of the rootfs;
#   SIGTERM to the restored controller stops the container and leaves no
#     veth, cgroup or state directory behind;
#   a dump refuses a mount lxc-cr has and the controller lacks over its
#     state directory, naming it (a second controller, private).
# CTL_LIBVIRT_MOUNTS=1 (run-ctl-lv.sh): the same with libvirt's exact
# container mounts instead of ct-launch's own.
#
# Usage: run-ctl.sh   (from the build directory, as `make check` runs it)
# Env: LXC_CR, CT_LAUNCH (default: ct-launch-plain, a copy of ct-launch
# without the sanitizers), CT_STATE (defaults: in the build directory),
# CT_CTL_KEEP=1 keeps the work dir. Needs root, busybox-static, cgroup v1.

set -u

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

. "$srcdir/lib.sh"
ct_tap_require
# libvirt's controller's mount namespace is a slave of its daemon's
# (ct-launch --slave): run where every mount is shared, so that it has a
# master, and the restore must give it one again
if [ -z "${CTL_IN_SHARED_NS:-}" ]; then
	CTL_IN_SHARED_NS=1 exec unshare -m --propagation shared "$BASH" "${BASH_SOURCE[0]}" "$@"
fi
ct_tap_bins "launch=${CT_LAUNCH:-}:tests/container/ct-launch-plain" "state=${CT_STATE:-}:tests/container/ct-state" "lxc_cr=${LXC_CR:-}:src/lxc-cr"
if grep -q __asan_init "$launch" 2>/dev/null; then
	# the controller is checkpointed itself: ASan's shadow cannot be restored
	echo "1..0 # SKIP $launch is built with ASan: it cannot be checkpointed (use ct-launch-plain)"
	exit 0
fi
ct_close_stray_fds

work=$(mktemp -d /tmp/ctl-cr.XXXXXX)
# CTL_LIBVIRT_MOUNTS=1 (run-ctl-lv.sh): the container gets exactly libvirt's
# mounts (ct-launch --libvirt-mounts: /dev/pts listed before /dev, /proc/sys
# binds, /dev/ptmx, /dev/tty1, /dev/console file binds, /proc/meminfo bound
# from a file of the controller's NAME.dev); else ct-launch's own, with
# --fake-fuse (/proc/meminfo bound from the controller's NAME.fuse tmpfs)
if [ -n "${CTL_LIBVIRT_MOUNTS:-}" ]; then
	mounts_opt=(--libvirt-mounts)
	meminfo_src=dev/.meminfo
	meminfo_want="MemTotal:         131072 kB MemFree:          131072 kB "
elif [ -n "${CTL_REAL_FUSE:-}" ]; then
	# run-ctl-fuse.sh: NAME.fuse a real FUSE served by a thread of the
	# controller (ct-launch --fuse), as libvirt's lxc-fuse
	mounts_opt=(--fuse)
	meminfo_src=fuse/meminfo
	meminfo_want="MemTotal:         131072 kB MemFree:          100000 kB "
else
	mounts_opt=(--fake-fuse)
	meminfo_src=fuse/meminfo
	meminfo_want="MemTotal:         131072 kB MemFree:          100000 kB "
fi
name=ctl$$
mark=ctlmark$$
bridge=ctlb$$
veth=ctlv$$
root=$work/rootfs
n=0
failed=0
ctl=
init=
rst=
cgdirs=()

procs_of_mark() { pgrep -f "ct-state /var/ctstate /dev/shm $mark"; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && [ "$(awk '/^State:/ {print $2}' /proc/"$1"/status 2>/dev/null)" != Z ]; }

cleanup() {
	[ -n "$ctl" ] && alive "$ctl" && kill -TERM "$ctl" 2>/dev/null && sleep 1
	[ -n "$ctl" ] && kill -KILL "$ctl" 2>/dev/null
	[ -n "$init" ] && kill -KILL "$init" 2>/dev/null
	wait 2>/dev/null
	ip link del dev "$veth" 2>/dev/null
	ip link del dev "$bridge" 2>/dev/null
	mountpoint -q "$work/rootfs-other" 2>/dev/null && umount "$work/rootfs-other"
	for d in "${cgdirs[@]}"; do rmdir "$d" 2>/dev/null; done
	rmdir /run/lxc-cr-ct/"$name"/"$name".dev /run/lxc-cr-ct/"$name"/"$name".devpts \
		/run/lxc-cr-ct/"$name" 2>/dev/null
	if [ -n "${CT_CTL_KEEP:-}" ]; then echo "# kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

if out=$("$srcdir/mkrootfs.sh" --hostname "$name" "$root" "$state" 2>&1); then
	ok "mkrootfs.sh builds a busybox rootfs with ct-state"
else
	not_ok "mkrootfs.sh builds a busybox rootfs with ct-state" "$out"
	echo "Bail out! no rootfs"
	exit 1
fi
mkdir -p "$root/var/ctstate"
cat >"$root/ct-init.sh" <<EOF
#!/bin/sh
mkdir -p /dev/shm && mount -t tmpfs -o size=4m,mode=1777 shm /dev/shm ||
	echo "mount failed" >/var/ctstate/init.err
/usr/local/bin/ct-state /var/ctstate /dev/shm $mark </dev/null >/dev/null 2>&1 &
# the console's shell: what the controller relays in runs here (a loop,
# not an interactive sh: that one holds /dev/tty, see the report in
# docs/design.md)
while read -r line; do eval "\$line"; done
EOF
chmod 755 "$root/ct-init.sh"

if ! ip link add "$bridge" type bridge || ! ip link set "$bridge" up; then
	echo "Bail out! cannot create the bridge $bridge"
	exit 1
fi
# a subshell whose parent is this script, not a session leader (as libvirt's
# controller, whose session leader was the double fork's middle process)
"$launch" --name "$name" --rootfs "$root" --pidfile "$work/init.pid" \
	--console-log "$work/console.log" --console-in "$work/console.in" \
	--monitor "$work/ctl.sock" --threads 2 --slave "${mounts_opt[@]}" --veth-host "$veth" --bridge "$bridge" --ip 10.213.11.2/24 \
	-- /bin/sh /ct-init.sh </dev/null >"$work/launch.log" 2>&1 &
ctl=$!
disown "$ctl"	# reaped all the same, without "Killed" when the dump kills it
if eventually test -e "$root/var/ctstate/ct-state.ready"; then
	ok "the container starts under its controller $ctl, ct-state is ready"
else
	not_ok "the container starts, ct-state is ready" "$(cat "$work/launch.log" "$work/console.log" 2>&1)"
	echo "Bail out! the container did not start"
	exit 1
fi
init=$(cat "$work/init.pid")
sp_host=$(procs_of_mark)
mapfile -t cgdirs < <(ct_cgroup_dirs "$ctl")

# What must be the same after every restore, one line each.
view() {
	local sp
	sp=$(procs_of_mark)
	echo "init host $(pgrep -P "$ctl") NSpid $(awk '/^NSpid:/ { $1 = ""; print }' /proc/"$init"/status)"
	echo "ct-state host $sp NSpid $(awk '/^NSpid:/ { $1 = ""; print }' /proc/"$sp"/status 2>/dev/null)"
	echo "init sid/pgrp (inside) $(nsenter -t "$init" -p -m sh -c 'cut -d" " -f6,5 /proc/1/stat')"
	echo "controller threads $(ls /proc/"$ctl"/task | wc -l)"
	echo "controller leads no session: $(awk '{ print ($6 != $1 && $5 != $1) ? "yes" : "no: " $5 " " $6 }' /proc/"$ctl"/stat)"
	for f in /proc/"$ctl"/fd/*; do echo "controller fd ${f##*/} -> $(readlink "$f" | sed 's/:\[[0-9]*\]/:[]/')"; done
	for f in /proc/"$init"/fd/*; do echo "init fd ${f##*/} -> $(readlink "$f")"; done
	echo "controller cgroups $(sed 's/^[0-9]*://' /proc/"$ctl"/cgroup | sort | tr '\n' ' ')"
	echo "init cgroups $(sed 's/^[0-9]*://' /proc/"$init"/cgroup | sort | tr '\n' ' ')"
	echo "controller mounts: $(awk '$5 ~ /^\/run\/lxc-cr-ct\// { print $5, $9, $10 }' /proc/"$ctl"/mountinfo | tr '\n' ' ')"
	echo "init mounts: $(awk '{ print $5, $9 }' /proc/"$init"/mountinfo | sort | tr '\n' ' ')"
	echo "hostname $(nsenter -t "$init" -u hostname)"
}

# The controller's mount namespace: its own, with NAME.dev and NAME.devpts,
# the same superblocks as the container's /dev and /dev/pts.
sb_check() { # sb_check WHAT
	local d=/proc/$ctl/root/run/lxc-cr-ct/$name/$name a b c e f g mi m1 m2 m3
	a=$(stat -L -c %d "$d.dev" 2>&1); b=$(stat -L -c %d "/proc/$init/root/dev" 2>&1)
	c=$(stat -L -c %d "$d.devpts" 2>&1); e=$(stat -L -c %d "/proc/$init/root/dev/pts" 2>&1)
	m1=$(readlink /proc/self/ns/mnt); m2=$(readlink /proc/"$ctl"/ns/mnt); m3=$(readlink /proc/"$init"/ns/mnt)
	f=$(stat -L -c %d "$d.$meminfo_src" 2>&1); g=$(stat -L -c %d "/proc/$init/root/proc/meminfo" 2>&1)
	mi=$(nsenter -t "$init" -m -p cat /proc/meminfo 2>&1 | tr '\n' ' ')
	if [ "$a" = "$b" ] && [ "$c" = "$e" ] && [ "$a" != "$c" ] && [ -e "$d.devpts/ptmx" ] &&
	   [ "$f" = "$g" ] && [ "$mi" = "$meminfo_want" ] &&
	   [ "$m1" != "$m2" ] && [ "$m2" != "$m3" ] &&
	   [ "$(stat -f -c %T "$d.dev")" = tmpfs ] && [ "$(stat -f -c %T "$d.devpts")" = devpts ]; then
		ok "$1: the controller's own mount namespace has $name.dev, $name.devpts (and $name.$meminfo_src), the container's /dev, /dev/pts and /proc/meminfo (devices $a, $c, $f)"
	else
		not_ok "$1: the controller's own mount namespace has $name.dev, $name.devpts (and $name.$meminfo_src), the container's /dev, /dev/pts and /proc/meminfo" \
			"dev $a vs $b, devpts $c vs $e, fuse $f vs $g ($mi); mount ns: ours $m1, controller $m2, init $m3"
	fi
}

# A line into the console through the controller's relay, run by the
# container's shell, its output back in the console log.
console_check() { # console_check WHAT TAG
	local want="ctl-$2-$((6 * 7))"
	printf 'echo ctl-%s-$((6 * 7)); hostname\n' "$2" >"$work/console.in"
	if eventually grep -q "^$want" "$work/console.log"; then
		ok "$1: the console: a command written through the controller ran in the container's shell ($want)"
	else
		not_ok "$1: the console: a command written through the controller ran in the container's shell" \
			"$(tail -n 5 "$work/console.log" | cat -A)"
	fi
}

# /dev/console inside is the console pty: a line written to it shows in
# the console log (a bind on a stand-in pty would swallow it or fail).
devconsole_check() { # devconsole_check WHAT TAG
	local out
	out=$(nsenter -t "$init" -m sh -c "echo ctl-devconsole-$2 >/dev/console" 2>&1)
	if eventually grep -q "ctl-devconsole-$2" "$work/console.log"; then
		ok "$1: /dev/console inside is the console pty the controller relays"
	else
		not_ok "$1: /dev/console inside is the console pty the controller relays" "${out:-written}" \
			"$(awk '$5 == "/dev/console"' /proc/"$init"/mountinfo)"
	fi
}


net_check() { # net_check WHAT
	local a h
	a=$(nsenter -t "$init" -n ip -4 -o addr show 2>&1 | awk '{ print $2, $4 }' | tr '\n' ' ')
	h=$(ip -o link show dev "$veth" 2>&1)
	if [ "$a" = "lo 127.0.0.1/8 eth0 10.213.11.2/24 " ] && [[ "$h" == *"master $bridge"* ]] &&
	   [[ "$h" == *"state UP"* ]]; then
		ok "$1: eth0 10.213.11.2/24 inside, $veth on $bridge and up"
	else
		not_ok "$1: eth0 10.213.11.2/24 inside, $veth on $bridge and up" "inside: $a" "host: $h"
	fi
}

same_view() { # same_view WHAT
	local v
	v=$(view)
	if [ "$v" = "$view0" ]; then
		ok "$1: same PIDs (controller $ctl, init $init, ct-state $sp_host), parentage, sessions, descriptors, cgroups, mounts"
	else
		not_ok "$1: same PIDs, parentage, sessions, descriptors, cgroups, mounts" \
			"$(diff <(echo "$view0") <(echo "$v"))"
	fi
}

# The controller's monitor socket (libvirt's NAME.sock) listens at its path
# and is the controller's (a connection would sit in its backlog, which a
# dump refuses: /proc/net/unix says it all).
monitor_check() { # monitor_check WHAT
	local ino fds
	ino=$(awk -v p="$work/ctl.sock" '$8 == p && $4 == "00010000" && $6 == "01" { print $7 }' /proc/net/unix)
	fds=$(for f in /proc/"$ctl"/fd/*; do readlink "$f"; done)
	if [ -n "$ino" ] && grep -qx "socket:\[$ino\]" <<<"$fds"; then
		ok "$1: the controller's monitor socket listens at its path"
	else
		not_ok "$1: the controller's monitor socket listens at its path" "inode '${ino}'" "$fds"
	fi
}

# The controller's mount namespace is a slave of ours (lxc-cr's): a mount
# made here shows there, and its / has a master.
prop_check() { # prop_check WHAT
	local seen r
	mkdir -p "$work/prop"
	mount -t tmpfs ctlprop "$work/prop"
	seen=$(awk -v p="$work/prop" '$5 == p' /proc/"$ctl"/mountinfo | wc -l)
	umount "$work/prop"
	r=$(awk '$5 == "/" { for (i = 7; $i != "-"; i++) if ($i ~ /^master:/) print "slave" }' /proc/"$ctl"/mountinfo)
	if [ "$seen" = 1 ] && [ "$r" = slave ]; then
		ok "$1: the controller's mount namespace is a slave of lxc-cr's (a mount made there shows in it)"
	else
		not_ok "$1: the controller's mount namespace is a slave of lxc-cr's" "seen $seen, / '$r'" \
			"$(awk '$5 == "/"' /proc/"$ctl"/mountinfo)"
	fi
}

checks() { # checks WHAT TAG
	same_view "$1"
	prop_check "$1"
	monitor_check "$1"
	sb_check "$1"
	console_check "$1" "$2"
	devconsole_check "$1" "$2"
	ct_state_check "$1"
	net_check "$1"
}

view0=$(view)
sb_check "before any dump"
prop_check "before any dump"
console_check "before any dump" 0
devconsole_check "before any dump" 0
ct_state_check "before any dump"
net_check "before any dump"
if ! grep -q "controller leads no session: yes" <<<"$view0" || ! grep -q "^init sid/pgrp (inside) 1 1$" <<<"$view0"; then
	not_ok "the controller leads no session, init leads its own" "$view0"
else
	ok "the controller leads no session, init leads its own"
fi

gen=0
dump() { # dump WHAT [ARGS...]
	local what=$1 img
	shift
	gen=$((gen + 1))
	img=$work/img$gen
	mkdir -p "$img"
	if out=$("$lxc_cr" dump -t "$ctl" --shell-job -D "$img" -o dump.log -v4 "$@" 2>&1); then
		ok "$what: dump rooted at the controller $ctl"
	else
		not_ok "$what: dump rooted at the controller $ctl" "$out" "$(grep -i 'error\|not supported' "$img/dump.log" | head -n 5)"
		echo "Bail out! dump failed"
		exit 1
	fi
}
wait_gone() { # wait until the dumped tree and its veth are gone
	local i
	for i in $(seq 100); do
		alive "$ctl" || alive "$init" || ip link show dev "$veth" >/dev/null 2>&1 || return 0
		sleep 0.05
	done
	return 1
}
restore() { # restore WHAT [ARGS...]: lxc-cr stays the controller's parent
	local what=$1 img=$work/img$gen
	shift
	rm -f "$work/rst.pid"
	"$lxc_cr" restore --shell-job -D "$img" -o restore.log -v4 --pidfile "$work/rst.pid" \
		--external "veth[eth0]:$veth@$bridge" "$@" </dev/null >"$work/restore.out" 2>&1 &
	rst=$!
	if eventually test -s "$work/rst.pid" && [ "$(cat "$work/rst.pid")" = "$ctl" ] && alive "$ctl"; then
		ok "$what: restore (the controller is $ctl again)"
	else
		not_ok "$what: restore" "$(cat "$work/restore.out")" "$(grep -i 'error\|cannot' "$img/restore.log" | head -n 10)"
		echo "Bail out! restore failed"
		exit 1
	fi
}

# 1: --leave-running: the tree goes on as if nothing happened
dump "leave-running" --leave-running
checks "after a --leave-running dump" 1

# 2: dump (the tree is killed), restore
dump "first"
if wait_gone; then ok "first: the dumped controller, container and veth are gone"
else not_ok "first: the dumped controller, container and veth are gone"; fi
restore "first"
checks "first" 2

# 3: the restored tree again
dump "second"
wait_gone
wait "$rst" 2>/dev/null
restore "second"
checks "second" 3

# 4: restores that fail leave nothing behind, and the images still restore
dump "third"
wait_gone
wait "$rst" 2>/dev/null
rst=
mounts_before=$(wc -l </proc/self/mountinfo)
nothing_left() { # nothing_left WHAT
	local l=() d
	procs_of_mark >/dev/null && l+=("ct-state still runs: $(procs_of_mark)")
	alive "$ctl" && l+=("the controller $ctl still runs")
	alive "$init" && l+=("init $init still runs")
	[ "$(wc -l </proc/self/mountinfo)" = "$mounts_before" ] || l+=("mounts: $(diff <(echo "$mounts_before") <(wc -l </proc/self/mountinfo))")
	grep -q "lxc-cr-ct/$name" /proc/self/mountinfo && l+=("a mount of $name in our namespace")
	ip link show dev "$veth" >/dev/null 2>&1 && l+=("the host end $veth")
	for d in "${cgdirs[@]}"; do [ -s "$d/cgroup.procs" ] && l+=("processes in $d"); done
	if [ ${#l[@]} = 0 ]; then ok "$1: nothing left (processes, mounts, cgroups, netdevs)"
	else not_ok "$1: nothing left (processes, mounts, cgroups, netdevs)" "${l[@]}"; fi
}
for fault in after-mounts in-root after-fork; do
	LXC_CR_FAULT=$fault "$lxc_cr" restore --shell-job -D "$work/img$gen" -o "restore-$fault.log" -v4 \
		--external "veth[eth0]:$veth@$bridge" </dev/null >"$work/restore.out" 2>&1
	rc=$?
	if [ $rc != 0 ] && grep -qi "$fault" "$work/restore.out" "$work/img$gen/restore-$fault.log"; then
		ok "fault $fault: the restore fails: $(head -n 1 "$work/restore.out")"
	else
		not_ok "fault $fault: the restore fails naming the point" "rc $rc" "$(cat "$work/restore.out")"
	fi
	sleep 0.3
	nothing_left "fault $fault"
done
# damaged: ns.img with a field appended (protobuf keeps the last), refused
# while the images are read, before anything exists
damage() { # damage DIR HEXBYTES: append the bytes to ns.img's one record
	python3 - "$1/ns.img" "$2" <<'PY'
import struct, sys
p, extra = sys.argv[1], bytes.fromhex(sys.argv[2])
b = open(p, 'rb').read()
n = struct.unpack('<I', b[8:12])[0]
open(p, 'wb').write(b[:8] + struct.pack('<I', n + len(extra)) + b[12:12 + n] + extra + b[12 + n:])
PY
}
varint() { python3 -c 'import sys
v = int(sys.argv[1]); o = b""
while True:
    c = v & 0x7f; v >>= 7
    o += bytes([c | (0x80 if v else 0)])
    if not v: break
print(o.hex())' "$1"; }
if command -v python3 >/dev/null; then
	for bad in "ct_pid the root's:68$(varint "$ctl"):container root" "outer_mnt 3:7003:propagation 3"; do
		what=${bad%%:*}; rest=${bad#*:}; hex=${rest%%:*}; pat=${rest#*:}
		rm -rf "$work/bad" && cp -a "$work/img$gen" "$work/bad" && damage "$work/bad" "$hex"
		"$lxc_cr" restore --shell-job -D "$work/bad" -o restore.log -v4 \
			--external "veth[eth0]:$veth@$bridge" </dev/null >"$work/restore.out" 2>&1
		rc=$?
		if [ $rc != 0 ] && grep -q "$pat" "$work/restore.out"; then
			ok "ns.img with $what: refused: $(head -n 1 "$work/restore.out")"
		else
			not_ok "ns.img with $what: refused naming it" "rc $rc" "$(cat "$work/restore.out")"
		fi
		nothing_left "ns.img with $what"
	done
else
	ok "damaged ns.img # SKIP python3 not found to damage it"
fi

# the last restore puts the container's root filesystem elsewhere (--root
# at a bind of it): the controller's part does not move
mkdir -p "$work/rootfs-other" && mount --bind "$root" "$work/rootfs-other"
restore "after the failures, --root elsewhere" --root "$work/rootfs-other"
r=$(awk '$5 == "/" { print $4 }' /proc/"$init"/mountinfo)
if [ "$r" = "$root" ]; then ok "after the failures: the container's root is $work/rootfs-other (a bind of $root)"
else not_ok "after the failures: the container's root is $work/rootfs-other (a bind of $root)" "root of / is '$r'"; fi
checks "after the failures" 4

# 5: SIGTERM to the restored controller: it stops the container, removes
# its veth, cgroups and state directories, and exits
kill -TERM "$ctl"
wait "$rst" 2>/dev/null
rc=$?
rst=
left=()
alive "$ctl" && left+=("the controller $ctl")
alive "$init" && left+=("init $init")
procs_of_mark >/dev/null && left+=("ct-state")
ip link show dev "$veth" >/dev/null 2>&1 && left+=("the host end $veth")
for d in "${cgdirs[@]}"; do [ -d "$d" ] && left+=("cgroup $d"); done
[ -e /run/lxc-cr-ct/"$name" ] && left+=("/run/lxc-cr-ct/$name")
if [ ${#left[@]} = 0 ] && [ "$rc" = 0 ]; then
	ok "SIGTERM to the restored controller: it stopped the container and left nothing (status 0)"
else
	not_ok "SIGTERM to the restored controller stops everything and leaves nothing" "status $rc" "${left[@]}" \
		"$(cat "$work/launch.log")"
fi
ctl=
init=

# 6: a mount lxc-cr has and the controller lacks (made after the controller
# copied lxc-cr's namespace, private this time) over the controller's state
# directory would change what it sees there once restored: refused by name,
# the tree goes on
pname=${name}p
"$launch" --name "$pname" --rootfs "$root" --pidfile "$work/pinit.pid" --no-cgroups \
	-- /bin/sh -c 'while :; do sleep 1; done' </dev/null >"$work/plaunch.log" 2>&1 &
ctl=$!
disown "$ctl"
if eventually test -s "$work/pinit.pid"; then
	init=$(cat "$work/pinit.pid")
	mount -t tmpfs ctlcover /run/lxc-cr-ct/"$pname"
	mkdir -p "$work/img-cover"
	out=$("$lxc_cr" dump -t "$ctl" --shell-job --leave-running -D "$work/img-cover" -o dump.log -v4 2>&1)
	rc=$?
	umount /run/lxc-cr-ct/"$pname"
	if [ $rc != 0 ] && [[ "$out" == *"mount /run/lxc-cr-ct/$pname"*"is not in its mount namespace and would cover its own /run/lxc-cr-ct/$pname/$pname.dev"* ]] &&
	   alive "$ctl" && alive "$init"; then
		ok "a mount of lxc-cr's over the controller's state directory, not in its namespace: refused, the tree goes on: ${out#*failed: }"
	else
		not_ok "a mount of lxc-cr's over the controller's state directory is refused by name" "rc $rc" "$out"
	fi
	kill -TERM "$ctl"
	for _ in $(seq 50); do alive "$ctl" || break; sleep 0.1; done
	alive "$ctl" && not_ok "the second controller stops on SIGTERM"
else
	not_ok "a second controller (private mount namespace) starts" "$(cat "$work/plaunch.log")"
fi
ctl=
init=

echo "1..$n"
[ "$failed" = 0 ]
