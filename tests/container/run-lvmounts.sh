#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Checkpoint/restore of a container with exactly libvirt 9.0.0's LXC mounts
# (TAP). ct-launch --libvirt-mounts builds them in libvirt's order (see its
# header): /dev/pts listed before its parent /dev, a pivoted root, /proc,
# /proc/sys a ro bind, /proc/sys/net/ipv{4,6} binds from the host's proc,
# ro /sys, /proc/meminfo a file bind (of the controller's /dev tmpfs here,
# libvirt's is FUSE), /sys/fs/cgroup a tmpfs with the v1 hierarchies bound,
# /dev/ptmx, /dev/tty1, /dev/console file binds of the devpts instance.
# Its init (a shell) runs ct-state with its libvirt checks (TMPDIR /dev, the
# controller's tmpfs: no mount of its own is added) and counts. Then:
#   dump by init's PID, restore: ct-state checks itself; the mount tree
#     (mountpoints, roots, types, sources, options, each mount's children in
#     mountinfo order) is the one before;
#   dump again from a mount namespace without cgroup2 (as libvirtd.sh runs
#     the daemon: the tree is at the root of cgroup2, which is left out),
#     restore: the same, and mountinfo's whole order is the first restore's;
#   a process in a cgroup2 cgroup (not the root) is refused from there,
#     naming the cgroup, and keeps running.
# The first restore does not list the mounts in the order libvirt made
# them (proc and sysfs are mounted by the restored init after the rest; the
# cgroup binds are detached copies made before): it prints both orders.
# /dev/tty1 and /dev/console are bound on the console's pty, whose master
# the controller held outside the tree: after a restore they are bound on a
# hung-up pty of the same index (mountinfo says "/0//deleted"), as the
# engine documents; the comparison drops that suffix and says so.
#   two restores that fail (faults injected where the namespace is built and
#     in the restored init) leave no process and no mount;
#   a second container keeps libvirt's console too (init's stdio on the pty
#     bound on /dev/tty1 and /dev/console, its master held by ct-launch):
#     dumped with --external tty[RDEV:DEV] and restored twice onto a new pty
#     (--inherit-fd) on which its ticks go on, with the same mount tree.
# --no-cgroups, and --no-console-stdio for the first: the containers need
# no controller to be restored (ct-launch's cgroups are tested in run-cr.sh).
#
# Usage: run-lvmounts.sh   (from the build directory, as `make check` runs it)
# Env: LXC_CR, CT_LAUNCH, CT_STATE (defaults: in the build directory),
# CT_CR_KEEP=1 keeps the work dir. Needs root, busybox-static, cgroup v1.

set -u

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

. "$srcdir/lib.sh"
ct_tap_require
ct_tap_bins "launch=${CT_LAUNCH:-}:tests/container/ct-launch" "state=${CT_STATE:-}:tests/container/ct-state" "lxc_cr=${LXC_CR:-}:src/lxc-cr"
ct_close_stray_fds

work=$(mktemp -d /tmp/ct-lvm.XXXXXX)
name=ctlvm$$
mark=ctlvmmark$$
root=$work/rootfs
n=0
failed=0
init=
rst=
cg2=
sleeper=

procs_of_mark() { pgrep -f "ct-state /var/ctstate /dev $mark"; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && [ "$(awk '/^State:/ {print $2}' /proc/"$1"/status 2>/dev/null)" != Z ]; }

cleanup() {
	[ -n "$init" ] && kill -KILL "$init" 2>/dev/null
	[ -n "$sleeper" ] && kill -KILL "$sleeper" 2>/dev/null
	[ -n "$rst" ] && wait "$rst" 2>/dev/null
	wait 2>/dev/null
	[ -n "$cg2" ] && rmdir "$cg2" 2>/dev/null
	if [ -n "${CT_CR_KEEP:-}" ]; then
		echo "# kept $work"
	else
		rm -rf "$work"
	fi
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
/usr/local/bin/ct-state /var/ctstate /dev $mark libvirt &
exec 3>>/var/ctstate/count
i=0
while :; do i=\$((i + 1)); echo \$i >&3; sleep 0.1; done
EOF
chmod 755 "$root/ct-init.sh"

"$launch" --name "$name" --rootfs "$root" --libvirt-mounts --no-console-stdio --no-cgroups \
	--pidfile "$work/init.pid" -- /bin/sh /ct-init.sh </dev/null >"$work/launch.log" 2>&1 &
ctl=$!
if eventually test -e "$root/var/ctstate/ct-state.ready"; then
	ok "the container starts with libvirt's mounts, ct-state is ready"
else
	not_ok "the container starts with libvirt's mounts, ct-state is ready" \
		"$(cat "$work/launch.log" "$root/var/ctstate/result" 2>&1)"
	echo "Bail out! the container did not start"
	kill -TERM $ctl
	exit 1
fi
init=$(cat "$work/init.pid")

# mountinfo as "mountpoint root options - type source superblock options",
# ids and devices left out, the console's "//deleted" dropped
mi_lines() { # mi_lines PID
	awk '{ sep = 0; for (i = 7; $i != "-"; i++); print $5, $4, $6, "-", $(i+1), $(i+2), $(i+3) }' \
		/proc/"$1"/mountinfo | sed 's|//deleted | |'
}
# The mount tree from init's root: each mount, then its children in
# mountinfo's order, indented by depth.
mi_tree() { # mi_tree PID
	awk '{ for (i = 7; $i != "-"; i++); r = $4; sub("//deleted$", "", r)
	       id[NR] = $1; par[NR] = $2; line[NR] = $5 " " r " " $6 " - " $(i+1) " " $(i+2) " " $(i+3)
	       known[$1] = 1 }
	     function walk(k, d,   j, pad) {
		pad = ""; for (j = 0; j < d; j++) pad = pad "  "
		print pad line[k]
		for (j = 1; j <= NR; j++) if (par[j] == id[k]) walk(j, d + 1)
	     }
	     END { for (k = 1; k <= NR; k++) if (!(par[k] in known)) walk(k, 0) }' /proc/"$1"/mountinfo
}

# The libvirt layout is there, as libvirt makes it (checked on the launch).
layout_check() { # layout_check WHAT
	local first
	first=$(awk 'NR <= 2 { print $5 }' /proc/"$init"/mountinfo | tr '\n' ' ')
	if [ "$1" != "before any dump" ] || [ "$first" = "/dev/pts /dev " ]; then
		ok "$1: mountinfo$([ "$1" = "before any dump" ] && echo " lists /dev/pts before its parent /dev, as libvirt's")"
	else
		not_ok "$1: mountinfo lists /dev/pts before its parent /dev, as libvirt's" "first mounts: $first"
	fi
}



tree_check() { # tree_check WHAT
	local t
	t=$(mi_tree "$init")
	if [ "$t" = "$tree0" ]; then
		ok "$1: the mount tree is the one before ($(wc -l <<<"$t") mounts: points, roots, types, sources, options, children's order; the console's //deleted dropped)"
	else
		not_ok "$1: the mount tree is the one before" "$(diff <(echo "$tree0") <(echo "$t"))"
	fi
}

layout_check "before any dump"
ct_state_check "before any dump" "with libvirt's mounts"
tree0=$(mi_tree "$init")
flat0=$(mi_lines "$init")
echo "# mountinfo before any dump (ids and devices left out):"
sed 's/^/#   /' <<<"$flat0"

gen=0
dump() { # dump WHAT [WRAPPER...]: dump the running container into img$gen
	local what=$1 img
	shift
	gen=$((gen + 1))
	img=$work/img$gen
	mkdir -p "$img"
	if out=$("$@" "$lxc_cr" dump -t "$init" -D "$img" -o dump.log -v4 2>&1) &&
	   ! eventually_dead "$init"; then
		ok "$what: dump by init's PID"
	else
		not_ok "$what: dump by init's PID" "$out" "$(tail -n 15 "$img/dump.log" 2>/dev/null)"
		echo "Bail out! dump failed"
		exit 1
	fi
	[ -n "$rst" ] && wait "$rst" 2>/dev/null
	rst=
	init=
}
restore() { # restore WHAT: restore img$gen, lxc-cr staying as init's parent
	local what=$1 img=$work/img$gen
	rm -f "$work/rst.pid"
	"$lxc_cr" restore -D "$img" -o restore.log -v4 --pidfile "$work/rst.pid" \
		</dev/null >"$work/restore.out" 2>&1 &
	rst=$!
	if eventually test -s "$work/rst.pid" && alive "$(cat "$work/rst.pid")"; then
		init=$(cat "$work/rst.pid")
		ok "$what: restore"
	else
		not_ok "$what: restore" "$(cat "$work/restore.out")" "$(tail -n 15 "$img/restore.log")"
		echo "Bail out! restore failed"
		exit 1
	fi
}

# 1: dump, restore
dump "first"
wait $ctl
ok "first: the controller saw init die and left (status $?)"
if grep -q "mount /proc/sys/net/ipv4: /sys/net/ipv4 of a proc that is not the tree's" "$work/img1/dump.log"; then
	ok "first: /proc/sys/net/ipv4 (of the host's proc) is saved as a bind of the container's own proc"
else
	not_ok "first: /proc/sys/net/ipv4 (of the host's proc) is saved as a bind of the container's own proc" \
		"$(grep 'mount /proc/sys' "$work/img1/dump.log")"
fi
restore "first"
tree_check "first"
ct_state_check "first" "with libvirt's mounts"
sleep 0.3
ct_count_check "first"
flat1=$(mi_lines "$init")
if [ "$flat1" = "$flat0" ]; then
	ok "first: mountinfo lists the mounts in libvirt's order"
else
	echo "# first: mountinfo's order after the restore (the tree is the same; proc and sysfs"
	echo "# are mounted by the restored init after the others):"
	sed 's/^/#   /' <<<"$flat1"
fi

# 2: dump from a mount namespace without cgroup2, as libvirtd runs
if grep -q ' /sys/fs/cgroup/unified .* - cgroup2 ' /proc/self/mountinfo; then
	nocg2=(unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh)
	what="second, from a mount namespace without cgroup2"
else
	nocg2=()
	what="second (cgroup2 is not mounted here already)"
fi
dump "$what" "${nocg2[@]}"
if [ ${#nocg2[@]} = 0 ] || grep -q "cgroup hierarchy 'cgroup2' is not mounted where lxc-cr runs and pid [0-9]* is at its root: left out" "$work/img2/dump.log"; then
	ok "second: the tree at the root of cgroup2, not mounted there, is accepted (left out)"
else
	not_ok "second: the tree at the root of cgroup2, not mounted there, is accepted (left out)" \
		"$(grep -i cgroup "$work/img2/dump.log" | tail -n 5)"
fi
# failed restores (a fault where the namespace is built; one in the
# restored init, after its proc, sysfs and binds): nothing is left
fail_restore() { # fail_restore FAULT
	local rc mounts_after left=()
	LXC_CR_FAULT=$1 "$lxc_cr" restore -D "$work/img$gen" -o "restore-$1.log" -v4 \
		</dev/null >"$work/restore.out" 2>&1
	rc=$?
	sleep 0.3
	procs_of_mark >/dev/null && left+=("ct-state runs: $(procs_of_mark)")
	mounts_after=$(wc -l </proc/self/mountinfo)
	[ "$mounts_after" = "$mounts_before" ] || left+=("lxc-cr's mounts: $mounts_before before, $mounts_after after")
	# a fault in a restored task is told in the log, the command says the task failed
	if [ $rc != 0 ] && grep -q "fault injected at '$1'" "$work/img$gen/restore-$1.log" && [ ${#left[@]} = 0 ]; then
		ok "a restore failing at '$1' leaves no process and no mount: $(head -n 1 "$work/restore.out")"
	else
		not_ok "a restore failing at '$1' leaves no process and no mount" "rc $rc: $(cat "$work/restore.out")" "${left[@]}"
	fi
}
mounts_before=$(wc -l </proc/self/mountinfo)
fail_restore after-mounts
fail_restore in-root

restore "second"
tree_check "second"
ct_state_check "second" "with libvirt's mounts"
sleep 0.3
ct_count_check "second"
flat2=$(mi_lines "$init")
if [ "$flat2" = "$flat1" ]; then
	ok "second: mountinfo's whole order is the first restore's"
else
	not_ok "second: mountinfo's whole order is the first restore's" "$(diff <(echo "$flat1") <(echo "$flat2"))"
fi

# 3: a process in a cgroup of cgroup2 lxc-cr cannot see is refused, by name
if [ ${#nocg2[@]} != 0 ] && [ -d /sys/fs/cgroup/unified ]; then
	cg2=/sys/fs/cgroup/unified/cmtlvm$$
	mkdir "$cg2"
	# in the namespace without cgroup2, as lxc-cr (its mounts are not the
	# tree's own then); into the cgroup from here, where cgroup2 is mounted
	"${nocg2[@]}" setsid sleep 600 </dev/null >/dev/null 2>&1 &
	sleeper=$!
	eventually sh -c "grep -q sleep /proc/$sleeper/comm" &&
		echo "$sleeper" >"$cg2/cgroup.procs"
	mkdir -p "$work/img-cg2"
	out=$(nsenter -t "$sleeper" -m "$lxc_cr" dump --leave-running -t "$sleeper" -D "$work/img-cg2" 2>&1)
	rc=$?
	if [ $rc != 0 ] && [[ "$out" == *"is in cgroup /cmtlvm$$ of hierarchy 'cgroup2', which is not mounted where lxc-cr runs; not supported"* ]] &&
	   alive "$sleeper"; then
		ok "a task in cgroup2's /cmtlvm$$, not mounted there, is refused naming it, and runs on: ${out%%$'\n'*}"
	else
		not_ok "a task in cgroup2's /cmtlvm$$, not mounted there, is refused naming it, and runs on" \
			"rc $rc: $out" "alive: $(alive "$sleeper" && echo yes || echo no)"
	fi
	kill -KILL "$sleeper"
	wait "$sleeper" 2>/dev/null
	sleeper=
	rmdir "$cg2" && cg2=
else
	echo "# SKIP: no cgroup2 at /sys/fs/cgroup/unified here: the refusal of a task in one of its cgroups is not tested"
fi

kill -KILL "$init"
wait "$rst" 2>/dev/null
rst=
init=

# 4: the console as libvirt has it, with its mounts: init's stdio and
# controlling terminal are the console pty (/dev/pts/0, also bound on
# /dev/tty1 and /dev/console), its master held by ct-launch. Dumped with
# --external tty[RDEV:DEV], restored onto a new pty handed in with
# --inherit-fd, whose holder sees the ticks go on; /dev/tty1 and
# /dev/console are still binds of one pty of /dev/pts.
cname=ctlvc$$
croot=$work/rootfs-console
mkdir -p "$croot"
"$srcdir/mkrootfs.sh" --hostname "$cname" "$croot" >/dev/null 2>&1 || not_ok "console: rootfs"
echo 'i=0; while :; do i=$((i + 1)); echo "tick $i $(tty)"; sleep 0.1; done' >"$croot/tick.sh"
"$launch" --name "$cname" --rootfs "$croot" --libvirt-mounts --console-log "$work/console.log" --no-cgroups \
	--pidfile "$work/cinit.pid" -- /bin/sh /tick.sh </dev/null >"$work/claunch.log" 2>&1 &
cctl=$!
if eventually grep -q "tick 3 " "$work/console.log"; then
	ok "console: the container with libvirt's mounts ticks on its console"
else
	not_ok "console: the container with libvirt's mounts ticks on its console" "$(cat "$work/claunch.log" "$work/console.log")"
fi
init=$(cat "$work/cinit.pid" 2>/dev/null)
# /dev/tty1 and /dev/console: one pty of /dev/pts, index 0 (136:0)
console_binds() { # console_binds WHAT
	local out
	out=$(nsenter -t "$init" -m stat -c '%n %d %i %t:%T' /dev/pts /dev/tty1 /dev/console 2>&1 |
		awk '{ d[NR] = $2; i[NR] = $3; r[NR] = $4 }
		     END { print (d[1] == d[2] && d[2] == d[3] && i[2] == i[3] && r[2] == "88:0") ? "same" : "differ" }')
	if [ "$out" = same ]; then ok "$1: /dev/tty1 and /dev/console are one pty (136:0) of /dev/pts"
	else not_ok "$1: /dev/tty1 and /dev/console are one pty (136:0) of /dev/pts" \
		"$(nsenter -t "$init" -m stat -c '%n %d %i %t:%T' /dev/pts /dev/tty1 /dev/console 2>&1)"; fi
}
console_binds "console, before any dump"
ctree0=$(mi_tree "$init")
holders=()
console_gen() { # console_gen N
	local img=$work/cimg$1 log=$work/holder$1.log last key
	# tty[RDEV:DEV] of init's fd 0: the container's console, then the new pty
	key=$(printf 'tty[%x:%s]' $(( (0x$(stat -L -c %t /proc/"$init"/fd/0) << 8) | 0x$(stat -L -c %T /proc/"$init"/fd/0) )) \
		"$(stat -L -c %D /proc/"$init"/fd/0)")
	mkdir -p "$img"
	if out=$("$lxc_cr" dump -t "$init" -D "$img" -o dump.log -v4 --external "$key" 2>&1) &&
	   ! eventually_dead "$init"; then
		ok "console $1: dump with --external $key"
	else
		not_ok "console $1: dump with --external $key" "$out" "$(tail -n 5 "$img/dump.log")"
		return 1
	fi
	last=$(cat "$work/console.log" "$work"/holder*.log 2>/dev/null | grep -ao 'tick [0-9]*' | awk '{ print $2 }' | sort -n | tail -n 1)
	rm -f "$work/crst.pid"
	ct_pty_holder "$log" "$work/crst.pid" "$lxc_cr" restore -D "$img" -o restore.log -v4 --pidfile "$work/crst.pid" \
		--inherit-fd "fd[7]:$key"
	holders+=($!)
	if eventually grep -q "^RESTORE 0" "$log" && init=$(cat "$work/crst.pid") &&
	   eventually grep -q "tick $((last + 2)) " "$log"; then
		ok "console $1: restored onto a new pty: the ticks go on from $((last + 1)) there"
	else
		not_ok "console $1: restored onto a new pty: the ticks go on from $((last + 1)) there" \
			"$(head -c 300 "$log")" "$(tail -n 5 "$img/restore.log")"
		return 1
	fi
	console_binds "console $1"
	local t
	t=$(mi_tree "$init")
	if [ "$t" = "$ctree0" ]; then ok "console $1: the mount tree is the one before"
	else not_ok "console $1: the mount tree is the one before" "$(diff <(echo "$ctree0") <(echo "$t"))"; fi
}
console_gen 1 && { wait $cctl; true; } && console_gen 2
[ -n "$init" ] && kill -KILL "$init" 2>/dev/null
for h in "${holders[@]}"; do wait "$h" 2>/dev/null; done
init=

echo "1..$n"
[ $failed = 0 ]
