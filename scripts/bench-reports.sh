#!/usr/bin/env bash
# Aggregate reports at scale: ROWS recorded evaluations (default 1,000,000) for DOMAINS policy
# domains (default 1,000), all in one day, made into reports by `hanko report aggregate`;
# prints the time and the peak memory of that command (GNU time). The store is SQLite in a
# temporary folder. Takes about a minute to fill.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
domains=${2:-1000}
cargo build --release -q -p hanko-cli -p hanko-store --example fill
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
db="sqlite:$dir/evaluations.sqlite"
/usr/bin/time -f "fill: %e s, %M KiB peak" ./target/release/examples/fill "$db" "$rows" "$domains"
/usr/bin/time -f "aggregate: %e s, %M KiB peak" ./target/release/hanko report aggregate \
  --db "$db" --org-name mx.example.net --org-email dmarc@example.net --until 2026-11-24 \
  --out "$dir/reports" | tail -1
echo "$(ls "$dir/reports" | wc -l) reports, $(du -sh "$dir/reports" | cut -f1) gzipped"
