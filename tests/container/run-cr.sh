#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Checkpoint/restore of a whole container (TAP): ct-launch starts a busybox
# container the way libvirt's LXC driver does (pivot_root into its rootfs,
# /dev a tmpfs with device nodes, its own devpts, /dev/console bound from
# it, ro /sys, new pid/mnt/uts/ipc/net namespaces, eth0 a veth whose host
# end is on a bridge; restored with --external veth[eth0]:HOST@BRIDGE).
# Inside, a shell init
# mounts a tmpfs on /dev/shm, starts ct-state (files on the root and the
# tmpfs, a deleted file, a pty pair of the container's devpts, UNIX sockets,
# a pipe, a counter) and counts into a file. Then:
#   (every mount shared, a peer and a slave bind of /dev/shm, libvirt's
#   /sys/fs/cgroup from ct-launch --cgroup-mounts, cgroup hierarchies the
#   container mounted itself, one ro, an overlay with
#   its lower layer on the root and its upper on the tmpfs);
#   dump by init's PID, restore: PIDs inside the namespace are the same,
#     every piece of state is intact (ct-state checks itself), the count
#     goes on without a gap;
#   dump again, restore with --root at another path (a bind of the rootfs);
#   dump again, restore (a third generation);
#   dump, then two restores that must fail (--root an empty directory; one
#     of the tree's cgroups holds another process): no process, mount or
#     cgroup left, and the images still restore afterwards;
#   dump, copy the rootfs, restore with --root at the copy;
#   then a container whose console is init's stdio and controlling terminal
#   (its master held by ct-launch): dumped with --external tty[RDEV:DEV] and
#   restored twice onto a new pty (--inherit-fd) whose holder sees the ticks
#   go on.
# The first container's init has /dev/null as stdio (ct-launch
# --no-console-stdio); the last one has the console.
#
# Usage: run-cr.sh   (from the build directory, as `make check` runs it)
# Env: LXC_CR, CT_LAUNCH, CT_STATE (defaults: in the build directory),
# CT_CR_KEEP=1 keeps the work dir. Needs root, busybox-static, cgroup v1.

set -u

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

. "$srcdir/lib.sh"
ct_tap_require
ct_tap_bins "launch=${CT_LAUNCH:-}:tests/container/ct-launch" "state=${CT_STATE:-}:tests/container/ct-state" "lxc_cr=${LXC_CR:-}:src/lxc-cr"
ct_close_stray_fds

work=$(mktemp -d /tmp/ct-cr.XXXXXX)
name=ctcr$$
mark=ctcrmark$$
bridge=ctcrb$$
veth=ctcrv$$
root=$work/rootfs
root2=$work/rootfs-other
n=0
failed=0
init=
rst=
cgdirs=()


# The host PIDs of the container's processes, and ct-state's.
procs_of_mark() { pgrep -f "ct-state /var/ctstate /dev/shm $mark" ; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && [ "$(awk '/^State:/ {print $2}' /proc/"$1"/status 2>/dev/null)" != Z ]; }

cleanup() {
	[ -n "$init" ] && kill -KILL "$init" 2>/dev/null
	[ -n "$rst" ] && wait "$rst" 2>/dev/null
	wait 2>/dev/null
	mountpoint -q "$root2" 2>/dev/null && umount "$root2"
	ip link del dev "$bridge" 2>/dev/null
	for d in "${cgdirs[@]}"; do rmdir "$d" 2>/dev/null; done
	if [ -n "${CT_CR_KEEP:-}" ]; then
		echo "# kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT


mkdir -p "$root2" "$work/empty"
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
# every mount shared (as systemd leaves them), a peer and a slave of /dev/shm
mount --make-rshared / &&
mkdir -p /dev/shm /run/shm-peer /run/shm-slave &&
mount -t tmpfs -o size=4m,mode=1777 shm /dev/shm &&
mount --bind /dev/shm /run/shm-peer &&
mount --bind /dev/shm /run/shm-slave &&
mount --make-slave /run/shm-slave || echo "mount failed" >/var/ctstate/init.err
# cgroup hierarchies mounted by the container itself (ct-launch gave it
# libvirt's /sys/fs/cgroup, binds of its cgroup directories, too)
mkdir -p /run/cg/memory /run/cg/freezer &&
mount -t cgroup -o memory cgroup /run/cg/memory &&
mount -t cgroup -o ro,freezer cgroup /run/cg/freezer &&
ln -sfn memory /run/cg/mem || echo "cgroup mounts failed" >/var/ctstate/init.err
# an overlay: lower on the root, upper and work on the tmpfs, a whiteout
mkdir -p /var/ctovl/lower /var/ctovl/merged /dev/shm/ovl-upper /dev/shm/ovl-work &&
echo lower >/var/ctovl/lower/a && echo doomed >/var/ctovl/lower/c &&
mount -t overlay ovl -o lowerdir=/var/ctovl/lower,upperdir=/dev/shm/ovl-upper,workdir=/dev/shm/ovl-work /var/ctovl/merged &&
echo upper >/var/ctovl/merged/b && rm /var/ctovl/merged/c || echo "overlay failed" >/var/ctstate/init.err
/usr/local/bin/ct-state /var/ctstate /dev/shm $mark &
exec 3>>/var/ctstate/count
i=0
while :; do i=\$((i + 1)); echo \$i >&3; sleep 0.1; done
EOF
chmod 755 "$root/ct-init.sh"

# eth0 is one end of a veth whose host end is on a bridge, as libvirt makes it
if ! ip link add "$bridge" type bridge || ! ip link set "$bridge" up; then
	echo "Bail out! cannot create the bridge $bridge"
	exit 1
fi
"$launch" --name "$name" --rootfs "$root" --no-console-stdio --cgroup-mounts --pidfile "$work/init.pid" \
	--veth-host "$veth" --bridge "$bridge" --ip 10.213.7.2/24 \
	-- /bin/sh /ct-init.sh </dev/null >"$work/launch.log" 2>&1 &
ctl=$!
if eventually test -e "$root/var/ctstate/ct-state.ready"; then
	ok "the container starts, ct-state is ready"
else
	not_ok "the container starts, ct-state is ready" "$(cat "$work/launch.log" "$root/var/ctstate/result" 2>&1)"
	echo "Bail out! the container did not start"
	kill -TERM $ctl
	exit 1
fi
init=$(cat "$work/init.pid")
inner=$(cat "$root/var/ctstate/ct-state.pid")

# The cgroups ct-launch made (shared with the controller, so not the tree's
# own): a new controller makes them again before a restore; so does this test.
mapfile -t cgdirs < <(ct_cgroup_dirs "$init")
cgdirs_memory_rel=$(awk -F: '$2 == "memory" { print $3 }' /proc/"$init"/cgroup)
make_cgroups() { # make_cgroups [broken]: broken leaves cpuset.cpus empty
	ct_make_cgroups $([ "${1:-}" = broken ] && echo --broken) "${cgdirs[@]}"
}
drop_cgroups() {
	local d
	for d in "${cgdirs[@]}"; do rmdir "$d" 2>/dev/null; done
	return 0
}

# The state of the container as its processes see it, one line each.
ct_view() { # ct_view INITPID
	local p=$1 sp t
	echo "init NSpid $(awk '/^NSpid:/ { print $NF }' /proc/"$p"/status)"
	echo "hostname $(nsenter -t "$p" -u hostname)"
	sp=$(procs_of_mark)
	echo "ct-state NSpid $(awk '/^NSpid:/ { print $NF }' /proc/"$sp"/status 2>/dev/null)"
	echo "init fds $(ls /proc/"$p"/fd | sort -n | tr '\n' ' ')"
	# a descriptor init's shell holds for a moment (busybox saves fds at 10+
	# around a redirection) is gone by the readlink: not part of the view
	for f in /proc/"$p"/fd/*; do t=$(readlink "$f") && echo "init fd ${f##*/} -> $t"; done
	echo "ct-state fds $(ls /proc/"$sp"/fd 2>/dev/null | sort -n | tr '\n' ' ')"
	# peer groups numbered by first appearance: their ids are the kernel's
	awk '{ t = ""; for (i = 7; $i != "-"; i++) t = t " " $i; print "mount " $5 " " $6 t }' \
		/proc/"$p"/mountinfo | sed 's/,relatime//' | sort |
		awk '{ for (i = 4; i <= NF; i++) { split($i, a, ":"); if (!(a[2] in g)) g[a[2]] = ++n; $i = a[1] ":" g[a[2]] } print }'
	nsenter -t "$p" -m ls -ln /dev | awk '{ print "dev " $1 " " $3 " " $4 " " $5 $6 " " $NF }'
}


# The cgroup mounts show the container's cgroup, as they did: libvirt's
# binds of its directories on /sys/fs/cgroup, the hierarchies it mounted.
cg_check() { # cg_check WHAT
	local out want
	want=$(cat "$(printf '%s\n' "${cgdirs[@]}" | grep /memory/)/memory.limit_in_bytes" 2>&1)
	out=$(nsenter -t "$init" -m -p sh -c '
		cat /sys/fs/cgroup/memory/memory.limit_in_bytes
		ls /sys/fs/cgroup/cpu/cpu.shares
		cat /run/cg/mem/'"${cgdirs_memory_rel:-}"'/memory.limit_in_bytes
		touch /run/cg/freezer/x 2>/dev/null && echo writable
		grep -c " /run/cg/freezer ro," /proc/self/mountinfo' 2>&1)
	if [ "$out" = "$want"$'\n'/sys/fs/cgroup/cpu/cpu.shares$'\n'"$want"$'\n'1 ]; then
		ok "$1: cgroups inside: the memory limit through libvirt's /sys/fs/cgroup and a mounted hierarchy, freezer ro"
	else
		not_ok "$1: cgroups inside: the memory limit through libvirt's /sys/fs/cgroup and a mounted hierarchy, freezer ro" \
			"got: $out" "want: $want, cpu.shares, $want, 1"
	fi
}

# The overlay shows its lower file, its upper file and not the one deleted.
ovl_check() { # ovl_check WHAT
	local out
	out=$(nsenter -t "$init" -m -p sh -c '
		cat /var/ctovl/merged/a /var/ctovl/merged/b; [ -e /var/ctovl/merged/c ] || echo gone' 2>&1)
	if [ "$out" = $'lower\nupper\ngone' ]; then ok "$1: overlay (lower on the root, upper on the tmpfs, a whiteout)"
	else not_ok "$1: overlay (lower on the root, upper on the tmpfs, a whiteout)" "got: $out"; fi
}

# eth0 has its address, lo is up, the host end is on the bridge and up.
net_check() { # net_check WHAT
	local a h
	a=$(nsenter -t "$init" -n ip -4 -o addr show 2>&1 | awk '{ print $2, $4 }' | tr '\n' ' ')
	h=$(ip -o link show dev "$veth" 2>&1)
	if [ "$a" = "lo 127.0.0.1/8 eth0 10.213.7.2/24 " ] && [[ "$h" == *"master $bridge"* ]] &&
	   [[ "$h" == *"state UP"* ]]; then
		ok "$1: eth0 10.213.7.2/24 inside, lo up, $veth on $bridge and up"
	else
		not_ok "$1: eth0 10.213.7.2/24 inside, lo up, $veth on $bridge and up" "inside: $a" "host: $h"
	fi
}

# Propagation works as it did: a mount under /dev/shm shows under its peer
# and its slave, one under the slave does not come back.
prop_check() { # prop_check WHAT
	local out
	out=$(nsenter -t "$init" -m -p sh -c '
		mkdir -p /dev/shm/pc /run/shm-slave/own &&
		mount -t tmpfs pc /dev/shm/pc && mount -t tmpfs own /run/shm-slave/own &&
		a=$(grep -c " /run/shm-peer/pc \| /run/shm-slave/pc " /proc/self/mountinfo)
		b=$(grep -c " /dev/shm/own \| /run/shm-peer/own " /proc/self/mountinfo)
		umount /run/shm-slave/own; umount /dev/shm/pc; rmdir /dev/shm/pc /dev/shm/own
		echo "$a $b"' 2>&1)
	if [ "$out" = "2 0" ]; then ok "$1: propagation: shared peer and slave of /dev/shm"
	else not_ok "$1: propagation: shared peer and slave of /dev/shm" "mounts seen at peer+slave, and back from the slave: $out (want 2 0)"; fi
}


ct_state_check "before any dump"
prop_check "before any dump"
cg_check "before any dump"
ovl_check "before any dump"
net_check "before any dump"
view0=$(ct_view "$init")

gen=0
dump() { # dump WHAT: dump the running container into img$gen
	gen=$((gen + 1))
	local img=$work/img$gen
	mkdir -p "$img"
	if out=$("$lxc_cr" dump -t "$init" -D "$img" -o dump.log -v4 2>&1) &&
	   ! eventually_dead "$init"; then
		ok "$1: dump by init's PID"
	else
		not_ok "$1: dump by init's PID" "$out" "$(tail -n 15 "$img/dump.log" 2>/dev/null)"
		echo "Bail out! dump failed"
		exit 1
	fi
	[ -n "$rst" ] && wait "$rst" 2>/dev/null
	rst=
	init=
	# the kernel takes the dead namespace's veth away a moment later
	for _ in $(seq 100); do
		ip link show dev "$veth" >/dev/null 2>&1 || break
		sleep 0.05
	done
}
restore() { # restore WHAT [ARGS...]: restore img$gen, lxc-cr staying as init's parent
	local what=$1 img=$work/img$gen
	shift
	rm -f "$work/rst.pid"
	"$lxc_cr" restore -D "$img" -o restore.log -v4 --pidfile "$work/rst.pid" \
		--external "veth[eth0]:$veth@$bridge" "$@" \
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
same_view() { # same_view WHAT
	local v
	v=$(ct_view "$init")
	if [ "$v" = "$view0" ]; then
		ok "$1: same PIDs inside, hostname, descriptors, mounts and /dev"
	else
		not_ok "$1: same PIDs inside, hostname, descriptors, mounts and /dev" \
			"$(diff <(echo "$view0") <(echo "$v"))"
	fi
}

# 1: dump, restore in place
dump "first"
wait $ctl
ok "first: the controller saw init die and left (status $?)"
make_cgroups || not_ok "cgroups made again"
restore "first"
same_view "first"
ct_state_check "first"
prop_check "first"
cg_check "first"
ovl_check "first"
net_check "first"
sleep 0.3
ct_count_check "first"

# 2: dump, restore with --root at another path
dump "second"
mount --bind "$root" "$root2"
restore "second, --root elsewhere" --root "$root2"
r=$(awk '$5 == "/" { print $4 }' /proc/"$init"/mountinfo)
if [ "$r" = "$root" ]; then ok "second: the root is $root2 (a bind of $root)"
else not_ok "second: the root is $root2 (a bind of $root)" "root of / is '$r'"; fi
same_view "second"
ct_state_check "second"
prop_check "second"
cg_check "second"
ovl_check "second"
net_check "second"
sleep 0.3
ct_count_check "second"

# 3: a third generation
dump "third"
restore "third" --root "$root2"
same_view "third"
ct_state_check "third"
prop_check "third"
cg_check "third"
ovl_check "third"
net_check "third"

# 4: failed restores leave nothing, lose nothing
dump "fourth"
mounts_before=$(grep -cF "$work" /proc/self/mountinfo)
nothing_left() { # nothing_left WHAT
	local l=() d
	procs_of_mark >/dev/null && l+=("ct-state still runs: $(procs_of_mark)")
	[ -n "$rst" ] && alive "$rst" && l+=("lxc-cr restore still runs")
	[ "$(grep -cF "$work" /proc/self/mountinfo)" = "$mounts_before" ] || l+=("mounts: $(grep -F "$work" /proc/self/mountinfo)")
	ip link show dev "$veth" >/dev/null 2>&1 && l+=("the host end $veth")
	for d in "${cgdirs[@]}"; do
		[ -s "$d/cgroup.procs" ] && l+=("processes in $d")
	done
	if [ ${#l[@]} = 0 ]; then ok "$1: nothing left (processes, mounts, cgroups, netdevs)"
	else not_ok "$1: nothing left (processes, mounts, cgroups, netdevs)" "${l[@]}"; fi
}
fail_restore() { # fail_restore WHAT PATTERN ARGS...
	local what=$1 pat=$2 rc
	shift 2
	"$lxc_cr" restore -D "$work/img$gen" -o restore-fail.log -v4 \
		--external "veth[eth0]:$veth@$bridge" "$@" </dev/null >"$work/restore.out" 2>&1
	rc=$?
	if [ $rc != 0 ] && grep -q -- "$pat" "$work/restore.out"; then
		ok "$what: the restore fails: $(head -n 1 "$work/restore.out")"
	else
		not_ok "$what: the restore fails naming the cause" "rc $rc" "$(cat "$work/restore.out")"
	fi
	sleep 0.3
	nothing_left "$what"
}
fail_restore "--root an empty directory" "cannot build the tree.s mount namespace: cannot mount overlay\\|cannot restore its regular file: No such file" --root "$work/empty"
# the tree's cgroups are its own now (the controller is gone): one that
# holds another process must stop the restore before anything is created
sleep 60 &
squatter=$!
echo $squatter >"${cgdirs[0]}/cgroup.procs"
fail_restore "one of the tree's cgroups holds another process" "holds processes"
{ kill -KILL $squatter; wait $squatter; } 2>/dev/null
restore "after the failures" --root "$root2"
same_view "after the failures"
ct_state_check "after the failures"
prop_check "after the failures"
cg_check "after the failures"
ovl_check "after the failures"
net_check "after the failures"
ct_count_check "after the failures"

# 5: dump, copy the rootfs (cp -a), restore with --root at the copy: the
# files are opened again by their paths in the copy
dump "fifth"
if cp -a "$root" "$work/rootfs-copy" 2>"$work/cp.err"; then
	ok "fifth: the rootfs copied"
else
	not_ok "fifth: the rootfs copied" "$(cat "$work/cp.err")"
fi
root=$work/rootfs-copy
restore "fifth, --root a copy" --root "$root"
r=$(awk '$5 == "/" { print $4 }' /proc/"$init"/mountinfo)
if [ "$r" = "$root" ]; then ok "fifth: the root is the copy"
else not_ok "fifth: the root is the copy" "root of / is '$r'"; fi
same_view "fifth"
ct_state_check "fifth"
prop_check "fifth"
cg_check "fifth"
ovl_check "fifth"
net_check "fifth"
sleep 0.3
ct_count_check "fifth"

kill -KILL "$init"
wait "$rst" 2>/dev/null
rst=
init=

# 6: the console as libvirt has it: init's stdio and controlling terminal are
# the console slave, whose master the controller holds outside the tree. The
# dump declares it (--external tty[RDEV:DEV]); each restore hands in a new pty
# (--inherit-fd fd[7]:KEY) whose master a holder keeps and logs.
cname=ctcrc$$
croot=$work/rootfs-console
mkdir -p "$croot"
if ! "$srcdir/mkrootfs.sh" --hostname "$cname" "$croot" >/dev/null 2>&1; then
	not_ok "console: rootfs"
fi
echo 'i=0; while :; do i=$((i + 1)); echo "tick $i $(tty)"; sleep 0.1; done' >"$croot/tick.sh"
"$launch" --name "$cname" --rootfs "$croot" --console-log "$work/console.log" --no-cgroups \
	--pidfile "$work/cinit.pid" -- /bin/sh /tick.sh </dev/null >"$work/claunch.log" 2>&1 &
cctl=$!
if eventually grep -q "tick 3 " "$work/console.log"; then
	ok "console: the container ticks on its console"
else
	not_ok "console: the container ticks on its console" "$(cat "$work/claunch.log" "$work/console.log")"
fi
init=$(cat "$work/cinit.pid" 2>/dev/null)
tty_key() { # tty_key PID: tty[RDEV:DEV] of its fd 0
	local maj min
	maj=$(stat -L -c %t /proc/"$1"/fd/0) min=$(stat -L -c %T /proc/"$1"/fd/0)
	printf 'tty[%x:%s]\n' $(( (0x$maj << 8) | 0x$min )) "$(stat -L -c %D /proc/"$1"/fd/0)"
}
# start_holder LOG PIDFILE ARGS...: ct_pty_holder (lib.sh), remembered
start_holder() {
	ct_pty_holder "$@"
	holders+=($!)
}
holders=()
console_gen() { # console_gen WHAT
	local w=$1 key=$(tty_key "$init") img=$work/cimg$1 log=$work/holder$1.log last
	mkdir -p "$img"
	last=$(grep -ao 'tick [0-9]*' "$work/console.log" "$work"/holder*.log 2>/dev/null | awk '{ print $2 }' | sort -n | tail -n 1)
	if out=$("$lxc_cr" dump -t "$init" -D "$img" -o dump.log -v4 --external "$key" 2>&1) &&
	   ! eventually_dead "$init"; then
		ok "console $1: dump with --external $key"
	else
		not_ok "console $1: dump with --external $key" "$out" "$(tail -n 5 "$img/dump.log")"
		return 1
	fi
	last=$(grep -ao 'tick [0-9]*' "$work/console.log" "$work"/holder*.log 2>/dev/null | awk '{ print $2 }' | sort -n | tail -n 1)
	rm -f "$work/crst.pid"
	start_holder "$log" "$work/crst.pid" "$lxc_cr" restore -D "$img" -o restore.log -v4 \
		--pidfile "$work/crst.pid" --inherit-fd "fd[7]:$key"
	if eventually grep -q "^RESTORE 0" "$log" && init=$(cat "$work/crst.pid") &&
	   eventually grep -q "tick $((last + 2)) " "$log"; then
		ok "console $1: restored onto a new pty: the ticks go on from $((last + 1)) there"
	else
		not_ok "console $1: restored onto a new pty: the ticks go on from $((last + 1)) there" \
			"$(head -c 300 "$log")" "$(tail -n 5 "$img/restore.log")"
		return 1
	fi
	local nr t
	nr=$(awk '{ print $7 }' /proc/"$init"/stat)
	t=$(stat -L -c '%t %T' /proc/"$init"/fd/0)
	set -- $t
	if [ "$nr" = $(( (0x$1 << 8) | 0x$2 )) ]; then ok "console $w: the new pty is init's controlling terminal"
	else not_ok "console $w: the new pty is init's controlling terminal" "tty_nr $nr, fd 0 $t"; fi
}
console_gen 1 && { wait $cctl; true; } && console_gen 2
[ -n "$init" ] && kill -KILL "$init" 2>/dev/null
for h in "${holders[@]}"; do wait "$h" 2>/dev/null; done
init=

echo "1..$n"
[ $failed = 0 ]
