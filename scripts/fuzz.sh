#!/usr/bin/env bash
# Fuzzes every target in fuzz/ for SECONDS each (default 60) with libFuzzer via cargo-fuzz.
#
#   bash scripts/fuzz.sh            # all targets, 60 s each
#   bash scripts/fuzz.sh 600 authres sign_verify
#
# The seed corpus comes from ../shared/conformance (or HANKO_CONFORMANCE) and examples/,
# written into fuzz/corpus/TARGET/ (kept between runs, ignored by git); libFuzzer adds what it
# finds there. A crash is saved as fuzz/artifacts/TARGET/crash-*: copy it to
# fuzz/regressions/TARGET/NAME (a name that says what it was), fix the bug, and
# `cargo test --manifest-path fuzz/Cargo.toml` (run by scripts/test.sh) replays it forever.
# Runs on stable Rust: without a sanitizer (hanko has no unsafe code), coverage only.
set -euo pipefail
cd "$(dirname "$0")/.."
export HANKO_CONFORMANCE="${HANKO_CONFORMANCE:-$(cd .. && pwd)/shared/conformance}"
seconds="${1:-60}"
shift || true
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
cd fuzz
cargo run --quiet --example seeds -- corpus
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
failed=()
for target in "${targets[@]}"; do
  echo "== $target ($seconds s)"
  if ! cargo fuzz run --sanitizer none "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 2>&1 | grep -E "^(#[0-9]+ *DONE|stat::|==|SUMMARY|.*panicked|Test unit written)"; then
    :
  fi
  if compgen -G "artifacts/$target/*" >/dev/null; then
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashes or hangs saved for: ${failed[*]} (see fuzz/artifacts/)" >&2
  exit 1
fi
echo "no crashes"
