#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Bad input for the built lxc-cr, with real processes (TAP).
# Dumps of processes that do not exist or hold what we cannot save, and
# restores from damaged images or onto a taken PID, must fail with one clear
# line naming the cause, create no process, change no image and leave the
# original process running.
#
# Usage: run.sh   (from the build directory, as `make check` runs it)
# Env: LXC_CR (default: ./src/lxc-cr, then ../src/lxc-cr), BADINPUT_KEEP=1 keeps the work dir.

set -u

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (ptrace, clone3 set_tid)"
	exit 0
fi

lxc_cr=${LXC_CR:-}
if [ -z "$lxc_cr" ]; then
	for c in "$PWD/src/lxc-cr" "$PWD/../src/lxc-cr"; do
		[ -x "$c" ] && { lxc_cr=$c; break; }
	done
fi
if [ -z "$lxc_cr" ] || [ ! -x "$lxc_cr" ]; then
	echo "Bail out! lxc-cr not found (set LXC_CR or run from the build directory)"
	exit 1
fi
lxc_cr=$(cd "$(dirname "$lxc_cr")" && pwd)/$(basename "$lxc_cr")

# Killed and restored processes must be reaped: run below the zdtm subreaper
# (PID 1 here does not reap orphans).
if [ -z "${BADINPUT_UNDER_SUBREAPER:-}" ]; then
	reaper=
	for c in "$PWD/tests/zdtm/zdtm-subreaper" "$(dirname "$lxc_cr")/../tests/zdtm/zdtm-subreaper"; do
		[ -x "$c" ] && { reaper=$c; break; }
	done
	if [ -z "$reaper" ]; then
		echo "Bail out! tests/zdtm/zdtm-subreaper not built (make check TESTS=)"
		exit 1
	fi
	export BADINPUT_UNDER_SUBREAPER=1 LXC_CR=$lxc_cr
	exec "$reaper" /bin/bash "$self" "$@"
fi

# Stray inherited descriptors would end up in the processes we dump.
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	case "$fd" in 0|1|2|255) ;; *) eval "exec $fd>&-" 2>/dev/null ;; esac
done

work=$(mktemp -d /tmp/badinput.XXXXXX)
n=0
failed=0
started=()

cleanup() {
	local p
	for p in "${started[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	if [ "${BADINPUT_KEEP:-0}" = 1 ]; then
		echo "# work dir kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

ok() { # what
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() { # what why
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1: $2"
}

# check WHAT: ok if $why is empty, else not ok with it
check() {
	if [ -z "$why" ]; then ok "$1"; else not_ok "$1" "$why"; fi
	why=
}
why=
fail() { [ -z "$why" ] && why=$*; }

alive() { [ -d "/proc/$1" ] && [ "$(proc_state "$1")" != Z ]; }

proc_state() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	echo "${stat%% *}"
}

# Wait until pid is gone (killed and reaped), at most 5 s.
wait_gone() {
	local i
	for i in $(seq 100); do
		[ -d "/proc/$1" ] || return 0
		sleep 0.05
	done
	return 1
}

# A process that sleeps; prints its pid. It is its own session leader.
start_sleep() {
	setsid sleep 1000 </dev/null >/dev/null 2>&1 &
	started+=($!)
	echo $!
}

sums() { (cd "$1" && sha256sum -- *.img) 2>/dev/null; }

# First line of a file, shell-quoted for a message.
first() { head -n 1 "$1" | cut -c1-200; }

free_pid() {
	local p max
	max=$(cat /proc/sys/kernel/pid_max)
	for ((p = max - 1; p > 300; p--)); do
		[ -d "/proc/$p" ] || { echo "$p"; return; }
	done
}

# ---- (a) dump of a PID that does not exist ----
pid=$(free_pid)
mkdir -p "$work/a"
"$lxc_cr" dump -t "$pid" -D "$work/a" -o "$work/a/dump.log" 2>"$work/a/err"
rc=$?
lines=$(wc -l < "$work/a/err")
[ "$rc" != 0 ] || fail "exit code 0"
[ "$lines" = 1 ] || fail "$lines lines on stderr: $(tr '\n' '|' < "$work/a/err")"
grep -q -- "$pid" "$work/a/err" || fail "stderr does not name pid $pid: $(first "$work/a/err")"
check "dump of pid $pid that does not exist fails with one line naming it (-o log)"

"$lxc_cr" dump -t "$pid" -D "$work/a" 2>"$work/a/err2"
rc=$?
[ "$rc" != 0 ] || fail "exit code 0"
[ -s "$work/a/err2" ] || fail "nothing on stderr"
if grep -v -q -- "$pid" "$work/a/err2"; then
	fail "a stderr line does not name pid $pid: $(grep -v -- "$pid" "$work/a/err2" | head -n 1)"
fi
ls -A "$work/a" | grep -v -q -e '^err' -e '^dump.log$' && fail "left in the image dir: $(ls -A "$work/a" | tr '\n' ' ')"
check "dump of pid $pid that does not exist (log on stderr): every line names it, no image left"

# ---- a real dump to damage ----
orig_pid=$(start_sleep)
sleep 0.2
mkdir -p "$work/good"
if ! "$lxc_cr" dump -t "$orig_pid" -D "$work/good" -o "$work/good.log" 2>"$work/good.err"; then
	echo "Bail out! cannot dump a sleep process: $(first "$work/good.err")"
	exit 1
fi
wait_gone "$orig_pid" || { echo "Bail out! pid $orig_pid still exists after its dump"; exit 1; }
imgs=$(cd "$work/good" && ls -- *.img)
echo "# dumped sleep $orig_pid: $(echo $imgs)"

# restore_must_fail NAME DIR WHAT EXPECT...: restore from DIR must fail, with
# stderr naming each EXPECT (grep -F), no process at the dumped pid, and the
# images byte-identical afterwards.
restore_must_fail() {
	local name=$1 dir=$2 what=$3 before after rc e
	shift 3
	before=$(sums "$dir")
	timeout 60 "$lxc_cr" restore -D "$dir" -d 2>"$dir.err" >/dev/null
	rc=$?
	after=$(sums "$dir")
	[ "$rc" != 0 ] || fail "restore succeeded"
	[ "$rc" = 124 ] && fail "restore hung (killed after 60 s)"
	for e in "$@"; do
		grep -q -F -- "$e" "$dir.err" || fail "stderr does not say \"$e\": $(first "$dir.err")"
	done
	if [ -d "/proc/$orig_pid" ]; then
		fail "a process with pid $orig_pid exists after the failed restore ($(tr '\0' ' ' < /proc/$orig_pid/cmdline))"
		kill -9 "$orig_pid" 2>/dev/null
		wait_gone "$orig_pid"
	fi
	[ "$before" = "$after" ] || fail "the images changed"
	[ -z "$(ls -A "$dir" | grep -v '\.img$')" ] || fail "left in the image dir: $(ls -A "$dir" | grep -v '\.img$' | tr '\n' ' ')"
	check "$what"
}

# ---- (b) each image truncated at half its size ----
for img in $imgs; do
	d=$work/trunc-$img
	cp -a "$work/good" "$d"
	size=$(stat -c %s "$d/$img")
	truncate -s $((size / 2)) "$d/$img"
	restore_must_fail "$img" "$d" "restore with $img cut to $((size / 2)) of $size bytes fails naming it" "$img"
	rm -rf "$d" "$d.err"
done

# ---- (c) flipped bytes in the core and the pagemap ----
# flip DIR FILE OFFSET: XOR 0xff into one byte
flip() {
	python3 - "$1/$2" "$3" <<'EOF'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0xff]))
EOF
}

# Offsets of record framing that must never pass: the header's magic and
# version, the first record's length, its first tag byte, and the second
# record's length and tag.
framing_offsets() { # file
	python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
offs = [0, 3, 4, 8, 11, 12]
first = struct.unpack_from("<I", d, 8)[0]
second = 12 + first
if second + 4 < len(d):
    offs += [second, second + 3, second + 4]
print(" ".join(map(str, offs)))
EOF
}

for img in core-$orig_pid.img pagemap-$orig_pid.img; do
	for off in $(framing_offsets "$work/good/$img"); do
		d=$work/flip-$img-$off
		cp -a "$work/good" "$d"
		flip "$d" "$img" "$off"
		restore_must_fail "$img" "$d" "restore with byte $off of $img flipped fails naming it" "$img"
		rm -rf "$d" "$d.err"
	done
done

# A pagemap entry pointing outside every mapping of the process: the restore
# must refuse it, and before any process exists.
d=$work/pagemap-outside
cp -a "$work/good" "$d"
if python3 - "$d/pagemap-$orig_pid.img" <<'EOF'
import struct, sys
# records: head (pages_id, nr_entries), then entries (vaddr = field 1 varint).
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
off = 8
n = struct.unpack_from("<I", d, off)[0]
off += 4 + n
n = struct.unpack_from("<I", d, off)[0]
rec = off + 4
assert d[rec] == 0x08, "vaddr is not the first field"
# decode the varint, flip bit 40 (1 TiB away; the same length)
i = rec + 1
while d[i] & 0x80:
    i += 1
ln = i - rec
val = 0
for k, b in enumerate(d[rec + 1:i + 1]):
    val |= (b & 0x7f) << (7 * k)
val ^= 1 << 40
out = []
for k in range(ln):
    b = (val >> (7 * k)) & 0x7f
    out.append(b | (0x80 if k < ln - 1 else 0))
if val >> (7 * ln):
    sys.exit(1)
d[rec + 1:i + 1] = bytes(out)
open(p, "wb").write(d)
EOF
then
	restore_must_fail "pagemap" "$d" "restore with a pagemap entry outside every mapping fails naming pagemap-$orig_pid.img" "pagemap-$orig_pid.img"
else
	not_ok "restore with a pagemap entry outside every mapping" "cannot rewrite the entry's address"
fi
rm -rf "$d" "$d.err"

# ---- (d) wrong version in inventory.img ----
d=$work/version-hdr
cp -a "$work/good" "$d"
flip "$d" inventory.img 5
restore_must_fail inventory "$d" "restore with a wrong version in inventory.img's header fails saying so" inventory.img version
rm -rf "$d" "$d.err"

d=$work/version-rec
cp -a "$work/good" "$d"
# the record's first field is img_version (tag 0x08, varint 1 at byte 13)
if [ "$(od -An -tx1 -j12 -N2 "$d/inventory.img" | tr -d ' ')" = 0801 ]; then
	printf '\x07' | dd of="$d/inventory.img" bs=1 seek=13 conv=notrunc status=none
	restore_must_fail inventory "$d" "restore with img_version 7 in inventory.img fails saying version" inventory.img version
else
	not_ok "restore with a wrong img_version in inventory.img" "the record does not start with img_version = 1"
fi
rm -rf "$d" "$d.err"

# ---- (e) the PID is taken at restore ----
pid=$(start_sleep)
sleep 0.2
mkdir -p "$work/taken"
if "$lxc_cr" dump -t "$pid" -D "$work/taken" --leave-running -o "$work/taken.log" 2>"$work/taken.dump.err"; then
	st=$(proc_state "$pid")
	[ "$st" = S ] || fail "after dump --leave-running the process is in state '$st'"
	check "dump --leave-running of sleep $pid leaves it running (state S)"
	before=$(sums "$work/taken")
	starttime=$(cut -d' ' -f22 "/proc/$pid/stat")
	timeout 60 "$lxc_cr" restore -D "$work/taken" -d 2>"$work/taken.err" >/dev/null
	rc=$?
	[ "$rc" != 0 ] || fail "restore succeeded"
	grep -q -- "pid $pid" "$work/taken.err" && grep -q "taken" "$work/taken.err" ||
		fail "stderr does not say pid $pid is taken: $(first "$work/taken.err")"
	alive "$pid" || fail "the original process $pid is gone"
	[ "$(cut -d' ' -f22 "/proc/$pid/stat" 2>/dev/null)" = "$starttime" ] || fail "pid $pid is another process now"
	st=$(proc_state "$pid")
	[ "$st" = S ] || fail "the original process is in state '$st'"
	[ "$(tr '\0' ' ' < "/proc/$pid/cmdline")" = "sleep 1000 " ] || fail "pid $pid is not the sleep any more"
	[ "$before" = "$(sums "$work/taken")" ] || fail "the images changed"
	check "restore onto pid $pid that is taken fails naming it; the original runs on; images unchanged"
else
	not_ok "dump --leave-running of sleep $pid" "$(first "$work/taken.dump.err")"
	not_ok "restore onto a taken pid" "no image to restore"
fi
kill "$pid" 2>/dev/null
wait_gone "$pid"

# ---- (f) a dump refused for an fd we cannot save ----
# counter_running PID FILE: the counter in FILE advances within 2 s
counter_advances() {
	local a b i
	a=$(cat "$2" 2>/dev/null)
	for i in $(seq 40); do
		sleep 0.05
		b=$(cat "$2" 2>/dev/null)
		[ -n "$b" ] && [ "$b" != "$a" ] && return 0
	done
	return 1
}

# A python counter holding one socket of KIND (packet, netlink): prints its pid.
start_counter() { # kind file
	setsid python3 -c '
import socket, sys, time
kind, path = sys.argv[1], sys.argv[2]
if kind == "packet":
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
else:
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
i = 0
while True:
    i += 1
    with open(path + ".tmp", "w") as f:
        f.write(str(i))
    import os
    os.rename(path + ".tmp", path)
    time.sleep(0.02)
' "$1" "$2" </dev/null >/dev/null 2>"$2.err" &
	started+=($!)
	echo $!
}

refused=0
for kind in packet netlink; do
	cnt=$work/counter-$kind
	pid=$(start_counter "$kind" "$cnt")
	for i in $(seq 100); do [ -s "$cnt" ] && break; sleep 0.05; done
	sockfd=
	for f in /proc/$pid/fd/*; do
		case "$(readlink "$f")" in socket:*) sockfd=${f##*/} ;; esac
	done
	if [ -z "$sockfd" ]; then
		not_ok "a $kind socket in a counter process" "no socket fd in pid $pid: $(cat "$cnt.err")"
		kill "$pid"; wait_gone "$pid"
		continue
	fi
	mkdir -p "$work/fd-$kind"
	"$lxc_cr" dump -t "$pid" -D "$work/fd-$kind" -o "$work/fd-$kind.log" 2>"$work/fd-$kind.err"
	rc=$?
	if [ "$rc" = 0 ]; then
		echo "# a $kind socket is dumped now: trying the next kind"
		kill -9 "$pid" 2>/dev/null
		wait_gone "$pid"
		continue
	fi
	refused=1
	grep -q -- "pid $pid fd $sockfd: .*not supported" "$work/fd-$kind.log" ||
		fail "the log does not say \"pid $pid fd $sockfd: ... not supported\": $(first "$work/fd-$kind.log")"
	alive "$pid" || fail "the process $pid is gone"
	st=$(proc_state "$pid")
	case "$st" in S|R) ;; *) fail "the process is in state '$st' after the failed dump" ;; esac
	counter_advances "$pid" "$cnt" || fail "its counter does not advance after the failed dump"
	[ -z "$(ls -A "$work/fd-$kind")" ] || fail "left in the image dir: $(ls -A "$work/fd-$kind" | tr '\n' ' ')"
	check "dump of pid $pid holding a $kind socket (fd $sockfd) is refused; the process keeps counting"
	# The one line the user sees must name the fd, not only the pid.
	grep -q -- "pid $pid fd $sockfd" "$work/fd-$kind.err" ||
		fail "it says \"$(first "$work/fd-$kind.err")\""
	check "the error line names \"pid $pid fd $sockfd\""
	kill "$pid"
	wait_gone "$pid"
	break
done
[ "$refused" = 1 ] || echo "ok $((n += 1)) # SKIP every socket kind tried is dumped now: no unsupported fd to test"

# ---- (g) POSIX message queues: their messages are read by taking them off
# the queue and putting them back; a refused dump (an mq_notify() registration)
# and --leave-running must leave every message, in order, and the registration.
mqh=$(dirname "$lxc_cr")/../tests/badinput/mq-holder
if [ ! -x "$mqh" ]; then
	echo "ok $((n += 1)) # SKIP $mqh not built (make check TESTS=)"
else
	for mode in notify leave; do
		out=$work/mq-$mode
		rm -f "$out" "$out.pid"
		"$mqh" "$out" $([ $mode = notify ] && echo notify)
		for i in $(seq 100); do [ -s "$out.pid" ] && break; sleep 0.05; done
		pid=$(cat "$out.pid" 2>/dev/null)
		if [ -z "$pid" ]; then
			not_ok "mq-holder ($mode)" "did not start: $(cat "$out" 2>/dev/null)"
			continue
		fi
		started+=($pid)
		mkdir -p "$work/mqd-$mode"
		if [ $mode = notify ]; then
			if "$lxc_cr" dump -t "$pid" -D "$work/mqd-$mode" -o "$work/mqd-$mode.log" 2>"$work/mqd-$mode.err"; then
				fail "the dump succeeded"
			else
				grep -q "mqueue '/badinput-mq': pid [0-9]* is registered for its notification (mq_notify); not supported" \
					"$work/mqd-$mode.err" || fail "it says \"$(first "$work/mqd-$mode.err")\""
			fi
			what="dump of a queue with an mq_notify() registration is refused by name"
		else
			"$lxc_cr" dump -t "$pid" -D "$work/mqd-$mode" --leave-running -o "$work/mqd-$mode.log" \
				2>"$work/mqd-$mode.err" || fail "dump failed: $(first "$work/mqd-$mode.err")"
			grep -q "mqueue '/badinput-mq': mode 640, maxmsg 4, msgsize 32, 3 messages" "$work/mqd-$mode.log" ||
				fail "the log does not list the queue with its 3 messages"
			what="dump --leave-running of a queue with 3 messages"
		fi
		alive "$pid" || fail "the process $pid is gone"
		kill -TERM "$pid" 2>/dev/null
		wait_gone "$pid"
		[ "$(cat "$out" 2>/dev/null)" = PASS ] || fail "then the holder says: $(cat "$out" 2>/dev/null)"
		check "$what; then every message is there in order$([ $mode = notify ] && echo ', the registration too')"
	done
fi

# ---- (h) a user namespace without a PID namespace of its own is refused by name
# (its tasks could not choose their PIDs in lxc-cr's), and the process goes on.
if unshare --user --map-root-user true 2>/dev/null; then
	setsid unshare --user --map-root-user sleep 1000 </dev/null >/dev/null 2>&1 &
	pid=$!
	started+=($pid)
	for i in $(seq 100); do
		[ "$(readlink /proc/$pid/ns/user 2>/dev/null)" != "$(readlink /proc/self/ns/user)" ] && break
		sleep 0.05
	done
	mkdir -p "$work/userns"
	if "$lxc_cr" dump -t "$pid" -D "$work/userns" -o "$work/userns.log" 2>"$work/userns.err"; then
		fail "the dump succeeded"
	else
		grep -q "pid $pid: has a user namespace of its own but not a PID namespace; not supported" \
			"$work/userns.err" || fail "it says \"$(first "$work/userns.err")\""
	fi
	alive "$pid" || fail "the process $pid is gone"
	[ -z "$(ls -A "$work/userns")" ] || fail "left in the image dir: $(ls -A "$work/userns" | tr '\n' ' ')"
	check "dump of a process in a user namespace without a PID namespace is refused naming it; it goes on"
	kill "$pid" 2>/dev/null
	wait_gone "$pid"
else
	echo "ok $((n += 1)) # SKIP unshare --user --map-root-user does not work here"
fi

# ---- (i) a file the tree cannot reach at its path any more ----
# In its own mount (and pid) namespace, a process opens a file and then mounts a
# tmpfs over the file's directory: from its root, the path leads elsewhere.
# The dump must refuse, naming pid, fd and path, and leave it running.
hid=$work/hidden
mkdir -p "$hid"
echo secret >"$hid/file"
setsid unshare -m -p -f --propagation private sh -c \
	'exec 7<"$1/file"; mount -t tmpfs covered "$1" || exit 1; exec setsid sleep 1000' sh "$hid" \
	</dev/null >/dev/null 2>"$work/hidden.err" &
outer=$!
started+=($outer)
pid=
for i in $(seq 100); do
	pid=$(cat /proc/$outer/task/$outer/children 2>/dev/null | awk '{ print $1 }')
	[ -n "$pid" ] && [ "$(readlink /proc/"$pid"/exe 2>/dev/null)" = "$(readlink -f "$(command -v sleep)")" ] && break
	sleep 0.05
done
if [ -z "$pid" ] || ! [ -e "/proc/$pid/fd/7" ]; then
	not_ok "a process holding a file covered by a mount since" "it did not start: $(cat "$work/hidden.err")"
else
	mkdir -p "$work/hidden-img"
	if "$lxc_cr" dump -t "$pid" -D "$work/hidden-img" -o "$work/hidden.log" 2>"$work/hidden-dump.err"; then
		fail "the dump succeeded"
	else
		grep -q -- "pid $pid fd 7: $hid/file is not reachable" "$work/hidden-dump.err" ||
			fail "it says \"$(first "$work/hidden-dump.err")\""
		alive "$pid" || fail "the process $pid is gone"
		[ -z "$(ls -A "$work/hidden-img")" ] || fail "left in the image dir: $(ls -A "$work/hidden-img" | tr '\n' ' ')"
	fi
	check "dump of pid $pid holding $hid/file (fd 7) under a tmpfs mounted since is refused naming pid, fd and path; it keeps running"
	kill -9 "$pid" 2>/dev/null
fi
wait "$outer" 2>/dev/null

# ---- (g) namespaces the dump does not handle: refused naming the pid and the kind ----
# unshare(CLONE_NEWPID) without a child yet: its children would be born elsewhere
setsid unshare -p sleep 1000 </dev/null >/dev/null 2>&1 &
pid=$!
started+=($pid)
for i in $(seq 100); do [ "$(readlink /proc/$pid/exe 2>/dev/null)" = "$(readlink -f /bin/sleep)" ] && break; sleep 0.05; done
mkdir -p "$work/pidfc"
if "$lxc_cr" dump -t "$pid" -D "$work/pidfc" -o "$work/pidfc.log" 2>"$work/pidfc.err"; then
	fail "the dump succeeded"
else
	grep -q "pid $pid: the PID namespace of its future children is not its own" "$work/pidfc.err" ||
		fail "it says \"$(first "$work/pidfc.err")\""
fi
alive "$pid" || fail "the process $pid is gone"
ls "$work/pidfc" | grep -q . && fail "images left: $(ls "$work/pidfc" | tr '\n' ' ')"
check "dump of $pid after unshare(CLONE_NEWPID) without a child is refused naming it; it runs on"
kill "$pid" 2>/dev/null
wait_gone "$pid"

# a child in a UTS namespace of its own, the root in lxc-cr's
setsid bash -c 'unshare -u sleep 1000 & echo $! > "$1"; wait' uts "$work/uts.child" </dev/null >/dev/null 2>&1 &
pid=$!
started+=($pid)
for i in $(seq 100); do [ -s "$work/uts.child" ] && [ "$(readlink /proc/$(cat "$work/uts.child")/exe 2>/dev/null)" = "$(readlink -f /bin/sleep)" ] && break; sleep 0.05; done
child=$(cat "$work/uts.child")
started+=($child)
mkdir -p "$work/uts"
if "$lxc_cr" dump -t "$pid" -D "$work/uts" -o "$work/uts.log" 2>"$work/uts.err"; then
	fail "the dump succeeded"
else
	grep -q "pid $child: its uts namespace is not the one of the root (pid $pid)" "$work/uts.err" ||
		fail "it says \"$(first "$work/uts.err")\""
fi
alive "$pid" && alive "$child" || fail "the tree $pid is gone"
check "dump of $pid whose child $child has a UTS namespace of its own is refused naming it and the kind"
kill "$child" "$pid" 2>/dev/null
wait_gone "$pid"

# a process of a nested PID namespace left in a group of the outer one that its
# parent (the nested init) has left: no restore could put it back there
cat > "$work/pgns.py" <<'PY'
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
own = os.open("/proc/self/ns/pid", os.O_RDONLY)
if libc.unshare(0x20000000) != 0:
    sys.exit(3)
n = os.fork()
if n == 0:
    x = os.fork()
    if x == 0:
        while True:
            time.sleep(1)
    os.setpgid(0, 0)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d" % x)
    while True:
        time.sleep(1)
libc.setns(own, 0x20000000)
while True:
    time.sleep(1)
PY
setsid python3 "$work/pgns.py" "$work/pgns.x" </dev/null >/dev/null 2>&1 &
pid=$!
started+=($pid)
for i in $(seq 100); do [ -s "$work/pgns.x.tmp" ] && break; sleep 0.05; done
nested=$(cat /proc/$pid/task/$pid/children 2>/dev/null)
nested=${nested%% *}
x=$(cat /proc/$nested/task/$nested/children 2>/dev/null)
x=${x%% *}
mkdir -p "$work/pgns"
if [ -z "$x" ]; then
	fail "the nested tree did not start"
elif "$lxc_cr" dump -t "$pid" -D "$work/pgns" -o "$work/pgns.log" 2>"$work/pgns.err"; then
	fail "the dump succeeded"
else
	grep -q "pid $x: its process group $pid is outside its PID namespace and not its parent's" "$work/pgns.err" ||
		fail "it says \"$(first "$work/pgns.err")\""
fi
alive "$pid" && alive "${x:-0}" || fail "the tree $pid is gone"
check "dump of $pid whose nested process $x stayed in the outer group $pid is refused naming it"
# the nested init takes from outside no signal it has no handler for but SIGKILL
kill -9 "${nested:-0}" 2>/dev/null
kill "$pid" 2>/dev/null
wait_gone "$pid"

# --leave-running leaves a working process working: a bash counter (no fork)
cnt=$work/counter-bash
mkfifo "$work/tick"
setsid bash -c 'exec 3<>"$2"; i=0; while :; do i=$((i + 1)); echo $i >| "$1"; read -t 0.02 -u 3 x; done' \
	counter "$cnt" "$work/tick" </dev/null >/dev/null 2>&1 &
pid=$!
started+=($pid)
for i in $(seq 100); do [ -s "$cnt" ] && break; sleep 0.05; done
mkdir -p "$work/lr"
if "$lxc_cr" dump -t "$pid" -D "$work/lr" --leave-running -o "$work/lr.log" 2>"$work/lr.err"; then
	alive "$pid" || fail "the process $pid is gone"
	counter_advances "$pid" "$cnt" || fail "its counter does not advance after the dump"
	[ -s "$work/lr/core-$pid.img" ] || fail "no core-$pid.img written"
else
	fail "dump failed: $(first "$work/lr.err")"
fi
check "dump --leave-running of a bash counter $pid: images written, it keeps counting"
kill "$pid" 2>/dev/null
wait_gone "$pid"

# ---- (g) a terminal whose master is held outside the tree ----
# A python holder opens a pty pair and starts "sleep" as a session leader
# with the slave as stdin/stdout/stderr and controlling terminal; it keeps
# the master. Prints "SLEEP_PID SLAVE_PATH tty[RDEV:DEV]" into $work/ext.info.
setsid python3 -c '
import os, subprocess, sys, time, fcntl, termios
m, s = os.openpty()
path = os.ttyname(s)
st = os.stat(path)
def ctty():
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
p = subprocess.Popen(["sleep", "1000"], stdin=s, stdout=s, stderr=s, start_new_session=True,
                     preexec_fn=ctty)
os.close(s)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d %s tty[%x:%x]\n" % (p.pid, path, st.st_rdev, st.st_dev))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
p.wait()
while True:
    time.sleep(1000)
' "$work/ext.info" </dev/null >/dev/null 2>"$work/ext.holder.err" &
disown $!
started+=($!)
for i in $(seq 100); do [ -s "$work/ext.info" ] && break; sleep 0.05; done
read -r ext_pid ext_path ext_key < "$work/ext.info" 2>/dev/null
if [ -z "${ext_key:-}" ]; then
	not_ok "a sleep on a pty whose master is held outside" "the holder did not start: $(first "$work/ext.holder.err")"
else
	started+=("$ext_pid")
	echo "# sleep $ext_pid on $ext_path ($ext_key), master held outside"
	mkdir -p "$work/ext0"
	"$lxc_cr" dump -t "$ext_pid" -D "$work/ext0" -o "$work/ext0.log" 2>"$work/ext0.err"
	rc=$?
	[ "$rc" != 0 ] || fail "dump succeeded"
	for e in "pid $ext_pid fd 0" "$ext_path" "outside the tree" "--external $ext_key"; do
		grep -q -F -- "$e" "$work/ext0.err" || fail "stderr does not say \"$e\": $(first "$work/ext0.err")"
	done
	alive "$ext_pid" || fail "the process $ext_pid is gone"
	[ -z "$(ls -A "$work/ext0")" ] || fail "left in the image dir: $(ls -A "$work/ext0" | tr '\n' ' ')"
	check "dump of a pty slave whose master is outside, undeclared, is refused naming pid, fd, tty and --external $ext_key"

	for bad in 'tty[zz:1]' 'tty[8801]' 'tty[1:2]x' 'tty[:1]' 'tty'; do
		"$lxc_cr" dump -t "$ext_pid" -D "$work/ext0" --external "$bad" -o "$work/ext0.log" 2>"$work/ext0.err"
		rc=$?
		[ "$rc" != 0 ] || fail "dump succeeded"
		grep -q -F -- "$bad" "$work/ext0.err" || fail "stderr does not name '$bad': $(first "$work/ext0.err")"
		grep -q -F -- "tty[RDEV:DEV]" "$work/ext0.err" || fail "stderr does not give the spelling: $(first "$work/ext0.err")"
		alive "$ext_pid" || fail "the process $ext_pid is gone"
		check "dump --external '$bad' is refused naming it and the spelling; the process goes on"
	done
	"$lxc_cr" dump -t "$ext_pid" -D "$work/ext0" --inherit-fd "fd[0]:$ext_key" -o "$work/ext0.log" 2>"$work/ext0.err"
	[ $? != 0 ] || fail "dump succeeded"
	grep -q -- "--inherit-fd is for restore" "$work/ext0.err" || fail "it says: $(first "$work/ext0.err")"
	check "dump --inherit-fd is refused: it is a restore option"

	mkdir -p "$work/ext"
	if ! "$lxc_cr" dump -t "$ext_pid" -D "$work/ext" --external "$ext_key" -o "$work/ext.log" 2>"$work/ext.err"; then
		not_ok "dump --external $ext_key" "$(first "$work/ext.err")"
	else
		wait_gone "$ext_pid" || fail "pid $ext_pid still exists after its dump"
		"$lxc_cr" show "$work/ext/tty.img" | grep -q -F "\"ext_key\": \"$ext_key\"" ||
			fail "tty.img does not record ext_key $ext_key"
		check "dump --external $ext_key: the terminal is recorded by its key"

		# restore_ext_fails WHAT [ARGS...]: restore with ARGS (fd 9 is /dev/null) must
		# fail with stderr naming each of $expect, create no process, keep the images.
		restore_ext_fails() {
			local what=$1 before rc e
			shift
			before=$(sums "$work/ext")
			timeout 60 "$lxc_cr" restore -D "$work/ext" -d "$@" 9</dev/null 2>"$work/ext.rerr" >/dev/null
			rc=$?
			[ "$rc" != 0 ] || fail "restore succeeded"
			for e in "${expect[@]}"; do
				grep -q -F -- "$e" "$work/ext.rerr" || fail "stderr does not say \"$e\": $(first "$work/ext.rerr")"
			done
			if [ -d "/proc/$ext_pid" ]; then
				fail "a process with pid $ext_pid exists after the failed restore"
				kill -9 "$ext_pid" 2>/dev/null
				wait_gone "$ext_pid"
			fi
			[ "$before" = "$(sums "$work/ext")" ] || fail "the images changed"
			check "$what"
		}
		expect=("$ext_key" "--inherit-fd fd[N]:$ext_key")
		restore_ext_fails "restore without --inherit-fd for $ext_key fails naming the key; no process"
		expect=("fd[8]" "descriptor 8 is not open")
		restore_ext_fails "restore --inherit-fd fd[8]:$ext_key, fd 8 not open, fails naming it; no process" \
			--inherit-fd "fd[8]:$ext_key"
		expect=("fd[9]" "not a terminal")
		restore_ext_fails "restore --inherit-fd fd[9]:$ext_key with /dev/null at fd 9 fails: not a terminal; no process" \
			--inherit-fd "fd[9]:$ext_key"
		expect=("$ext_key" "twice")
		restore_ext_fails "restore with --inherit-fd $ext_key twice fails naming it; no process" \
			--inherit-fd "fd[9]:$ext_key" --inherit-fd "fd[2]:$ext_key"
		expect=("--external '$ext_key' is for dump" "--inherit-fd fd[N]:$ext_key")
		restore_ext_fails "restore --external $ext_key (a dump option) is refused pointing at --inherit-fd; no process" \
			--external "$ext_key"
		for bad in "fd[x]:$ext_key" 'fd[9]' 'fd[9]:' "9:$ext_key" "fd[-1]:$ext_key" "fd[9:$ext_key" "fd[99999999999]:$ext_key"; do
			expect=("--inherit-fd '$bad'" "expected fd[N]:KEY")
			restore_ext_fails "restore --inherit-fd '$bad' is refused naming it and the spelling; no process" \
				--inherit-fd "$bad"
		done

		# and with a new pair handed in, it runs on the new terminal as its session's
		# (the master is held, else the hangup would end it)
		KEY="$ext_key" python3 -c '
import os, subprocess, sys, time
m, s = os.openpty()
os.dup2(s, 9)
r = subprocess.run(sys.argv[2:] + ["--inherit-fd", "fd[9]:" + os.environ["KEY"]], pass_fds=(9,))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d %s\n" % (r.returncode, os.ttyname(s)))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    time.sleep(1000)
' "$work/ext.newtty" "$lxc_cr" restore -D "$work/ext" -d -o "$work/ext.rlog" </dev/null >/dev/null 2>"$work/ext.rerr" &
		disown $!
		started+=($!)
		for i in $(seq 200); do [ -s "$work/ext.newtty" ] && break; sleep 0.05; done
		read -r rc newtty < "$work/ext.newtty" 2>/dev/null
		if [ "${rc:-1}" != 0 ]; then
			fail "restore failed (${rc:-no result}): $(first "$work/ext.rerr")"
		else
			alive "$ext_pid" || fail "no process $ext_pid after the restore"
			[ "$(readlink "/proc/$ext_pid/fd/0")" = "$newtty" ] ||
				fail "its fd 0 is $(readlink "/proc/$ext_pid/fd/0"), not the new $newtty"
			nr=$(awk '{ sub(/.*\) /, ""); print $5 }' "/proc/$ext_pid/stat")
			rdev=$(stat -c '%t:%T' "$newtty")
			[ "$(printf '%x:%x' $(( (nr >> 8) & 0xfff )) $(( (nr & 0xff) | ((nr >> 12) & 0xfff00) )))" = "$rdev" ] ||
				fail "its controlling terminal (tty_nr $nr) is not $newtty ($rdev)"
			kill -9 "$ext_pid" 2>/dev/null
			wait_gone "$ext_pid"
		fi
		check "restore --inherit-fd fd[9]:$ext_key with a new pty: the sleep runs with it as fd 0 and controlling terminal"
	fi
fi

# ---- (j) FUSE: a server outside the tree, a /dev/fuse whose mount is not the
# tree's, a file open on a FUSE fs: refused by name, without waiting on a server
fh=$(dirname "$lxc_cr")/../tests/badinput/fuse-holder
if [ ! -x "$fh" ]; then
	echo "ok $((n += 1)) # SKIP $fh not built (make check TESTS=)"
else
	for mode in outside nomount inherited inflight inflight1 openfile; do
		d=$work/fuse-$mode
		mkdir -p "$d/mnt" "$d/img"
		"$fh" "$mode" "$d/mnt" >"$d/pid" 2>"$d/holder.err" </dev/null &
		hpid=$!
		started+=($hpid)
		for i in $(seq 100); do [ -s "$d/pid" ] && break; sleep 0.05; done
		pid=$(cat "$d/pid" 2>/dev/null)
		if [ -z "$pid" ]; then
			if ! kill -0 "$hpid" 2>/dev/null && wait "$hpid"; [ $? = 77 ]; then
				echo "ok $((n += 1)) # SKIP FUSE ($mode): cannot mount here: $(first "$d/holder.err")"
			else
				not_ok "fuse-holder ($mode)" "did not start: $(first "$d/holder.err")"
			fi
			continue
		fi
		started+=($pid)
		disown "$hpid" 2>/dev/null	# no "Killed" line from the shell at the end
		case $mode in
		outside) expect="its server is not in the tree" ;;
		nomount) expect="/dev/fuse serves a FUSE mount that is not one of the tree's own mounts" ;;
		inherited) expect="is in lxc-cr's mount namespace (the tree has none of its own) (FUSE mounts the tree sees but does not own: $d/mnt (connection [0-9]*))" ;;
		openfile) expect="a file of a FUSE filesystem (mount [0-9]*); open files of FUSE filesystems are not supported" ;;
		inflight) expect="did not stop within 10 s: it waits in the kernel (request_wait_answer): on a FUSE request" ;;
		inflight1) expect="waits on a FUSE request (request_wait_answer) whose server may be stopped: the tree is released for it to answer, then stopped again" ;;
		esac
		# inherited: lxc-cr in the holder's mount namespace, where the mount is
		$([ $mode = inherited ] && echo nsenter -t "$hpid" -m) \
			timeout 90 "$lxc_cr" dump -t "$pid" -D "$d/img" -o "$d/dump.log" \
			$([ $mode = inflight1 ] && echo --leave-running) 2>"$d/dump.err"
		rc=$?
		[ "$rc" = 124 ] && fail "the dump hung (killed after 90 s)"
		if [ $mode = inflight1 ]; then
			# the reader is stopped on a second attempt, once its read was answered
			[ "$rc" = 0 ] || fail "the dump failed: $(first "$d/dump.err")"
			grep -q -- "$expect" "$d/dump.log" || fail "the log does not say \"$expect\""
			alive "$pid" || fail "the process $pid is gone"
			check "FUSE ($mode): a read in flight on the tree's own server: the tree is released for it, then the dump (--leave-running) succeeds"
		else
			[ "$rc" = 0 ] && fail "the dump succeeded"
			grep -q -- "$expect" "$d/dump.err" || fail "it says \"$(first "$d/dump.err")\", not \"$expect\""
			alive "$pid" || fail "the process $pid is gone"
			[ -z "$(ls -A "$d/img")" ] || fail "left in the image dir: $(ls -A "$d/img" | tr '\n' ' ')"
			check "FUSE ($mode): the dump of pid $pid is refused saying \"$expect\"; the process goes on"
		fi
		# the openfile holder closes its FUSE file first (see fuse-holder.c)
		kill -TERM "$pid" 2>/dev/null
		wait_gone "$pid" || kill -9 "$pid" 2>/dev/null
		kill -9 "$pid" "$hpid" 2>/dev/null
		wait_gone "$pid"
		wait_gone "$hpid"
	done
fi

# ---- (k) FUSE: a restore failing after the FUSE mount was made (its
# FUSE_INIT answered), or once the tree runs and before the binds of its files,
# leaves no process and the images as they were; then a restore works and the
# test program (zdtm static/fuse00: its server thread, a bind of its file)
# checks itself.
f0=$(dirname "$lxc_cr")/../tests/zdtm/static/fuse00
if [ ! -x "$f0" ]; then
	echo "ok $((n += 1)) # SKIP $f0 not built (make check TESTS=)"
else
	d=$work/fuse-rst
	mkdir -p "$d/img"
	(cd "$d" && "$f0" --pidfile "$d/test.pid" --outfile "$d/test.out" </dev/null >/dev/null 2>&1)
	pid=$(cat "$d/test.pid" 2>/dev/null)
	if [ -z "$pid" ] && grep -q SKIP "$d/test.out" 2>/dev/null; then
		echo "ok $((n += 1)) # SKIP FUSE restore faults: $(first "$d/test.out")"
	elif [ -z "$pid" ]; then
		not_ok "FUSE restore faults" "fuse00 did not start: $(first "$d/test.out")"
	elif ! timeout 60 "$lxc_cr" dump -t "$pid" -D "$d/img" -o "$d/dump.log" 2>"$d/dump.err"; then
		not_ok "FUSE restore faults" "the dump of fuse00 failed: $(first "$d/dump.err")"
		kill -9 "$pid" 2>/dev/null
	else
		wait_gone "$pid"
		before=$(sums "$d/img")
		for point in after-mounts fuse-binds; do
			LXC_CR_FAULT=$point timeout 60 "$lxc_cr" restore -D "$d/img" -d -o "$d/rst-$point.log" \
				2>"$d/rst-$point.err" >/dev/null
			rc=$?
			[ "$rc" = 0 ] && fail "the restore succeeded"
			[ "$rc" = 124 ] && fail "the restore hung"
			grep -q -- "'$point'" "$d/rst-$point.err" || fail "it says \"$(first "$d/rst-$point.err")\""
			wait_gone "$pid" || fail "a process $pid exists after the failed restore"
			[ "$(sums "$d/img")" = "$before" ] || fail "the images changed"
			check "FUSE: a restore failing at $point leaves no process and the images as they were"
		done
		# damaged FUSE records are refused naming their image, before anything exists
		for img in fuse.img fuse-mnt.img; do
			cp -a "$d/img" "$d/cut"
			size=$(stat -c %s "$d/cut/$img")
			truncate -s $((size - 3)) "$d/cut/$img"
			timeout 60 "$lxc_cr" restore -D "$d/cut" -d 2>"$d/cut.err" >/dev/null && fail "the restore succeeded"
			grep -q -F "$img" "$d/cut.err" || fail "it says \"$(first "$d/cut.err")\""
			wait_gone "$pid" || fail "a process $pid exists after the failed restore"
			rm -rf "$d/cut"
			check "FUSE: a restore with $img cut by 3 bytes fails naming it; no process"
		done
		if ! timeout 60 "$lxc_cr" restore -D "$d/img" -d --pidfile "$d/rpid" -o "$d/rst.log" 2>"$d/rst.err" >/dev/null; then
			fail "the restore failed: $(first "$d/rst.err")"
		else
			kill -TERM "$(cat "$d/rpid")"
			wait_gone "$(cat "$d/rpid")"
			for i in $(seq 100); do grep -q -e PASS -e FAIL "$d/test.out" && break; sleep 0.05; done
			grep -q PASS "$d/test.out" || fail "the test says: $(tail -n 1 "$d/test.out")"
		fi
		check "FUSE: then a restore of the same images works and fuse00 passes"
	fi
fi

# ---- (l) a bind of a FUSE file whose server is outside the tree (the
# container's /proc/meminfo when only the container is dumped): refused with
# the way to declare it; declared with --external mnt[MOUNTPOINT] at dump, and
# given its source with --external mnt[MOUNTPOINT]:PATH at restore (refused
# without), after which the restored process reads the file through the bind.
if [ -x "$fh" ]; then
	d=$work/fuse-ext
	mkdir -p "$d/mnt" "$d/img" "$d/img2"
	"$fh" extbind "$d/mnt" >"$d/pid" 2>"$d/holder.err" </dev/null &
	hpid=$!
	started+=($hpid)
	for i in $(seq 100); do [ -s "$d/pid" ] && break; sleep 0.05; done
	pid=$(cat "$d/pid" 2>/dev/null)
	if [ -z "$pid" ]; then
		echo "ok $((n += 1)) # SKIP FUSE external bind: fuse-holder did not start: $(first "$d/holder.err")"
	else
		started+=($pid)
		disown "$hpid" 2>/dev/null
		key="mnt[$d/mnt.file]"
		timeout 60 "$lxc_cr" dump -t "$pid" -D "$d/img2" -o "$d/dump0.log" 2>"$d/dump0.err" && fail "the dump succeeded"
		grep -q -F -- "declare it with --external $key" "$d/dump0.err" || fail "it says \"$(first "$d/dump0.err")\""
		alive "$pid" || fail "the process $pid is gone"
		check "FUSE: a bind of a FUSE file served outside the tree is refused saying --external $key"
		if ! timeout 60 "$lxc_cr" dump -t "$pid" -D "$d/img" -o "$d/dump.log" --external "$key" 2>"$d/dump.err"; then
			not_ok "FUSE: dump with --external $key" "$(first "$d/dump.err")"
		else
			wait_gone "$pid"
			before=$(sums "$d/img")
			timeout 60 "$lxc_cr" restore -D "$d/img" -d 2>"$d/rst0.err" >/dev/null && fail "the restore succeeded"
			grep -q -F -- "give its source with --external $key:PATH" "$d/rst0.err" ||
				fail "it says \"$(first "$d/rst0.err")\""
			wait_gone "$pid" || fail "a process $pid exists after the failed restore"
			[ "$(sums "$d/img")" = "$before" ] || fail "the images changed"
			check "FUSE: its restore without a source is refused saying --external $key:PATH"
			src=/proc/$hpid/root$d/mnt/data
			if ! timeout 60 "$lxc_cr" restore -D "$d/img" -d --pidfile "$d/rpid" -o "$d/rst.log" \
				--external "$key:$src" 2>"$d/rst.err" >/dev/null; then
				fail "the restore failed: $(first "$d/rst.err")"
			else
				kill -TERM "$(cat "$d/rpid")"
				wait_gone "$(cat "$d/rpid")"
				[ "$(cat "$d/mnt.result" 2>/dev/null)" = abc ] ||
					fail "through the bind it read '$(cat "$d/mnt.result" 2>/dev/null)', not the server's 'abc'"
			fi
			check "FUSE: restored with --external $key:$src, it reads the server's file through the bind"
		fi
	fi
	kill -9 "$pid" "$hpid" 2>/dev/null
	wait_gone "$hpid"
fi

echo "1..$n"
[ "$failed" = 0 ]
