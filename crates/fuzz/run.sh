#!/usr/bin/env bash
# Fuzzes the parsers that read what clients send, one libFuzzer target after another. Not part
# of CI, which replays the committed corpora on stable instead (tests/fuzz_corpus.rs).
#
#   crates/fuzz/run.sh                 every target, 180 s each
#   crates/fuzz/run.sh packet 600      one target for 600 s
#   crates/fuzz/run.sh all 60          every target, 60 s each
#
# Needs the nightly toolchain (`rustup toolchain install nightly`) and installs cargo-fuzz when
# it is missing. Targets run without a sanitizer, since ferrio forbids unsafe code;
# FUZZ_SANITIZER=address brings AddressSanitizer back for the dependencies' unsafe code.
#
# The committed corpus, corpus/<target>, is read and never written. What the fuzzer learns goes
# to target/corpus/<target> and is kept for the next run; an input that breaks a target is
# saved as artifacts/<target>/crash-<sha1>. Each such input becomes a regression test in the
# crate that owns the parser and a file of corpus/<target> under the same name, which CI replays.
set -euo pipefail
cd "$(dirname "$0")"

target="${1:-all}"
seconds="${2:-180}"

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo +nightly install cargo-fuzz --locked
fi

if [ "$target" = all ]; then
  targets=$(cargo +nightly fuzz list --fuzz-dir .)
else
  targets="$target"
fi

failed=()
for each in $targets; do
  mkdir -p "target/corpus/$each"
  printf '\n==> %s for %s s\n' "$each" "$seconds"
  # A crash ends this target's run only; the others still get their turn.
  nice cargo +nightly fuzz run --fuzz-dir . --sanitizer "${FUZZ_SANITIZER:-none}" \
    "$each" "target/corpus/$each" "corpus/$each" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 || failed+=("$each")
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "crashed: ${failed[*]} (inputs in artifacts/)" >&2
  exit 1
fi
echo "no crash"
