#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job, end to end: install, build, start a real program (a shell
# loop counting and a child it keeps), checkpoint it with lxc-cr (the program
# is gone), restore it (same PID, same state), and show it carrying on.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "scripts/demo.sh: must run as root" >&2
	exit 1
fi
"$top/scripts/deps.sh"
"$top/scripts/build.sh" "$top/build"
# PID 1 may not reap orphans: run the demo under a reaping subreaper.
if [ -z "${DEMO_INNER:-}" ]; then
	DEMO_INNER=1 exec "$top/build/tests/zdtm/zdtm-subreaper" "$0" "$@"
fi
lxc_cr=$top/build/src/lxc-cr
work=$(mktemp -d /tmp/lxc-cr-demo.XXXX)
mkdir -p "$work/images"
cd "$work"

# The program: a counter that also keeps a value in memory and a child.
setsid bash -c 'secret=$RANDOM$RANDOM; echo "secret $secret" > secret.txt
	sleep 1000 & n=0
	while :; do n=$((n + 1)); echo "tick $n (pid $$, secret $secret, child $!)"; sleep 0.3; done' \
	</dev/null >counter.log 2>&1 &
pid=$!
disown "$pid"
sleep 1.5
echo "--- running as pid $pid:"; tail -n 2 counter.log

"$lxc_cr" dump -t "$pid" -D images -o dump.log -v4
echo "--- dumped into $work/images ($(du -sh images | cut -f1)); $(grep -o 'frozen for .*' images/dump.log)"
for i in $(seq 50); do [ -d /proc/$pid ] || break; sleep 0.1; done
if [ -d /proc/$pid ]; then echo "pid $pid still exists after the dump" >&2; exit 1; fi
echo "--- pid $pid is gone; last line written: $(tail -n 1 counter.log)"
sleep 1
last=$(tail -n 1 counter.log | awk '{print $2}')

"$lxc_cr" restore -D images -d --pidfile restored.pid -o restore.log -v4
echo "--- restored as pid $(cat restored.pid)"
sleep 1.5
tail -n 4 counter.log
next=$(grep -m1 -A1 "^tick $last " counter.log | tail -n 1 | awk '{print $2}')
if [ "$next" = $((last + 1)) ] && [ -d /proc/$pid ]; then
	echo "--- OK: the counter went on from $last to $next in the same process $pid"
	status=0
else
	echo "--- FAILED: the counter did not go on from $last" >&2
	status=1
fi
pkill -KILL -s "$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
exit $status
