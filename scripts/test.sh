#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install dependencies, build, and run every test suite of lxc-cr:
#   unit, bad-input, no-leftovers (faults), container-launcher and
#   whole-container checkpoint tests (make check), the ZDTM
#   real-program suite (one and two dump/restore cycles per program; on the
#   host, in new pid/uts/ipc namespaces, and with a mount or a network
#   namespace too, and inside a ct-launch container), the
#   same suite against an ASan/UBSan build of the tool (with the network tests
#   and the no-leftovers test of failed restores too), the end-to-end test
#   against a patched libvirtd (tests/e2e/run.sh), and a short fuzzing run of
#   the image reader.
# Must run as root (ptrace of other processes, clone3 set_tid).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "$(id -u)" != 0 ]; then
	echo "scripts/test.sh: must run as root (checkpoint/restore needs it)" >&2
	exit 1
fi
scripts/deps.sh || exit 1

total_pass=0 total_fail=0 total_skip=0
count() { # log of a run that ends with "N passed, N failed, N skipped"
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		total_fail=$((total_fail + 1))
		return
	fi
	set -- $line
	total_pass=$((total_pass + $1)); total_fail=$((total_fail + $3))
	[ "${6:-}" ] && total_skip=$((total_skip + $5))
}

logs=$(mktemp -d /tmp/lxc-cr-test.XXXX)

echo "== build"
scripts/build.sh "$top/build" || exit 1
echo "== build with AddressSanitizer and UndefinedBehaviorSanitizer"
scripts/build.sh "$top/build-asan" --enable-asan --enable-ubsan || exit 1

echo "== unit and bad-input tests (make check)"
if make -C "$top/build" -j2 check >"$logs/check.log" 2>&1; then
	grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' "$logs/check.log"
else
	total_fail=$((total_fail + 1))
	cat "$logs/check.log" | tail -n 40
	find "$top/build/tests" -name '*.log' -newer "$logs/check.log" -exec tail -n 20 {} \; 2>/dev/null | tail -n 80
fi
n=$(grep -E '^# PASS:' "$logs/check.log" | awk '{print $3}'); f=$(grep -E '^# (FAIL|ERROR|XPASS):' "$logs/check.log" | awk '{s += $3} END {print s + 0}')
s=$(grep -E '^# SKIP:' "$logs/check.log" | awk '{print $3}')
total_pass=$((total_pass + ${n:-0})); total_fail=$((total_fail + ${f:-0})); total_skip=$((total_skip + ${s:-0}))

echo "== ZDTM suite, two dump/restore cycles"
(cd "$top/build" && "$top/tests/zdtm/run.sh" --lxc-cr "$top/build/src/lxc-cr" \
	--builddir "$top/build/tests/zdtm" --iters 2) 2>&1 | tee "$logs/zdtm.log" | grep -E '^(===|[0-9]+ passed)'
count "$logs/zdtm.log"

echo "== ZDTM suite, one dump/restore cycle"
(cd "$top/build" && "$top/tests/zdtm/run.sh" --lxc-cr "$top/build/src/lxc-cr" \
	--builddir "$top/build/tests/zdtm" --iters 1) 2>&1 | tee "$logs/zdtm-1.log" | grep -E '^(===.*(FAIL|SKIP)|[0-9]+ passed)'
count "$logs/zdtm-1.log"

echo "== ZDTM suite, each tree in its own pid/uts/ipc namespaces"
(cd "$top/build" && "$top/tests/zdtm/run.sh" --ns --lxc-cr "$top/build/src/lxc-cr" \
	--builddir "$top/build/tests/zdtm" --iters 2) 2>&1 | tee "$logs/zdtm-ns.log" | grep -E '^(===.*(FAIL|SKIP)|[0-9]+ passed)'
count "$logs/zdtm-ns.log"

echo "== ZDTM suite, each tree with its own mount namespace too (private /proc, a tmpfs)"
(cd "$top/build" && "$top/tests/zdtm/run.sh" --ns-mnt --lxc-cr "$top/build/src/lxc-cr" \
	--builddir "$top/build/tests/zdtm" --iters 2) 2>&1 | tee "$logs/zdtm-ns-mnt.log" | grep -E '^(===.*(FAIL|SKIP)|[0-9]+ passed)'
count "$logs/zdtm-ns-mnt.log"

echo "== ZDTM suite, each tree with its own network namespace too"
(cd "$top/build" && "$top/tests/zdtm/run.sh" --ns-net --lxc-cr "$top/build/src/lxc-cr" \
	--builddir "$top/build/tests/zdtm" --iters 2) 2>&1 | tee "$logs/zdtm-ns-net.log" | grep -E '^(===.*(FAIL|SKIP)|[0-9]+ passed)'
count "$logs/zdtm-ns-net.log"

echo "== ZDTM suite, each program inside a container (ct-launch: pivoted rootfs, /dev, devpts)"
(cd "$top/build" && "$top/tests/zdtm/run.sh" --ct --lxc-cr "$top/build/src/lxc-cr" \
	--builddir "$top/build/tests/zdtm" --iters 2) 2>&1 | tee "$logs/zdtm-ct.log" | grep -E '^(===.*(FAIL|SKIP)|[0-9]+ passed)'
count "$logs/zdtm-ct.log"

echo "== ZDTM suite, each program inside a container whose controller roots the tree (virsh save's case)"
(cd "$top/build" && "$top/tests/zdtm/run.sh" --ctl --lxc-cr "$top/build/src/lxc-cr" \
	--builddir "$top/build/tests/zdtm" --iters 2) 2>&1 | tee "$logs/zdtm-ctl.log" | grep -E '^(===.*(FAIL|SKIP)|[0-9]+ passed)'
count "$logs/zdtm-ctl.log"

echo "== ZDTM suite, tool built with ASan/UBSan"
(cd "$top/build-asan" && "$top/tests/zdtm/run.sh" --lxc-cr "$top/build-asan/src/lxc-cr" \
	--builddir "$top/build/tests/zdtm" --iters 2) 2>&1 | tee "$logs/zdtm-asan.log" | grep -E '^(===|[0-9]+ passed)'
count "$logs/zdtm-asan.log"

echo "== ZDTM network tests in their own network namespace, tool built with ASan/UBSan"
(cd "$top/build-asan" && "$top/tests/zdtm/run.sh" --ns-net --lxc-cr "$top/build-asan/src/lxc-cr" \
	--builddir "$top/build/tests/zdtm" --iters 2 $(grep -o 'static/net_[a-z0-9_]*' "$top/tests/zdtm/tests.list")) \
	2>&1 | tee "$logs/zdtm-asan-net.log" | grep -E '^(===|[0-9]+ passed)'
count "$logs/zdtm-asan-net.log"

echo "== no leftovers of failed restores, tool built with ASan/UBSan"
if (cd "$top/build" && LXC_CR="$top/build-asan/src/lxc-cr" "$top/tests/faults/run.sh") >"$logs/faults-asan.log" 2>&1; then
	total_pass=$((total_pass + $(grep -c '^ok' "$logs/faults-asan.log")))
	echo "$(grep -c '^ok' "$logs/faults-asan.log") passed"
else
	total_fail=$((total_fail + 1))
	grep -v '^ok' "$logs/faults-asan.log" | tail -n 20
fi

echo "== a tree rooted at a container's controller, tool built with ASan/UBSan"
if (cd "$top/build" && LXC_CR="$top/build-asan/src/lxc-cr" "$top/tests/container/run-ctl.sh") >"$logs/ctl-asan.log" 2>&1; then
	total_pass=$((total_pass + $(grep -c '^ok' "$logs/ctl-asan.log")))
	echo "$(grep -c '^ok' "$logs/ctl-asan.log") passed"
else
	total_fail=$((total_fail + 1))
	grep -v '^ok' "$logs/ctl-asan.log" | tail -n 20
fi

echo "== libvirt: Debian's libvirt 9.0.0 with our series, then the end-to-end test against its daemon"
t0=$(date +%s)
if scripts/libvirt-build.sh >"$logs/libvirt-build.log" 2>&1; then
	echo "libvirt built/installed in $(( $(date +%s) - t0 )) s"
	tests/e2e/run.sh 2>&1 | tee "$logs/e2e.log" | grep -E '^(FAIL|SKIP|[0-9]+ passed)'
	count "$logs/e2e.log"
else
	total_fail=$((total_fail + 1))
	tail -n 20 "$logs/libvirt-build.log"
fi

if [ -x tests/fuzz/run-fuzz.sh ]; then
	echo "== fuzzing the image reader (${FUZZ_SECONDS:-60} s)"
	if tests/fuzz/run-fuzz.sh --builddir "$top/build" --seconds "${FUZZ_SECONDS:-60}" \
		--out "$logs/fuzz" >"$logs/fuzz.log" 2>&1; then
		total_pass=$((total_pass + 1))
	else
		total_fail=$((total_fail + 1))
	fi
	tail -n 3 "$logs/fuzz.log"
fi

echo "logs in $logs"
echo "all suites: $total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
