#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test of the workspace.
# Needs ../shared/conformance beside the repository (or HANKO_CONFORMANCE set).
# Everything runs offline: DNS in tests comes from zone files and a loopback server.
set -euo pipefail
cd "$(dirname "$0")/.."

export HANKO_CONFORMANCE="${HANKO_CONFORMANCE:-$(cd .. && pwd)/shared/conformance}"
if [ ! -f "$HANKO_CONFORMANCE/README.md" ]; then
  echo "conformance suites not found at $HANKO_CONFORMANCE" >&2
  exit 1
fi

# Independent peers for the interop tests, from PyPI: dkimpy (+ pynacl for Ed25519) for DKIM;
# authheaders with pyspf and dnspython for SPF and DMARC; botocore, whose Route 53 model
# judges the change batches hanko writes; parsedmarc and dmarc-report, which read the
# aggregate reports hanko writes.
VENV="$PWD/target/interop-venv"
if ! "$VENV/bin/python" -c "import dkim, nacl, authheaders, spf, dns.resolver, botocore, parsedmarc, dmarc_report" >/dev/null 2>&1; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check dkimpy pynacl authheaders pyspf \
    dnspython botocore parsedmarc==11.1.0 dmarc-report==3.1.0
fi
export HANKO_PYTHON="$VENV/bin/python"

# From Debian: xmllint, which checks generated DMARC reports against RFC 9990's schema; BIND
# (named, nsupdate, dig; a private named on a loopback port, never the system's service),
# which applies the nsupdate scripts hanko writes; PostgreSQL, a private server in a temporary
# folder for the report store's test (the system's cluster is never started);
# Mail::DKIM (Perl) and rspamd for the ARC interop tests (rspamd runs as a
# private instance on loopback ports, never as the system's service); OpenDKIM's opendkim-testmsg (its test runs it in a private network namespace,
# unshare as root, with hanko's own DNS server on that namespace's loopback); Postfix, with
# its smtp-source load generator, and swaks for the milter's end-to-end tests (each test runs
# a private Postfix instance from a temporary folder; the system's Postfix stays unconfigured);
# Chromium and its WebDriver for the analyzer page's browser test, with a Japanese font so the
# page's Japanese text is drawn in its screenshots.
missing=""
command -v opendkim-testmsg >/dev/null 2>&1 || missing="$missing opendkim-tools"
perl -MMail::DKIM::ARC::Verifier -e1 >/dev/null 2>&1 || missing="$missing libmail-dkim-perl"
command -v rspamd >/dev/null 2>&1 || missing="$missing rspamd"
command -v xmllint >/dev/null 2>&1 || missing="$missing libxml2-utils"
command -v named >/dev/null 2>&1 || missing="$missing bind9"
command -v nsupdate >/dev/null 2>&1 || missing="$missing bind9-dnsutils"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
command -v postfix >/dev/null 2>&1 || missing="$missing postfix"
command -v swaks >/dev/null 2>&1 || missing="$missing swaks"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
[ -f /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ] || missing="$missing fonts-ipafont-gothic"
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  echo "installing from Debian:$missing" >&2
  apt-get install -y -qq $missing >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq $missing >/dev/null; }
fi

rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --lib --quiet
# The declared minimum Rust (rust-version in Cargo.toml) builds everything, tests included.
# Its own target folder, so the main build's artifacts are not thrown away.
MSRV="$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)"
rustup toolchain install "$MSRV" --profile minimal >/dev/null 2>&1 \
  || { echo "cannot install Rust $MSRV (the declared minimum) with rustup" >&2; exit 1; }
CARGO_TARGET_DIR=target/msrv cargo "+$MSRV" check --workspace --all-targets --all-features --quiet

# Tier 1: what `cargo test` runs on a fresh clone with nothing but cargo (the default
# members, no test features). The conformance folder and the Python peers are hidden from it,
# so a test that quietly needs them fails here instead of on a newcomer's machine.
HANKO_CONFORMANCE=/nonexistent HANKO_PYTHON=/nonexistent cargo test
# Tier 2: the public conformance suites in ../shared/conformance.
cargo test -p hanko-conformance
cargo test -p hanko-cli --features conformance-tests --test spf_network --test arc_network
# Tier 3: interop with independent peers (dkimpy, authheaders, OpenDKIM, Mail::DKIM, rspamd,
# Python's email).
cargo test -p hanko-cli --features interop-tests --test interop
# Tier 4: end to end (a private Postfix instance, a private PostgreSQL, headless Chromium).
cargo test -p hanko-milter --features e2e-tests --test postfix --test postfix_load
cargo test -p hanko-store --features e2e-tests --test postgres
cargo test -p hanko-web --features e2e-tests --test browser
# The fuzz targets (their own workspace, sharing target/): fmt, clippy, and a replay of the
# seed corpus and of every saved crash in fuzz/regressions/. No fuzzing time here; that is
# scripts/fuzz.sh.
export CARGO_TARGET_DIR="$PWD/target"
cargo fmt --manifest-path fuzz/Cargo.toml --all -- --check
cargo clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings
cargo test --manifest-path fuzz/Cargo.toml --lib
