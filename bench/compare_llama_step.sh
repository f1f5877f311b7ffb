#!/usr/bin/env bash
# Times one llama train step (d256 L4 H4 T128 B16, vocabulary 50304, QK-norm, Muon + AdamW) in the
# same run: mutrain fp32 and bf16 (bench_llama_step) against PyTorch fp32 and bf16 autocast
# (torch_llama_step.py), each at its best thread count (1 or 2); prints every median and the
# ratios. Needs python3-torch (scripts/install_deps.sh --bench). Run it on a quiet machine.
# Usage: bash bench/compare_llama_step.sh [BUILD_DIR=build]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
if grep -q avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; fi
PY=/usr/bin/python3
"$BUILD/bench/bench_llama_step" --benchmark_format=json --benchmark_out="$BUILD/bench_llama_step.json" \
  --benchmark_out_format=json >/dev/null 2>&1 || true
torch_fp32="$($PY bench/torch_llama_step.py 1 2)"
torch_bf16="$($PY bench/torch_llama_step.py --bf16 1 2)"
$PY - "$BUILD/bench_llama_step.json" "$torch_fp32" "$torch_bf16" <<'PY'
import json, sys
ours = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") == "median" and not b.get("error_occurred"):
        a = dict(kv.split(":") for kv in b["run_name"].split("/")[1:] if ":" in kv)
        ours[("bf16" if a["bf16"] == "1" else "fp32", a["threads"])] = b["real_time"] / 1e3
torch = {"fp32": json.loads(sys.argv[2]), "bf16": json.loads(sys.argv[3])}
for prec in ("fp32", "bf16"):
    for (p, t), s in sorted(ours.items()):
        if p == prec:
            print(f"mutrain  {prec} threads={t}: median {s * 1e3:8.1f} ms/step")
    for t, s in sorted(torch[prec].items()):
        print(f"pytorch  {prec}{' autocast' if prec == 'bf16' else ''} threads={t}: median {s * 1e3:8.1f} ms/step")
    mine = [s for (p, _), s in ours.items() if p == prec]
    if not mine:
        print(f"mutrain  {prec}: skipped (see bench_llama_step's error)")
        continue
    print(f"{prec}: mutrain/pytorch (best of each) {min(mine) / min(torch[prec].values()):.3f}")
PY
