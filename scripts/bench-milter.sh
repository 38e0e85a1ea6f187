#!/usr/bin/env bash
# hanko-milter beside OpenDKIM through the same private Postfix, and Postfix with no milter:
# the same smtp-source load (2,000 messages of about 4 KB, 8 sessions) when signing and when
# verifying RSA-2048, printed as a Markdown table for docs/performance.md. Beside it, what
# one core of `openssl speed rsa2048` signs and verifies per second on this machine.
#
#   sudo bash scripts/bench-milter.sh
#
# Needs root (Postfix, and an address on `lo` for OpenDKIM's DNS on port 53); installs
# Debian's postfix and opendkim when they are missing. A measurement, not a test: nothing
# here fails on a slow figure.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-milter: needs root" >&2; exit 1; }
missing=""
command -v postfix >/dev/null 2>&1 || missing="$missing postfix"
command -v opendkim >/dev/null 2>&1 || missing="$missing opendkim"
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get install -y -qq $missing >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq $missing >/dev/null; }
fi
cargo test --release --quiet -p hanko-milter --features e2e-tests --test milter_compare \
  -- --ignored --nocapture 2>&1 | sed -n '/messages of about/,/^| OpenDKIM/p'
openssl speed -seconds 3 rsa2048 2>/dev/null |
  awk '/^rsa 2048 bits/ { printf "\nopenssl speed rsa2048, one core: %s signatures and %s verifications per second\n", $(NF-1), $NF }' |
  tail -2
