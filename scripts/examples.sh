#!/usr/bin/env bash
# The main job on the shipped examples: verify every examples/*.eml offline against
# examples/example.com.zone and print each verdict.
set -uo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p hanko-cli
for message in examples/*.eml; do
  echo "== $message"
  ./target/release/hanko --zone examples/example.com.zone verify "$message"
  echo "(exit status $?)"
done
