#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job, end to end: install, build, then
#  1. a real program (a shell loop counting and a child it keeps):
#     checkpoint it with lxc-cr (the program is gone), restore it (same PID,
#     same state), and show it carrying on;
#  2. a whole container, built the way libvirt's LXC driver builds one
#     (tests/container/ct-launch: pivot_root into a busybox rootfs, its own
#     pid/mnt/uts/ipc/net namespaces, devpts, /dev, a veth on a bridge,
#     cgroups): checkpoint it by its init's PID, restore it, and show its
#     processes with the same PIDs inside, its hostname, its address and its
#     counter going on;
#  3. a libvirt LXC domain (scripts/libvirt-build.sh, scripts/libvirtd.sh):
#     define and start it, put state in it (a tmpfs, a counter, a shell
#     variable in its console's shell), virsh save, virsh restore, and show
#     the same PIDs, the state, and the console reaching the same shell.
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
[ $status = 0 ] || exit $status

# ---- 2. a container
echo
echo "=== a whole container"
launch=$top/build/tests/container/ct-launch
root=$work/rootfs
name=demo$$
bridge=demobr$$
veth=demov$$
"$top/tests/container/mkrootfs.sh" --hostname "$name" "$root" >/dev/null
cat >"$root/init.sh" <<'EOF2'
#!/bin/sh
mkdir -p /mnt && mount -t tmpfs -o size=1m scratch /mnt
echo "kept in a tmpfs of the container" >/mnt/note
sh -c 'while :; do sleep 1; done' &
n=0
while :; do n=$((n + 1)); echo "$n $(hostname)" >>/var/count; sleep 0.2; done
EOF2
chmod 755 "$root/init.sh"
ip link add "$bridge" type bridge
ip addr add 10.215.3.1/24 dev "$bridge"
ip link set "$bridge" up
init=
cleanup_ct() {
	if [ -n "$init" ] && kill -KILL "$init" 2>/dev/null; then
		for i in $(seq 50); do kill -0 "$init" 2>/dev/null || break; sleep 0.1; done
	fi
	ip link del dev "$bridge" 2>/dev/null
	for d in "${cgdirs[@]}"; do
		for i in $(seq 20); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
	done
	return 0
}
cgdirs=()
trap cleanup_ct EXIT
"$launch" --name "$name" --rootfs "$root" --no-console-stdio --pidfile "$work/init.pid" \
	--veth-host "$veth" --bridge "$bridge" --ip 10.215.3.2/24 --gw 10.215.3.1 \
	-- /bin/sh /init.sh </dev/null >"$work/launch.log" 2>&1 &
ctl=$!
for i in $(seq 100); do [ -s "$work/init.pid" ] && [ -s "$root/var/count" ] && break; sleep 0.1; done
init=$(cat "$work/init.pid")
# the container's cgroups: a new controller makes them again before a restore
. "$top/tests/container/lib.sh"
mapfile -t cgdirs < <(ct_cgroup_dirs "$init")
# the container's shells (their short-lived sleep children come and go)
ct_ps() { nsenter -t "$1" -p -m ps -o pid,comm | awk '$2 == "sh" { printf "%s%s %s", s, $1, $2; s = ", " }'; }
echo "--- container $name running, init host pid $init; inside: $(ct_ps "$init")"
echo "--- hostname $(nsenter -t "$init" -u hostname), eth0 $(nsenter -t "$init" -n ip -4 -o addr show dev eth0 | awk '{print $4}')"
before=$(ct_ps "$init")
sleep 1
mkdir -p "$work/ct-images"
"$lxc_cr" dump -t "$init" -D "$work/ct-images" -o dump.log -v4
echo "--- dumped ($(du -sh "$work/ct-images" | cut -f1)); $(grep -o 'frozen for .*' "$work/ct-images/dump.log")"
wait "$ctl" 2>/dev/null || true
last=$(tail -n 1 "$root/var/count" | awk '{print $1}')
echo "--- the container is gone (its launcher exited); last count $last"
ct_make_cgroups "${cgdirs[@]}"
t0=$(date +%s%N)
"$lxc_cr" restore -D "$work/ct-images" -d --pidfile "$work/ct-restored.pid" -o restore.log -v4 \
	--external "veth[eth0]:$veth@$bridge"
t1=$(date +%s%N)
init=$(cat "$work/ct-restored.pid")
echo "--- restored in $(( (t1 - t0) / 1000000 )) ms, init host pid $init; inside: $(ct_ps "$init")"
sleep 1
after=$(ct_ps "$init")
note=$(nsenter -t "$init" -m cat /mnt/note)
next=$(grep -m1 -A1 "^$last " "$root/var/count" | tail -n 1 | awk '{print $1}')
ok=1
[ "$before" = "$after" ] || { echo "--- FAILED: processes inside were: $before; now: $after" >&2; ok=0; }
[ "$next" = $((last + 1)) ] || { echo "--- FAILED: the count did not go on from $last (next: '$next')" >&2; ok=0; }
[ "$note" = "kept in a tmpfs of the container" ] || { echo "--- FAILED: the tmpfs lost its note: '$note'" >&2; ok=0; }
busybox ping -c 1 -W 3 -I "$bridge" 10.215.3.2 >/dev/null || { echo "--- FAILED: no ping to 10.215.3.2" >&2; ok=0; }
[ $ok = 1 ] || exit 1
echo "--- OK: same PIDs inside, the count went on from $last to $next, the tmpfs kept its note, eth0 answers ping"
cleanup_ct
trap - EXIT

# ---- 3. a libvirt LXC domain: virsh save, virsh restore
echo
echo "=== a libvirt LXC domain through virsh (Debian's libvirt 9.0.0 with our patch series)"
"$top/scripts/libvirt-build.sh" | tail -n 1
virsh=${LXC_CR_LIBVIRT_PREFIX:-/opt/lxc-cr/libvirt}/bin/virsh
export LXC_CR_LIBVIRTD_NAME=demo$$
uri=$("$top/scripts/libvirtd.sh" start)
dom=demodom$$
lvbr=demolv$$
V() { "$virsh" -q -c "$uri" "$@"; }
cleanup_lv() {
	V destroy "$dom" >/dev/null 2>&1
	V undefine "$dom" >/dev/null 2>&1
	"$top/scripts/libvirtd.sh" stop >/dev/null 2>&1
	rm -rf "/var/lib/lxc-cr/libvirtd/$LXC_CR_LIBVIRTD_NAME" "/run/lxc-cr/libvirtd/$LXC_CR_LIBVIRTD_NAME"
	ip link del dev "$lvbr" 2>/dev/null
	return 0
}
trap cleanup_lv EXIT
ip link add "$lvbr" type bridge && ip addr add 10.215.4.1/24 dev "$lvbr" && ip link set "$lvbr" up
"$top/tests/container/mkrootfs.sh" --hostname "$dom" "$work/lvroot" >/dev/null
cat >"$work/lvroot/init.sh" <<'EOF2'
#!/bin/sh
ip addr add 10.215.4.2/24 dev eth0 && ip link set eth0 up
mkdir -p /mnt && mount -t tmpfs -o size=1m scratch /mnt
echo "kept in a tmpfs of the domain" >/mnt/note
setsid sh -c 'n=0; while :; do n=$((n + 1)); echo $n >/var/count; sleep 0.2; done' </dev/null >/dev/null 2>&1 &
exec /bin/sh
EOF2
chmod 755 "$work/lvroot/init.sh"
cat >"$work/$dom.xml" <<EOF2
<domain type='lxc'>
  <name>$dom</name>
  <memory unit='KiB'>131072</memory>
  <os><type>exe</type><init>/init.sh</init></os>
  <devices>
    <filesystem type='mount'><source dir='$work/lvroot'/><target dir='/'/></filesystem>
    <interface type='bridge'><source bridge='$lvbr'/></interface>
    <console type='pty'/>
  </devices>
</domain>
EOF2
V define "$work/$dom.xml" >/dev/null
V start "$dom" >/dev/null
ctlpid=$(V domid "$dom")
for i in $(seq 100); do [ -s "$work/lvroot/var/count" ] && break; sleep 0.1; done
# console: run LINE in the domain's console shell (virsh console through script(1))
console() {
	(sleep 1.5; printf '%s\r' "$1"; sleep 1; printf '\035') |
		script -qfec "$virsh -c '$uri' console $dom" /dev/null 2>/dev/null | tr -d '\r' | grep -a "^$2" | head -n 1 || true
}
cons=$(console 'GREETING=hello-from-before-the-save; echo "shell $$ ready: $GREETING"' 'shell')
lvinit=$(pgrep -P "$ctlpid" | head -n 1)
lvps() { nsenter -t "$lvinit" -p -m ps -o pid,comm | awk '$2 == "sh" { printf "%s%s %s", s, $1, $2; s = ", " }'; }
before=$(lvps)
echo "--- $dom running: controller pid $ctlpid, init $lvinit; inside: $before"
echo "--- console: $cons; /proc/meminfo inside: $(nsenter -t "$lvinit" -m head -n 1 /proc/meminfo | tr -s ' ')"
t0=$(date +%s%N)
V save "$dom" "$work/$dom.save" >/dev/null
t1=$(date +%s%N)
last=$(cat "$work/lvroot/var/count")
echo "--- virsh save: $(( (t1 - t0) / 1000000 )) ms, $(du -h "$work/$dom.save" | cut -f1); $(V domstate --reason "$dom"); count stopped at $last"
sleep 1
t0=$(date +%s%N)
V restore "$work/$dom.save" >/dev/null
t1=$(date +%s%N)
echo "--- virsh restore: $(( (t1 - t0) / 1000000 )) ms; $(V domstate --reason "$dom"), id $(V domid "$dom")"
sleep 0.5
after=$(lvps)
cons=$(console 'echo "same shell $$: $GREETING"' 'same shell')
now=$(cat "$work/lvroot/var/count")
ok=1
[ "$(V domid "$dom")" = "$ctlpid" ] || { echo "--- FAILED: the controller's pid changed" >&2; ok=0; }
[ "$before" = "$after" ] || { echo "--- FAILED: processes inside were: $before; now: $after" >&2; ok=0; }
[ "$now" -gt "$last" ] || { echo "--- FAILED: the count did not go on from $last ($now)" >&2; ok=0; }
[ "$(nsenter -t "$lvinit" -m cat /mnt/note)" = "kept in a tmpfs of the domain" ] || { echo "--- FAILED: the tmpfs lost its note" >&2; ok=0; }
grep -q "hello-from-before-the-save" <<<"$cons" || { echo "--- FAILED: the console shell forgot GREETING: '$cons'" >&2; ok=0; }
busybox ping -c 1 -W 3 10.215.4.2 >/dev/null || { echo "--- FAILED: no ping to 10.215.4.2" >&2; ok=0; }
echo "--- console after restore: $cons"
if [ $ok = 1 ]; then
	echo "--- OK: $dom restored with the same PIDs ($after), the count went on ($last -> $now), the tmpfs kept its note, eth0 answers ping, the console reaches the same shell"
	exit 0
fi
exit 1
