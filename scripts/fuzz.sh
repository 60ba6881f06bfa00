#!/usr/bin/env bash
# Runs each cargo-fuzz target of fuzz/ for a fixed time, one after the other, and prints
# executions and findings per target.
#
#   scripts/fuzz.sh [seconds per target, default 600] [target ...]
#
# The toolchain is stable: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags (sanitizer,
# coverage instrumentation). New inputs go to fuzz/work/<target> (not committed); the
# committed seeds in fuzz/corpus/<target> are only read. A crash, leak or timeout leaves
# its input in fuzz/artifacts/<target>/; reproduce it with
#   (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run <target> artifacts/<target>/<file>)
# Runs at nice 10 on one core: the machine is shared.
set -uo pipefail
cd "$(dirname "$0")/../fuzz"

secs="${1:-600}"
shift || true
if ! command -v cargo-fuzz >/dev/null; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

echo "== building ${targets[*]}"
nice -n 10 cargo fuzz build || exit 1

mkdir -p logs
failed=0
summary=()
for t in "${targets[@]}"; do
  mkdir -p "work/$t" "corpus/$t" "artifacts/$t"
  before=$(find "artifacts/$t" -type f | wc -l)
  echo "== $t for ${secs}s"
  nice -n 10 cargo fuzz run "$t" "work/$t" "corpus/$t" -- \
    -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
    >"logs/$t.log" 2>&1
  status=$?
  after=$(find "artifacts/$t" -type f | wc -l)
  runs=$(grep -oP 'stat::number_of_executed_units:\s*\K[0-9]+' "logs/$t.log" | tail -1)
  rate=$(grep -oP 'stat::average_exec_per_sec:\s*\K[0-9]+' "logs/$t.log" | tail -1)
  cov=$(grep -oP '^#[0-9]+\s+\S+\s+cov: \K[0-9]+' "logs/$t.log" | tail -1)
  corpus=$(find "work/$t" -type f | wc -l)
  findings=$((after - before))
  line="$t: ${runs:-?} runs, ${rate:-?}/s, cov ${cov:-?}, corpus ${corpus}, findings ${findings}, exit ${status}"
  summary+=("$line")
  echo "$line"
  if [ "$status" -ne 0 ] || [ "$findings" -ne 0 ]; then
    failed=1
    grep -E -A3 'panicked at|ERROR: libFuzzer|SUMMARY' "logs/$t.log" | head -20
    find "artifacts/$t" -type f | tail -3
  fi
done

echo "== summary (logs in fuzz/logs/)"
printf '%s\n' "${summary[@]}"
exit "$failed"
