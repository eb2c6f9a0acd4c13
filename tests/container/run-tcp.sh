#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# TCP connections across a container's veth through checkpoint and restore
# (TAP). ct-launch starts a busybox container (new pid/mnt/uts/ipc/net
# namespaces, eth0 a veth whose host end is on a bridge this test makes,
# with the host's address on it); inside, a shell init runs `ct-tcp inner`,
# on the host `ct-tcp host` runs outside the tree. They hold two
# connections:
#   a: the host connects to ct-tcp's server in the container;
#   b: the container connects to ct-tcp's server on the host;
# and both ends of each send their direction's stream all the time (about
# 256 KB/s each way, also while the container is being dumped and while it
# is gone) and check what they receive byte by byte (no gap, no duplicate).
# Then, twice:
#   dump by init's PID with --tcp-established: the host's sockets stay
#     established, no FIN, no RST, no error, and it goes on sending for 1 s
#     (into its send queue: the container is gone);
#   restore with --tcp-established and --external veth[eth0]:HOST@BRIDGE
#     (the cgroups made again first, as a new controller would): the same
#     connections go on; both ends stop sending, and each must have received
#     exactly what the other sent, every byte checked, including what the
#     host sent during the dump and while the container was gone.
# Then a dump with --leave-running: the veth's host end (set down while the
# connections are read) is up on its bridge again and the connections go on.
# A lost byte is reported with the offsets ct-tcp saw and where the host's
# stream stood at dump start, dump end and restore.
#
# Usage: run-tcp.sh   (from the build directory, as `make check` runs it)
# Env: LXC_CR, CT_LAUNCH, CT_TCP (defaults: in the build directory),
# CT_TCP_KEEP=1 keeps the work dir. Needs root, busybox-static, iproute2,
# cgroup v1.

set -u

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

. "$srcdir/lib.sh"
ct_tap_require
ct_tap_bins "launch=${CT_LAUNCH:-}:tests/container/ct-launch" "cttcp=${CT_TCP:-}:tests/container/ct-tcp" "lxc_cr=${LXC_CR:-}:src/lxc-cr"
ct_close_stray_fds

work=$(mktemp -d /tmp/ct-tcp.XXXXXX)
name=cttcp$$
mark=cttcpmark$$
bridge=cttcpb$$
veth=cttcpv$$
root=$work/rootfs
# a /24 of 10.217.0.0/16 (10.213 is run-cr's and e2e's, 10.214 bench's) that
# no route on this host uses yet
sub=
for i in $(seq 0 249); do
	s=10.217.$(( ($$ + i) % 250 + 1 ))
	ip -4 route show | grep -q "^$s\\." || { sub=$s; break; }
done
if [ -z "$sub" ]; then
	echo "Bail out! no free /24 in 10.217.0.0/16"
	exit 1
fi
hostip=$sub.1
ctip=$sub.2
ctport=7001
hostport=7002
n=0
failed=0
init=
rst=
ctl=
peer=
cgdirs=()

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && [ "$(awk '/^State:/ {print $2}' /proc/"$1"/status 2>/dev/null)" != Z ]; }

cleanup() {
	[ -n "$peer" ] && kill -TERM "$peer" 2>/dev/null
	[ -n "$init" ] && kill -KILL "$init" 2>/dev/null
	[ -n "$ctl" ] && kill -TERM "$ctl" 2>/dev/null
	wait 2>/dev/null
	ip link del dev "$bridge" 2>/dev/null
	for d in "${cgdirs[@]}"; do rmdir "$d" 2>/dev/null; done
	if [ -n "${CT_TCP_KEEP:-}" ]; then
		echo "# kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# 0: the checker tells a gap, a duplicate and foreign bytes
if out=$("$cttcp" selftest 2>&1); then
	ok "ct-tcp's checker tells a gap, a duplicate and foreign bytes"
else
	not_ok "ct-tcp's checker tells a gap, a duplicate and foreign bytes" "$out"
	echo "Bail out! the checker is broken"
	exit 1
fi

if out=$("$srcdir/mkrootfs.sh" --hostname "$name" "$root" "$cttcp" 2>&1); then
	ok "mkrootfs.sh builds a busybox rootfs with ct-tcp"
else
	not_ok "mkrootfs.sh builds a busybox rootfs with ct-tcp" "$out"
	echo "Bail out! no rootfs"
	exit 1
fi
ctdir=$root/var/cttcp
hostdir=$work/host
mkdir -p "$ctdir" "$hostdir"
cat >"$root/ct-init.sh" <<EOF
#!/bin/sh
/usr/local/bin/ct-tcp inner $ctport $hostip $hostport /var/cttcp $mark &
while :; do sleep 1; done
EOF
chmod 755 "$root/ct-init.sh"

if ! ip link add "$bridge" type bridge || ! ip addr add "$hostip/24" dev "$bridge" ||
   ! ip link set "$bridge" up; then
	echo "Bail out! cannot create the bridge $bridge with $hostip/24"
	exit 1
fi
"$launch" --name "$name" --rootfs "$root" --no-console-stdio --pidfile "$work/init.pid" \
	--veth-host "$veth" --bridge "$bridge" --ip "$ctip/24" \
	-- /bin/sh /ct-init.sh </dev/null >"$work/launch.log" 2>&1 &
ctl=$!
if ! eventually test -s "$ctdir/status"; then
	not_ok "the container starts, ct-tcp runs" "$(cat "$work/launch.log" 2>&1)"
	echo "Bail out! the container did not start"
	exit 1
fi
init=$(cat "$work/init.pid")
"$cttcp" host "$ctip" "$ctport" "$hostip" "$hostport" "$hostdir" </dev/null >"$work/peer.log" 2>&1 &
peer=$!

# st SIDE CONN FIELD: a field of a status line (SIDE ct or host)
st() {
	local f
	case $1 in ct) f=$ctdir/status ;; *) f=$hostdir/status ;; esac
	awk -v c="$2" -v k="$3" '$1 == c { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) print a[2] } }' "$f" 2>/dev/null
}
tick() { awk '$1 == "tick" { print $2 }' "$1/status" 2>/dev/null; }
errors_of() { grep '^error' "$1/status" 2>/dev/null; }
flowing() { # both connections established at both ends and carrying data
	local s c
	for s in ct host; do
		for c in a b; do
			[ "$(st $s $c state)" = ESTABLISHED ] && [ "$(st $s $c recv)" -gt 20000 ] || return 1
		done
	done
}
if eventually flowing; then
	ok "connection a (host to container) and b (container to host) carry data both ways"
else
	not_ok "connection a (host to container) and b (container to host) carry data both ways" \
		"container: $(cat "$ctdir/status" 2>&1)" "host: $(cat "$hostdir/status" 2>&1)" "$(cat "$work/peer.log")"
	echo "Bail out! no connections"
	exit 1
fi

# The cgroups ct-launch made (shared with the controller, so not the tree's
# own): a new controller makes them again before a restore; so does this test.
mapfile -t cgdirs < <(ct_cgroup_dirs "$init")
make_cgroups() { ct_make_cgroups "${cgdirs[@]}"; }

# The host's end must stay whole while the container is away: both
# connections established, no FIN, no RST, no error.
host_intact() { # host_intact WHAT
	local c bad=()
	for c in a b; do
		[ "$(st host $c state)" = ESTABLISHED ] || bad+=("$c: state $(st host $c state)")
		[ "$(st host $c eof)" = 0 ] || bad+=("$c: EOF (FIN from the container)")
		[ "$(st host $c err)" = 0 ] || bad+=("$c: error $(st host $c err) (RST?)")
	done
	errors_of "$hostdir" >/dev/null && bad+=("$(errors_of "$hostdir")")
	if [ ${#bad[@]} = 0 ]; then
		ok "$1: the host's ends of a and b are established, no FIN, no RST, no error"
	else
		not_ok "$1: the host's ends of a and b are established, no FIN, no RST, no error" \
			"${bad[@]}" "$(cat "$hostdir/status")"
	fi
}

# Stop sending at both ends; then each end must have received exactly what
# the other sent, and nothing wrong on the way.
settled() {
	local c
	[ "$(tick "$ctdir")" != "$1" ] && [ "$(tick "$hostdir")" != "$2" ] || return 1
	for c in a b; do
		[ "$(st ct $c recv)" = "$(st host $c sent)" ] &&
			[ "$(st host $c recv)" = "$(st ct $c sent)" ] || return 1
	done
}
exact_check() { # exact_check WHAT: pause, compare, go on
	local t1 t2 c bad=() s
	touch "$ctdir/pause" "$hostdir/pause"
	sleep 0.1
	t1=$(tick "$ctdir") t2=$(tick "$hostdir")
	# the container's retransmissions and the host's may take a few RTOs
	if ! eventually settled "$t1" "$t2"; then
		for c in a b; do
			bad+=("$c host to container: host sent $(st host $c sent), container received $(st ct $c recv); acknowledged to the host: $(st host $c acked), host retransmissions: $(st host $c retrans)")
			bad+=("$c container to host: container sent $(st ct $c sent), host received $(st host $c recv); acknowledged to the container (counted since its restore): $(st ct $c acked)")
			[ "$(st host $c acked)" -gt "$(st ct $c recv)" ] 2>/dev/null &&
				bad+=("$c: LOST: the container's kernel acknowledged host bytes $(st ct $c recv)..$(( $(st host $c acked) - 1 )) ($(( $(st host $c acked) - $(st ct $c recv) )) bytes) that the restored socket never had: the host will not send them again")
			[ "$(st ct $c acked)" -gt "$(st host $c recv)" ] 2>/dev/null &&
				bad+=("$c: LOST: the host's kernel acknowledged container bytes $(st host $c recv)..$(( $(st ct $c acked) - 1 )) that the host never read")
		done
	fi
	for s in ct host; do
		for c in a b; do
			[ "$(st $s $c bad)" = 0 ] || bad+=("$s $c: $(st $s $c bad) wrong bytes")
			[ "$(st $s $c eof)" = 0 ] || bad+=("$s $c: EOF")
			[ "$(st $s $c err)" = 0 ] || bad+=("$s $c: error $(st $s $c err)")
			[ "$(st $s $c state)" = ESTABLISHED ] || bad+=("$s $c: state $(st $s $c state)")
		done
	done
	errors_of "$ctdir" >/dev/null && bad+=("container: $(errors_of "$ctdir")")
	errors_of "$hostdir" >/dev/null && bad+=("host: $(errors_of "$hostdir")")
	rm -f "$ctdir/pause" "$hostdir/pause"
	if [ ${#bad[@]} = 0 ]; then
		ok "$1: every byte sent arrived once and in order (a: $(st host a sent) to the container, $(st ct a sent) back; b: $(st ct b sent) to the host, $(st host b sent) back)"
		return 0
	fi
	not_ok "$1: every byte sent arrived once and in order" "${bad[@]}" "${2:-}"
	return 1
}

exact_check "before any dump"

# The dump set the host end down before it read the first connection:
# nothing reached the sockets after their queues were read.
lock_check() { # lock_check WHAT LOG
	local l c
	l=$(grep -n "host end '$veth' down" "$2" | head -n 1 | cut -d: -f1)
	c=$(grep -n "connection saved" "$2" | head -n 1 | cut -d: -f1)
	if [ -n "$l" ] && [ -n "$c" ] && [ "$l" -lt "$c" ]; then
		ok "$1: $veth was set down before the first connection was read"
	else
		not_ok "$1: $veth was set down before the first connection was read" \
			"$(grep -n "host end\|connection saved" "$2")"
	fi
}

gen=0
cycle() { # cycle WHAT
	local what=$1 img dl q a0 a1 a2 b0 b1 b2 info
	gen=$((gen + 1))
	img=$work/img$gen
	mkdir -p "$img"
	sleep 0.3	# data in flight both ways
	a0=$(st host a sent) b0=$(st host b sent)
	if out=$("$lxc_cr" dump -t "$init" -D "$img" -o dump.log -v4 --tcp-established 2>&1) &&
	   ! eventually_dead "$init"; then
		a1=$(st host a sent) b1=$(st host b sent)
		q=$(grep -o 'connection saved, [0-9]* bytes to read, [0-9]* to send' "$img/dump.log" |
			sed 's/connection saved, //' | paste -sd ';' | sed 's/;/; /g')
		ok "$what: dump by init's PID with --tcp-established (queues: $q)"
		lock_check "$what" "$img/dump.log"
	else
		not_ok "$what: dump by init's PID with --tcp-established" "$out" "$(tail -n 15 "$img/dump.log" 2>/dev/null)"
		echo "Bail out! dump failed"
		exit 1
	fi
	[ -n "$rst" ] && wait "$rst" 2>/dev/null
	[ -n "$ctl" ] && wait "$ctl" 2>/dev/null
	rst= ctl= init=
	# the kernel takes the dead namespace's veth away a moment later
	for _ in $(seq 100); do
		ip link show dev "$veth" >/dev/null 2>&1 || break
		sleep 0.05
	done
	# the container is gone for a second; the host goes on sending
	sleep 1
	host_intact "$what, the container gone"
	a2=$(st host a sent) b2=$(st host b sent)
	info="host's streams: a at $a0 when the dump started, $a1 when it ended, $a2 at the restore; b at $b0, $b1, $b2"
	make_cgroups || not_ok "$what: cgroups made again"
	rm -f "$work/rst.pid"
	"$lxc_cr" restore -D "$img" -o restore.log -v4 --pidfile "$work/rst.pid" --tcp-established \
		--external "veth[eth0]:$veth@$bridge" </dev/null >"$work/restore.out" 2>&1 &
	rst=$!
	if eventually test -s "$work/rst.pid" && alive "$(cat "$work/rst.pid")"; then
		init=$(cat "$work/rst.pid")
		ok "$what: restore with --tcp-established --external veth[eth0]:$veth@$bridge"
	else
		not_ok "$what: restore" "$(cat "$work/restore.out")" "$(tail -n 15 "$img/restore.log")"
		echo "Bail out! restore failed"
		exit 1
	fi
	host_intact "$what, restored"
	local gone="the host's $((a2 - a0)) bytes on a and $((b2 - b0)) on b sent during the dump ($((a1 - a0)), $((b1 - b0))) and while the container was gone ($((a2 - a1)), $((b2 - b1)))"
	if exact_check "$what: after the restore, the same connections" "$info"; then
		ok "$what: $gone arrived"
	else
		not_ok "$what: $gone arrived" "see above"
	fi
	# and they keep going
	sleep 0.3
	exact_check "$what: later"
}

cycle "first"
cycle "second"

# 3: dump with --leave-running: the host end, set down while the connections
# were read, comes up again on its bridge and the connections go on
gen=$((gen + 1))
mkdir -p "$work/img$gen"
if out=$("$lxc_cr" dump -t "$init" -D "$work/img$gen" -o dump.log -v4 --tcp-established --leave-running 2>&1) &&
   alive "$init"; then
	ok "--leave-running: dump, the container goes on"
	lock_check "--leave-running" "$work/img$gen/dump.log"
else
	not_ok "--leave-running: dump, the container goes on" "$out" "$(tail -n 15 "$work/img$gen/dump.log" 2>/dev/null)"
fi
h=$(ip -o link show dev "$veth" 2>&1)
if [[ "$h" == *"master $bridge"* ]] && [[ "$h" == *"state UP"* ]]; then
	ok "--leave-running: $veth is up on $bridge again"
else
	not_ok "--leave-running: $veth is up on $bridge again" "$h"
fi
host_intact "--leave-running"
sleep 0.3
exact_check "--leave-running: the same connections"

kill -TERM "$peer" 2>/dev/null
wait "$peer" 2>/dev/null
peer=
kill -KILL "$init" 2>/dev/null
wait "$rst" 2>/dev/null
init= rst=

echo "1..$n"
[ $failed = 0 ]
