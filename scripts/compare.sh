#!/usr/bin/env bash
# hanko against Stalwart's mail-auth (the published crate): the same DKIM sign/verify and SPF
# workloads, DNS answered from memory in both; prints a Markdown table with each ratio.
# mail-auth 0.15 asks for a newer Rust than this toolchain, hence --ignore-rust-version; the
# crate (bench/compare) is its own workspace, outside the main one and its CI.
set -euo pipefail
cd "$(dirname "$0")/../bench/compare"
cargo build --release --quiet --ignore-rust-version
exec ./target/release/hanko-compare
