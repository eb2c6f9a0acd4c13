# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers the container benchmarks share (bench/ct.sh, bench/virsh.sh).

now() { date +%s.%N; }

wait_for() { # wait_for SECONDS CMD...: poll CMD every 50 ms
	local i n=$(($1 * 20))
	shift
	for i in $(seq $n); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# median: of the numbers on stdin, "-" when there are none
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
