#!/usr/bin/env bash
# Where a train step's time goes: perf samples one bench step (bench_gpt_step or bench_llama_step)
# at one thread count and precision, and bench/profile_categories.py sorts every sample into
# products, casts, element-wise work, norms, attention, loss, Newton-Schulz, optimizer, memory
# (page faults, clears) and framework overhead, by the symbol it hit; the trainer's set-up (the
# weights' random initialisation) is counted apart and left out of the shares. Products include
# Newton-Schulz's (perf cannot see the caller of oneDNN's JIT code): the Newton-Schulz row counts
# its own code only. Run it on a quiet machine.
# Usage: bash bench/profile_step.sh [gpt|llama] [threads=2] [bf16=1] [BUILD_DIR=build]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="${1:-gpt}"
THREADS="${2:-2}"
BF16="${3:-1}"
BUILD="${4:-build}"
command -v perf >/dev/null || { echo "[bench] perf is not installed (apt install linux-perf)"; exit 2; }
if grep -q avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; fi
BIN="$BUILD/bench/bench_${MODEL}_step"
[[ -x "$BIN" ]] || { echo "[bench] $BIN not built"; exit 2; }
DATA="$(mktemp -d)"
trap 'rm -rf "$DATA"' EXIT
perf record -q -F 999 -o "$DATA/perf.data" "$BIN" --benchmark_filter="threads:$THREADS/bf16:$BF16/" \
  --benchmark_repetitions=1 2>&1 | grep -E "^BM_" || true
perf report -q -i "$DATA/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null >"$DATA/report.txt"
/usr/bin/python3 bench/profile_categories.py "$DATA/report.txt" \
  "$MODEL, threads $THREADS, $([[ $BF16 == 1 ]] && echo bf16 || echo fp32)"
