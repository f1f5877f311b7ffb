#!/usr/bin/env bash
# One bounded libFuzzer run of a target (ctest fuzz_<target>, label fuzz):
#   run_fuzz.sh FUZZ_BINARY TARGET TESTS_FUZZ_DIR SECONDS
# First replays tests/fuzz/regressions/TARGET/ (every crash found so far), then fuzzes for SECONDS
# from the seed corpus tests/fuzz/corpus/TARGET/ (read-only; new inputs go to a scratch corpus).
# Prints the executions and coverage; a crash fails the test and leaves the input in
# fuzz-artifacts/ of the build directory, to be added to tests/fuzz/regressions/TARGET/.
set -uo pipefail
bin="$1"; target="$2"; src="$3"; seconds="$4"
work="$(mktemp -d "${TMPDIR:-/tmp}/mt_fuzz_run_XXXXXX")"
trap 'rm -rf "$work"' EXIT
artifacts="$(pwd)/fuzz-artifacts/$target"
mkdir -p "$artifacts" "$work/corpus"
export TMPDIR="$work"  # the target's scratch workspace lives here too
# Leaks are not what this run is about (libgomp, OpenBLAS and HDF5 keep one-time allocations).
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:symbolize=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

dict=()
[[ -f "$src/$target.dict" ]] && dict=(-dict="$src/$target.dict")

shopt -s nullglob
regressions=("$src/regressions/$target"/*)
if (( ${#regressions[@]} > 0 )); then
  echo "[fuzz] $target: replaying ${#regressions[@]} regression inputs"
  "$bin" -runs=1 "${regressions[@]}" >"$work/replay.log" 2>&1 || {
    cat "$work/replay.log"; echo "[fuzz] $target: a regression input fails again"; exit 1; }
fi

echo "[fuzz] $target: fuzzing for ${seconds}s from $(ls "$src/corpus/$target" | wc -l) seeds"
"$bin" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=3072 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" \
  "$work/corpus" "$src/corpus/$target" >"$work/fuzz.log" 2>&1
rc=$?
execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/fuzz.log" | grep -o '[0-9]*$')"
cov="$(grep -o 'cov: [0-9]*' "$work/fuzz.log" | tail -1)"
if (( rc != 0 )); then
  tail -60 "$work/fuzz.log"
  echo "[fuzz] $target: CRASH after ${execs:-?} executions; input in $artifacts/ (add it to tests/fuzz/regressions/$target/)"
  exit 1
fi
echo "[fuzz] $target: ${execs:-0} executions in ${seconds}s, ${cov:-cov: ?} edges, corpus $(ls "$work/corpus" | wc -l) new inputs, 0 crashes"
