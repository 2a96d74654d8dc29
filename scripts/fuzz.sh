#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 60), one after another on
# one job, and prints each corpus's size. Crashes land in fuzz/artifacts/<target>/; the
# script exits non-zero if any target found one. Needs the nightly toolchain and cargo-fuzz
# (`rustup toolchain install nightly`, `cargo install cargo-fuzz`).
#
#   scripts/fuzz.sh            # 60 s per target
#   scripts/fuzz.sh 1800       # 30 minutes per target
#   TARGETS="percent featurize" scripts/fuzz.sh 120
set -euo pipefail

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: $0 [SECONDS]  (a whole number above 0; got '$seconds')" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "error: the nightly toolchain is missing (cargo-fuzz needs it): rustup toolchain install nightly" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "error: cargo-fuzz is missing: cargo install cargo-fuzz" >&2
    exit 1
fi

targets="${TARGETS:-$(cargo +nightly fuzz list)}"
logs="fuzz/logs"
mkdir -p "$logs"

# One build of every target first, so that the time below is fuzzing time.
cargo +nightly fuzz build -O

failed=()
for target in $targets; do
    mkdir -p "fuzz/corpus/$target"
    echo "== $target: ${seconds}s"
    # -jobs=1 keeps it to one core; -rss_limit_mb bounds a runaway input;
    # fuzz/dict/<target>.dict, when present, seeds the mutator with the target's tokens.
    dict=()
    if [ -f "fuzz/dict/$target.dict" ]; then
        dict=("-dict=fuzz/dict/$target.dict")
    fi
    if cargo +nightly fuzz run -O "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -jobs=1 -workers=1 -rss_limit_mb=4096 -timeout=30 \
        -print_final_stats=1 "${dict[@]}" >"$logs/$target.log" 2>&1; then
        status="ok"
    else
        status="FAILED (see $logs/$target.log and fuzz/artifacts/$target/)"
        failed+=("$target")
    fi
    # With -jobs=1 libFuzzer writes to fuzz-0.log; keep both in one place.
    if [ -f fuzz-0.log ]; then
        cat fuzz-0.log >>"$logs/$target.log"
        rm -f fuzz-0.log
    fi
    files=$(find "fuzz/corpus/$target" -type f | wc -l)
    last=$(grep -E '^#[0-9]+' "$logs/$target.log" | tail -n 1 || true)
    execs=$(grep -E '^stat::number_of_executed_units' "$logs/$target.log" | tail -n 1 | awk '{print $2}' || true)
    echo "   $status · corpus $files files · executions ${execs:-?} · ${last:-no stats}"
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing found problems in: ${failed[*]}" >&2
    exit 1
fi
echo "all targets ran ${seconds}s without a crash"
