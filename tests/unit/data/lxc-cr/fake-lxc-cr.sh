#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A stand-in for the lxc-cr command in liblxccr's unit tests
# (test-lxc-cr-save): it speaks the protocol liblxccr relies on and nothing
# more. FAKE_LXC_CR_MODE=refuse makes it fail like the engine refusing;
# FAKE_LXC_CR_ARGV names a file its arguments go to. Kept for what the real
# engine cannot be made to do (hang before its post-dump step); the real
# engine's failure paths are in tests/e2e/run.sh (LXC_CR_FAULT).
[ -n "${FAKE_LXC_CR_ARGV:-}" ] && echo "$*" > "$FAKE_LXC_CR_ARGV"
cmd=$1
shift
dir= pidfile= root=
while [ $# -gt 0 ]; do
	case $1 in
	-t) root=$2; shift;;
	-D) dir=$2; shift;;
	--pidfile) pidfile=$2; shift;;
	esac
	shift
done
case "$cmd:${FAKE_LXC_CR_MODE:-ok}" in
dump:hang)
	# an engine that never gets to its post-dump step
	exec sleep 60;;
dump:refuse)
	echo "lxc-cr: dump of 1 failed: fake refusal" >&2
	exit 1;;
dump:*)
	echo "an image" > "$dir/inventory.img"
	echo "$root" > "$dir/root.img"
	# --post-dump-fd 3: the images are complete; wait for the caller's 'k'
	echo dumped >&3
	c=
	read -r -n 1 c <&3
	if [ "$c" != k ]; then
		echo "lxc-cr: dump of 1 failed: the caller's post-dump step failed" >&2
		exit 1
	fi
	exit 0;;
restore:refuse)
	echo "lxc-cr: restore from $dir failed: fake refusal" >&2
	exit 1;;
restore:*)
	[ -f "$dir/inventory.img" ] || { echo "lxc-cr: no inventory.img in $dir" >&2; exit 1; }
	[ "$(readlink /proc/self/fd/3)" = /dev/ptmx ] ||
		{ echo "lxc-cr: fd 3 is $(readlink /proc/self/fd/3), not a pty master" >&2; exit 1; }
	# the tree "comes back" with the root's pid
	cat "$dir/root.img" > "$pidfile"
	exit 0;;
esac
echo "lxc-cr: unknown command '$cmd'" >&2
exit 1
