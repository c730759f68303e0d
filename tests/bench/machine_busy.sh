#!/bin/bash
# tests/bench/machine_busy.sh CMD...: runs CMD, then prints the CPU seconds the
# whole machine was busy (all cores, every process and kworker) while it ran,
# from /proc/stat. For benchmarks whose cost partly lands outside their own
# process (the kernel tearing down namespaces, PostgreSQL).
read -r _ u n s i w q sq st _ < /proc/stat
b0=$((u+n+s+q+sq+st))
"$@"
rc=$?
read -r _ u n s i w q sq st _ < /proc/stat
b1=$((u+n+s+q+sq+st))
awk -v d=$((b1 - b0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "machine busy: %.2f s\n", d / hz }'
exit $rc
