# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the scripts that run ct-launch containers (tests/container/run-*.sh,
# bench/ct.sh, scripts/demo.sh): source it, nothing runs on its own.

# ct_find_bin ENVVALUE RELPATH: ENVVALUE if set, else RELPATH under the
# current directory (the build directory) or its parent.
ct_find_bin() {
	if [ -n "$1" ]; then echo "$1"; return; fi
	local c
	for c in "$PWD/$2" "$PWD/../$2"; do
		[ -x "$c" ] && { echo "$c"; return; }
	done
}

# ct_close_stray_fds: shells here pass stray descriptors; a tree started from
# this shell would hold them, and they would be dumped.
ct_close_stray_fds() {
	local fd
	for fd in /proc/$$/fd/*; do
		fd=${fd##*/}
		case "$fd" in 0|1|2|255) ;; *) eval "exec $fd>&-" 2>/dev/null ;; esac
	done
}

# ct_cgroup_dirs PID: the v1/v2 cgroup directories PID is in (not the
# hierarchies' roots), one a line. ct-launch makes them for the container
# and its controller; a new controller makes them again before a restore.
ct_cgroup_dirs() {
	local ctrl path h
	while IFS=: read -r _ ctrl path; do
		[ -z "$ctrl" ] || [ "$path" = / ] && continue
		for h in /sys/fs/cgroup/*/; do
			[ -d "$h$path" ] && [ -e "$h$path/cgroup.procs" ] && echo "${h%/}$path"
		done
	done </proc/"$1"/cgroup | sort -u
}

# ct_make_cgroups [--broken] DIR...: make the directories again, cpuset ones
# with their parent's cpus and mems (--broken leaves them empty, so a task
# cannot join).
ct_make_cgroups() {
	local broken= d
	[ "${1:-}" = --broken ] && { broken=1; shift; }
	for d in "$@"; do
		mkdir -p "$d" || return 1
		if [ -e "$d/cpuset.cpus" ] && [ -z "$broken" ]; then
			cat "$(dirname "$d")/cpuset.cpus" >"$d/cpuset.cpus" &&
				cat "$(dirname "$d")/cpuset.mems" >"$d/cpuset.mems" || return 1
		fi
	done
}

# ct_tap_require: a TAP script's preconditions; a plan of 0 with the reason
# (a loud skip) and exit when one is missing.
ct_tap_require() {
	local why=
	if [ "$(id -u)" != 0 ]; then why="needs root (namespaces, mounts, cgroups, netdevs)"
	elif [ ! -x /bin/busybox ]; then why="/bin/busybox not found (busybox-static)"
	elif ! command -v ip >/dev/null; then why="ip (iproute2) not found"
	elif [ ! -d /sys/fs/cgroup/memory ] || [ ! -d /sys/fs/cgroup/cpuset ]; then
		why="no cgroup v1 memory/cpuset hierarchy"
	fi
	[ -z "$why" ] && return 0
	echo "1..0 # SKIP $why"
	exit 0
}

# ct_tap_bins VAR=ENVVALUE:RELPATH...: set each VAR to its binary, or bail out.
ct_tap_bins() {
	local spec var rest bin
	for spec in "$@"; do
		var=${spec%%=*}
		rest=${spec#*=}
		bin=$(ct_find_bin "${rest%%:*}" "${rest#*:}")
		if [ -z "$bin" ] || [ ! -x "$bin" ]; then
			echo "Bail out! ${rest#*:} not found (run from the build directory, or set its variable)"
			exit 1
		fi
		printf -v "$var" '%s' "$bin"
	done
}

# TAP results: ok WHAT; not_ok WHAT [DETAIL...] (each detail a "# " line);
# the caller keeps the counters n and failed.
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
eventually() { # eventually CMD...: poll for up to 10 s
	local i
	for i in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@"
}

# ct_pty_holder LOG PIDFILE CMD...: in the background, a new pty whose slave
# is fd 7 of CMD (an `lxc-cr restore ... --inherit-fd fd[7]:KEY`, which stays
# the parent of the restored init and reaps it); once PIDFILE exists (or CMD
# ended) "RESTORE 0" (or "RESTORE failed") goes to LOG, then what comes out of
# the master until the console hangs up (init is gone). $! is the holder.
ct_pty_holder() {
	python3 -c '
import os, pty, subprocess, sys, time
log = open(sys.argv[1], "wb", buffering=0)
m, s = pty.openpty()
os.dup2(s, 7)
p = subprocess.Popen(sys.argv[3:], pass_fds=(7,))
for _ in range(200):
    if os.path.exists(sys.argv[2]) or p.poll() is not None:
        break
    time.sleep(0.05)
os.close(s); os.close(7)
log.write(b"RESTORE %s\n" % (b"0" if os.path.exists(sys.argv[2]) else b"failed"))
while True:
    try:
        d = os.read(m, 4096)
    except OSError:
        break
    if not d:
        break
    log.write(d)
p.wait()
' "$@" </dev/null >/dev/null 2>&1 &
}

# eventually_dead PID: 0 while PID is still alive after 5 s (needs the
# caller's alive PID)
eventually_dead() {
	local i
	for i in $(seq 50); do
		alive "$1" || return 1
		sleep 0.1
	done
	return 0
}

# ct_state_check WHAT [NOTE]: ask ct-state (the caller's procs_of_mark) in the
# container rooted at $root to check itself; its newest result line must
# say PASS. NOTE goes into the check's name.
ct_state_check() {
	local before after line note=${2:+ ($2)}
	before=$({ wc -l <"$root/var/ctstate/result"; } 2>/dev/null || echo 0)
	kill -USR1 $(procs_of_mark) 2>/dev/null
	for _ in $(seq 50); do
		after=$({ wc -l <"$root/var/ctstate/result"; } 2>/dev/null || echo 0)
		[ "$after" -gt "$before" ] && break
		sleep 0.1
	done
	line=$(tail -n 1 "$root/var/ctstate/result" 2>/dev/null)
	if [ "${after:-0}" -gt "$before" ] && [[ "$line" == PASS* ]]; then ok "$1: ct-state$note: $line"
	else not_ok "$1: ct-state checked its state$note" "${line:-no answer}"; fi
}

# ct_count_check WHAT: the shell's count in $root/var/ctstate/count goes on
# without a gap
ct_count_check() {
	local bad
	bad=$(awk 'NR > 1 && $1 != p + 1 { print "line " NR ": " $1 " after " p; exit } { p = $1 }' \
		"$root/var/ctstate/count")
	if [ -z "$bad" ]; then ok "$1: the shell's count goes on without a gap ($(tail -n 1 "$root/var/ctstate/count"))"
	else not_ok "$1: the shell's count goes on without a gap" "$bad"; fi
}
