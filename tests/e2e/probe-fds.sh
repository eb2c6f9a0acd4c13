#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Discovery tool (not a test): which of a process's descriptors can lxc-cr
# dump? The engine stops at its first refusal, and a libvirt_lxc controller is
# refused as a whole before its descriptors are looked at (its child, the
# container's init, is in other namespaces). So for each descriptor of PID a
# holder process is started in PID's mount namespace holding a copy of just
# that open file (pidfd_getfd(), same fd number), and is dumped with
# `lxc-cr dump --leave-running`; then once more with all of PID's descriptors
# (epoll watches find their files). Prints one line per descriptor: its link,
# and "ok" or lxc-cr's refusal.
#
# The holder and lxc-cr run in a copy of PID's mount namespace, where cgroup2
# is mounted at /sys/fs/cgroup/unified again (libvirtd.sh's namespace has it
# unmounted, and lxc-cr refuses a task whose cgroup2 hierarchy it cannot see);
# PROBE_NO_CGROUP2=1 leaves it as it is; PROBE_KEEP=DIR keeps each image set.
#
# Usage: tests/e2e/probe-fds.sh LXC_CR PID [lxc-cr dump options...]
# Needs python3 (ctypes) and root. Copies only: PID is never stopped; a pty's
# queued bytes are read and written back by the engine as for a real dump.
set -u
export PROBE_NO_CGROUP2=${PROBE_NO_CGROUP2:-}
lxc_cr=$1 pid=$2
shift 2
work=$(mktemp -d /var/tmp/lxc-cr-probe.XXXXXX)
trap 'rm -rf "$work"' EXIT

probe() { # FDS(comma-separated) -> "ok" or the refusal
	local fds=$1 hpid i
	nsenter --mount="/proc/$pid/ns/mnt" -- unshare -m --propagation private -- sh -c \
		'[ -n "$PROBE_NO_CGROUP2" ] || mountpoint -q /sys/fs/cgroup/unified ||
		 mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified; exec "$@"' sh setsid python3 -c '
import ctypes, fcntl, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
pid, fds, ready = int(sys.argv[1]), [int(f) for f in sys.argv[2].split(",")], sys.argv[3]
pfd = os.pidfd_open(pid)
null = os.open("/dev/null", os.O_RDWR)
got = {}
for fd in fds:
    n = libc.syscall(438, pfd, fd, 0)   # pidfd_getfd
    if n < 0:
        sys.exit("pidfd_getfd %d of %d: %s" % (fd, pid, os.strerror(ctypes.get_errno())))
    got[fd] = fcntl.fcntl(n, fcntl.F_DUPFD, 1000)
    os.close(n)
for fd in (0, 1, 2):
    os.dup2(null, fd)
os.close(null)
os.close(pfd)
hi = [v for v in got.values()]
for fd, n in got.items():
    os.dup2(n, fd, inheritable=False)
for n in hi:
    if n not in got:
        os.close(n)
with open(ready, "w") as f:
    f.write(str(os.getpid()))
while True:
    time.sleep(3600)
' "$pid" "$fds" "$work/ready" </dev/null >/dev/null 2>"$work/holder.err" &
	for i in $(seq 1 50); do
		[ -s "$work/ready" ] && break
		sleep 0.1
	done
	hpid=$(cat "$work/ready" 2>/dev/null)
	rm -f "$work/ready"
	if [ -z "$hpid" ]; then
		echo "holder failed: $(cat "$work/holder.err")"
		return
	fi
	rm -rf "$work/img"
	mkdir "$work/img"
	if nsenter --mount="/proc/$hpid/ns/mnt" -- "$lxc_cr" dump --leave-running -t "$hpid" \
		-D "$work/img" -o "$work/img/dump.log" -v4 "$@" 2>/dev/null; then
		echo ok
	else
		# the first error: it names its source file (relative or absolute build path)
		grep -E '\(([^()]*/)?src/[^()]*:[0-9]+\)$' "$work/img/dump.log" | head -n 1 |
			sed -e 's/^([0-9.]*) //'
	fi
	[ -n "${PROBE_KEEP:-}" ] && mkdir -p "$PROBE_KEEP" && cp -a "$work/img" "$PROBE_KEEP/fds-$fds"
	kill -KILL "$hpid" 2>/dev/null
	wait 2>/dev/null
}

all= rest=
for f in /proc/$pid/fd/*; do
	fd=${f##*/}
	link=$(readlink "$f")
	all=$all${all:+,}$fd
	if [ "$fd" -le 2 ]; then
		rest=$rest${rest:+,}$fd
		continue
	fi
	r=$(probe "$fd" "$@")
	[ "$r" = ok ] || [ "$link" = "anon_inode:[eventpoll]" ] && rest=$rest${rest:+,}$fd
	printf '%-4s %-45s %s\n' "$fd" "$link" "$r"
done
printf '%-4s %-45s %s\n' all "(fds $all)" "$(probe "$all" "$@")"
[ "$rest" != "$all" ] && printf '%-4s %-45s %s\n' rest "(all but the refused: $rest)" "$(probe "$rest" "$@")"
