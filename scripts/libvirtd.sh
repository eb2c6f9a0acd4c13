#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run the libvirtd built by scripts/libvirt-build.sh the way this machine needs
# (../shared/MACHINE.md, "libvirt LXC here"):
#
#   - in its own mount namespace, with /sys/fs/cgroup/unified unmounted (the
#     LXC driver cannot start a domain with the hybrid cgroup layout);
#   - with its own /etc/libvirt (the prefix's), /run/libvirt, /var/lib/libvirt,
#     /var/log/libvirt and /var/cache/libvirt bind-mounted from an instance dir,
#     so several instances and the system's libvirt never meet;
#   - LIBVIRT_DRIVER_DIR holding only the lxc and network drivers;
#   - its UNIX sockets in a host-visible dir, so the host's virsh reaches it;
#   - under a small reaper that is the child subreaper of the domains'
#     libvirt_lxc controllers (PID 1 here does not reap orphans).
#
# Usage: scripts/libvirtd.sh start|stop|status|uri|exec CMD...
#   start   start the daemon (if not running), wait until it answers, print the URI
#   stop    stop the daemon (running domains stay, as with libvirtd)
#   status  exit 0 if the daemon answers
#   uri     print the URI to give virsh -c (also: $LXC_CR_LIBVIRT_PREFIX/bin/virsh)
#   exec    run CMD in the daemon's mount namespace (where /run/libvirt/lxc is)
# Env: LXC_CR_LIBVIRTD_NAME   instance name (default: default); use one per user/test
#      LXC_CR_LIBVIRT_PREFIX  where libvirt-build.sh installed (default /opt/lxc-cr/libvirt)
#      LXC_CR_LIBVIRTD_LOG    libvirtd log_filters (default "1:lxc 3:*")
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
name=${LXC_CR_LIBVIRTD_NAME:-default}
prefix=${LXC_CR_LIBVIRT_PREFIX:-/opt/lxc-cr/libvirt}
case "$name" in
	*[!A-Za-z0-9_.-]*|'') echo "libvirtd.sh: bad instance name '$name'" >&2; exit 2;;
esac
run=/run/lxc-cr/libvirtd/$name        # pid file, sockets: host-visible
var=/var/lib/lxc-cr/libvirtd/$name    # etc, lib, log, cache, run of the instance
sockdir=$run/sock
pidfile=$run/libvirtd.pid
uri="lxc:///system?socket=$sockdir/libvirt-sock"
virsh=$prefix/bin/virsh

die() { echo "libvirtd.sh: $*" >&2; exit 1; }

daemon_pid() {
	local pid
	[ -f "$pidfile" ] || return 1
	pid=$(cat "$pidfile" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = libvirtd ] || return 1
	echo "$pid"
}

answers() {
	timeout 10 "$virsh" -q -c "$uri" uri >/dev/null 2>&1
}

start() {
	local pid t
	[ "$(id -u)" = 0 ] || die "must run as root"
	[ -x "$prefix/sbin/libvirtd" ] || die "no $prefix/sbin/libvirtd: run scripts/libvirt-build.sh first"
	if pid=$(daemon_pid) && answers; then
		echo "$uri"
		return 0
	fi
	[ -n "${pid:-}" ] && die "libvirtd '$name' (pid $pid) runs but does not answer on $uri"

	mkdir -p "$run" "$sockdir" "$var"/{run,lib,log,cache,drivers}
	chmod 700 "$run" "$var"
	# The instance's config: the prefix's defaults, once; then ours on top.
	if [ ! -d "$var/etc" ]; then
		mkdir -p "$var/etc"
		cp -a "$prefix/etc/libvirt/." "$var/etc/"
		# No autostarted "default" NAT network (virbr0 is global, dnsmasq absent).
		rm -f "$var"/etc/qemu/networks/autostart/*.xml
	fi
	cat > "$var/etc/libvirtd.conf" <<EOF
# written by lxc-cr scripts/libvirtd.sh for instance '$name'
unix_sock_dir = "$sockdir"
unix_sock_group = "root"
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_filters = "${LXC_CR_LIBVIRTD_LOG:-1:lxc 3:*}"
log_outputs = "1:file:/var/log/libvirt/libvirtd.log"
EOF
	# Only the drivers we need: libvirtd without QEMU's user fails otherwise.
	rm -f "$var"/drivers/*
	for d in lxc network; do
		[ -f "$prefix/lib/libvirt/connection-driver/libvirt_driver_$d.so" ] ||
			die "$prefix has no $d driver"
		ln -s "$prefix/lib/libvirt/connection-driver/libvirt_driver_$d.so" "$var/drivers/"
	done
	# Mount points on the host (empty; the instance's dirs go over them).
	mkdir -p /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
	rm -f "$pidfile"

	# reaper.pl (child subreaper, reaps every orphan, exits when no child is
	# left; itself a zombie of PID 1 then, unless the caller is a subreaper)
	#   -> unshare -m: private mount namespace
	#     -> bash: unmount cgroup2, bind the instance's dirs, exec libvirtd
	setsid perl "$top/scripts/reaper.pl" --all "libvirtd-$name" \
		unshare -m --propagation private bash -c '
		set -e
		for fd in /proc/$$/fd/*; do
			fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null || true
		done
		if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
		mount --bind "$1/etc" "$2/etc/libvirt"
		mount --bind "$1/run" /run/libvirt
		mount --bind "$1/lib" /var/lib/libvirt
		mount --bind "$1/log" /var/log/libvirt
		mount --bind "$1/cache" /var/cache/libvirt
		export LIBVIRT_DRIVER_DIR=$1/drivers
		exec "$2/sbin/libvirtd" -f "$1/etc/libvirtd.conf" -p "$3"
	' libvirtd-ns "$var" "$prefix" "$pidfile" \
		</dev/null >>"$var/log/daemon.out" 2>&1 &

	for t in $(seq 1 300); do
		if pid=$(daemon_pid) && answers; then
			echo "libvirtd.sh: libvirtd '$name' (pid $pid) answers; logs in $var/log" >&2
			echo "$uri"
			return 0
		fi
		sleep 0.1
	done
	die "libvirtd '$name' did not answer on $uri within 30 s: $(tail -n 5 "$var/log/daemon.out" "$var/log/libvirtd.log" 2>/dev/null)"
}

stop() {
	local pid t
	pid=$(daemon_pid) || { echo "libvirtd.sh: libvirtd '$name' is not running" >&2; return 0; }
	kill -TERM "$pid"
	# Gone means reaped (by the reaper): while libvirtd's threads finish, its
	# leader already shows as a zombie, so "Z" is not "stopped".
	for t in $(seq 1 300); do
		[ -d "/proc/$pid" ] || break
		sleep 0.1
	done
	[ -d "/proc/$pid" ] && die "libvirtd '$name' (pid $pid) did not stop within 30 s"
	rm -f "$pidfile"
	echo "libvirtd.sh: libvirtd '$name' stopped" >&2
}

case "${1:-}" in
start) start;;
stop) stop;;
status) daemon_pid >/dev/null && answers;;
uri) echo "$uri";;
exec)
	shift
	pid=$(daemon_pid) || die "libvirtd '$name' is not running"
	exec nsenter --mount="/proc/$pid/ns/mnt" -- "$@";;
*) echo "usage: $0 start|stop|status|uri|exec CMD..." >&2; exit 2;;
esac
