#!/usr/bin/env bash
# Times one GPT train step in mutrain (bench_gpt_step) and in PyTorch (torch_gpt_step.py) in the
# same run, each at its best thread count (1 or 2), and prints the medians and the ratio
# mutrain/PyTorch (< 1: mutrain is faster). Needs python3-torch (scripts/install_deps.sh --bench).
# Usage: bash bench/compare_gpt_step.sh [BUILD_DIR=build]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
# Both sides use OpenBLAS; on AVX-512 CPUs its SkylakeX kernels are the fast ones (see docs).
if grep -q avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; fi
"$BUILD/bench/bench_gpt_step" --benchmark_format=json --benchmark_out="$BUILD/bench_gpt_step.json" \
  --benchmark_out_format=json >/dev/null
torch_json="$(/usr/bin/python3 bench/torch_gpt_step.py 1 2)"
/usr/bin/python3 - "$BUILD/bench_gpt_step.json" "$torch_json" <<'PY'
import json, sys
ours = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        threads = b["run_name"].split("threads:")[1].split("/")[0]
        ours[threads] = b["real_time"] / 1e3  # ms -> s
torch = json.loads(sys.argv[2])
for t in sorted(ours):
    print(f"mutrain  threads={t}: median {ours[t]*1e3:8.1f} ms/step")
for t in sorted(torch):
    print(f"pytorch  threads={t}: median {torch[t]*1e3:8.1f} ms/step")
best_ours, best_torch = min(ours.values()), min(torch.values())
print(f"ratio mutrain/pytorch (best of each): {best_ours / best_torch:.3f}")
PY
