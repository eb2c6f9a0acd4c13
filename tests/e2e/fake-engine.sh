#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A stand-in for the lxc-cr engine, for tests/e2e/run.sh's check of the
# driver's side of save and restore while the real engine cannot checkpoint
# a controller yet. It checkpoints nothing: "dump" speaks liblxccr's
# protocol (--post-dump-fd) and, once told to go on, hides the domain's
# processes from the driver's cgroup kill by moving them to the root
# cgroups; "restore" moves them back into their cgroups and writes the
# controller's pid. The driver then stops a "saved" domain and adopts a
# "restored" one exactly as with the real engine. Never for real use.
set -u
cmd=$1
shift
dir= pidfile= root=
while [ $# -gt 0 ]; do
	case $1 in
	-D) dir=$2; shift;;
	-t) root=$2; shift;;
	--pidfile) pidfile=$2; shift;;
	esac
	shift
done
# every process below pid (threads' children included)
tree() {
	local p c
	echo "$1"
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree "$c"; done
}
case $cmd in
dump)
	[ -d "/proc/$root" ] || { echo "lxc-cr: dump of $root failed: no such process" >&2; exit 1; }
	tree "$root" > "$dir/fake-pids"
	: > "$dir/fake-cgroups"
	for f in /sys/fs/cgroup/*/machine/lxc-"$root"-*.libvirt-lxc; do
		[ -d "$f" ] && echo "$f" >> "$dir/fake-cgroups"
	done
	echo "fake" > "$dir/inventory.img"
	# a dump that takes its time, for the job checks
	[ -f /run/libvirt/lxc/fake-delay ] && sleep "$(cat /run/libvirt/lxc/fake-delay)"
	echo dumped >&3
	c=
	read -r -n 1 c <&3
	[ "$c" = k ] || { echo "lxc-cr: dump of $root failed: the caller's post-dump step failed" >&2; exit 1; }
	while read -r f; do
		for p in $(cat "$f/cgroup.procs"); do
			echo "$p" > "${f%%/machine/*}/cgroup.procs"
		done
	done < "$dir/fake-cgroups"
	cp "$dir/fake-pids" "$dir/fake-cgroups" /run/libvirt/lxc/ 2>/dev/null
	exit 0;;
restore)
	[ -f /run/libvirt/lxc/fake-pids ] || { echo "lxc-cr: restore from $dir failed: the fake engine saved nothing" >&2; exit 1; }
	while read -r f; do
		mkdir -p "$f"
		case $f in
		*/cpuset/*)	# a new cpuset has no cpus nor mems: its parent's
			cat "${f%/*}/cpuset.cpus" > "$f/cpuset.cpus"
			cat "${f%/*}/cpuset.mems" > "$f/cpuset.mems";;
		esac
		while read -r p; do
			echo "$p" > "$f/cgroup.procs" ||
				{ echo "lxc-cr: restore from $dir failed: cannot move $p into $f" >&2; exit 1; }
		done < /run/libvirt/lxc/fake-pids
	done < /run/libvirt/lxc/fake-cgroups
	root=$(head -n 1 /run/libvirt/lxc/fake-pids)
	# The console master liblxccr hands in (fd 3) would go to the controller;
	# a holder keeps it open instead, so that the new tty exists.
	[ -f "/run/libvirt/lxc/fake-holder.$root" ] && kill "$(cat "/run/libvirt/lxc/fake-holder.$root")" 2>/dev/null
	setsid sleep 86400 <&3 >/dev/null 2>&1 3<&- &
	echo $! > "/run/libvirt/lxc/fake-holder.$root"
	echo "$root" > "$pidfile"
	rm -f /run/libvirt/lxc/fake-pids /run/libvirt/lxc/fake-cgroups
	exit 0;;
esac
echo "lxc-cr: unknown command '$cmd'" >&2
exit 1
