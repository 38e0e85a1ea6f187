#!/usr/bin/env bash
# hanko against mail-auth by instructions executed (valgrind's callgrind), not by time: the
# same workloads as scripts/compare.sh, each library counted alone. Instruction counts repeat
# to the last digit on a busy or noisy machine, where timings of a few microseconds swing by a
# third; they are not times (a cache miss or a division counts as one instruction), so read
# them beside scripts/compare.sh, not instead of it.
#
# Each workload runs N and 2N times inside one function (`counted`); callgrind counts only
# that function, and the difference over N is the cost of one warm call (set-up, key parsing
# and first-call caching stay out). Needs valgrind (Debian: valgrind). Takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/../bench/compare"
command -v valgrind >/dev/null || { echo "compare-instructions: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cargo build --release --quiet --ignore-rust-version
bin=./target/release/hanko-compare
n=${N:-20}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count() { # workload library runs -> instructions
    valgrind --tool=callgrind --toggle-collect='hanko_compare::counted' \
        --callgrind-out-file="$out/cg" "$bin" --run "$1" "$2" "$3" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_call() { # workload library -> instructions per warm call
    local one two
    one=$(count "$1" "$2" "$n")
    two=$(count "$1" "$2" $((2 * n)))
    echo $(((two - one) / n))
}
echo "| workload | hanko | mail-auth 0.15.1 | mail-auth / hanko |"
echo "| --- | --- | --- | --- |"
"$bin" --list | while IFS=$'\t' read -r id name; do
    h=$(per_call "$id" hanko)
    a=$(per_call "$id" mail-auth)
    ratio=$(awk -v a="$a" -v h="$h" 'BEGIN { printf "%.2f", a / h }')
    printf '| %s | %s | %s | %s |\n' "$name" "$h" "$a" "$ratio"
done
