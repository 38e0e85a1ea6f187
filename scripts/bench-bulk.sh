#!/usr/bin/env bash
# Bulk verification against the cost of its cryptography, as a mail administrator runs it:
# `hanko verify --json` over a Maildir of COUNT messages of about 4 KB, each signed with
# RSA-2048, the keys from a DNS server on loopback (`hanko dns serve`), the output to a file;
# beside it, one core of `openssl speed rsa2048` verifying, in the same run. Prints the
# messages per second, the ratio to openssl's verify rate, CPU time per message, peak memory
# and the DNS queries the run made.
#
#   bash scripts/bench-bulk.sh            # 10,000 messages
#   COUNT=2000 JOBS=8 bash scripts/bench-bulk.sh
#
# A measurement, not a test: nothing here fails on a slow figure. Results go to
# docs/performance.md with the date and the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-10000}
jobs=${JOBS:-}
command -v openssl >/dev/null || { echo "bench-bulk: needs openssl" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-bulk: needs GNU time (Debian: time)" >&2; exit 1; }

cargo build --release --quiet -p hanko-cli
cargo build --release --quiet -p hanko --example make_maildir
hanko=target/release/hanko
work=$(mktemp -d)
dns_pid=
cleanup() {
    [ -n "$dns_pid" ] && kill "$dns_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

target/release/examples/make_maildir "$work/Maildir" "$count" --body-bytes 3800 --rsa-only >/dev/null
size=$(du -sk "$work/Maildir" | cut -f1)

# The loopback DNS server, on a free port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$hanko" dns serve --zone examples/example.com.zone --listen "127.0.0.1:$port" >"$work/dns.out" &
dns_pid=$!
for _ in $(seq 100); do
    grep -q "serving on" "$work/dns.out" 2>/dev/null && break
    sleep 0.05
done

# hanko: wall time, CPU time and peak memory from GNU time.
jobs_flag=()
[ -n "$jobs" ] && jobs_flag=(--jobs "$jobs")
started=$EPOCHREALTIME
/usr/bin/time -f '%U %S %M' -o "$work/time" \
    "$hanko" --nameserver "127.0.0.1:$port" verify --json --time 1795392060 "${jobs_flag[@]}" \
    "$work/Maildir" >"$work/out.json" 2>"$work/summary" || true
wall=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
read -r user sys rss <"$work/time"
kill -TERM "$dns_pid"
wait "$dns_pid" 2>/dev/null || true
dns_pid=
queries=$(sed -n 's/^answered \([0-9]*\) queries$/\1/p' "$work/dns.out")

# openssl: one core, RSA-2048 verifications per second.
openssl_rate=$(openssl speed -seconds 3 rsa2048 2>/dev/null |
    awk '/^rsa 2048 bits/ { print $NF }' | tail -1)

awk -v n="$count" -v wall="$wall" -v user="$user" -v sys="$sys" -v rss="$rss" \
    -v ossl="$openssl_rate" -v q="$queries" -v kb="$size" -v cores="$(nproc)" \
    -v jobs="${jobs:-default}" 'BEGIN {
    rate = n / wall
    printf "| measure | value |\n| --- | --- |\n"
    printf "| machine | %d cores |\n", cores
    printf "| messages | %d (%.1f MB), RSA-2048, about 4 KB each |\n", n, kb / 1024
    printf "| --jobs | %s |\n", jobs
    printf "| wall time | %.3f s |\n", wall
    printf "| messages per second | %.0f |\n", rate
    printf "| openssl speed rsa2048, verify per second, one core | %.0f |\n", ossl
    printf "| ratio (target: at least 0.7) | %.2f |\n", rate / ossl
    printf "| CPU per message (user + system) | %.1f us |\n", (user + sys) / n * 1e6
    printf "| peak resident memory | %.1f MB |\n", rss / 1024
    printf "| DNS queries | %d |\n", q
}'
echo "hanko's summary: $(tail -1 "$work/summary")"
