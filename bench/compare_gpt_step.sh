#!/usr/bin/env bash
# Times one GPT train step (d256 L4 H4 T128 B16, Muon + AdamW) in the same run:
#   mutrain fp32 and bf16 (train.precision: bf16)  -- bench_gpt_step
#   PyTorch fp32 and bf16 autocast                  -- torch_gpt_step.py [--bf16]
#   the machine's matmul peak per dtype              -- bench_matmul_peak (OpenBLAS fp32, oneDNN bf16)
# each at its best thread count (1 or 2). Prints every median, the ratios, and the achieved
# GFLOP/s of the whole step against the peak of its dtype. Needs python3-torch
# (scripts/install_deps.sh --bench). A side that cannot run (no bf16 here) is reported as skipped.
# Usage: bash bench/compare_gpt_step.sh [BUILD_DIR=build]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
# Both sides use OpenBLAS for fp32; on AVX-512 CPUs its SkylakeX kernels are the fast ones.
if grep -q avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; fi
PY=/usr/bin/python3
"$BUILD/bench/bench_matmul_peak" --benchmark_format=json --benchmark_out="$BUILD/bench_matmul_peak.json" \
  --benchmark_out_format=json >/dev/null 2>&1 || true
"$BUILD/bench/bench_gpt_step" --benchmark_format=json --benchmark_out="$BUILD/bench_gpt_step.json" \
  --benchmark_out_format=json >/dev/null 2>&1 || true
torch_fp32="$($PY bench/torch_gpt_step.py 1 2)"
torch_bf16="$($PY bench/torch_gpt_step.py --bf16 1 2)"
$PY - "$BUILD/bench_gpt_step.json" "$BUILD/bench_matmul_peak.json" "$torch_fp32" "$torch_bf16" <<'PY'
import json, sys

def medians(path, key):
    out = {}
    for b in json.load(open(path))["benchmarks"]:
        if b.get("aggregate_name") == "median" and not b.get("error_occurred"):
            args = dict(kv.split(":") for kv in b["run_name"].split("/")[1:] if ":" in kv)
            out[key(args)] = b
    return out

step = medians(sys.argv[1], lambda a: ("bf16" if a["bf16"] == "1" else "fp32", a["threads"]))
peak = medians(sys.argv[2], lambda a: ("bf16" if a["bf16"] == "1" else "fp32", a["n"], a["threads"]))
torch = {"fp32": json.loads(sys.argv[3]), "bf16": json.loads(sys.argv[4])}

# Model flops of one step (forward + backward = 3x forward matmuls, full T x T attention as
# usual for MFU counts) plus Newton-Schulz (5 steps, 6 m^2 n per step with m = min side).
D, L, H, T, B, V, NS = 256, 4, 4, 128, 16, 256, 5
N = B * T
fwd = L * (4 * 2 * N * D * D + 2 * 2 * N * D * 4 * D + 2 * 2 * B * T * T * D) + 2 * N * D * V
ns = lambda r, c: NS * (4 * min(r, c) ** 2 * max(r, c) + 2 * min(r, c) ** 3)
flops = 3 * fwd + L * (4 * ns(D, D) + ns(4 * D, D) + ns(D, 4 * D))
print(f"step: {flops / 1e9:.1f} GFLOP (matmuls {3 * fwd / 1e9:.1f}, Newton-Schulz {(flops - 3 * fwd) / 1e9:.1f})")

best = {}
for prec in ("fp32", "bf16"):
    pk = [b["flops"] / 1e9 for (p, n, t), b in peak.items() if p == prec]
    for (p, t), b in sorted(step.items()):
        if p == prec:
            print(f"mutrain  {prec} threads={t}: median {b['real_time']:8.1f} ms/step")
    for t, s in sorted(torch[prec].items()):
        print(f"pytorch  {prec}{' autocast' if prec == 'bf16' else ''} threads={t}: median {s * 1e3:8.1f} ms/step")
    ours = [b["real_time"] / 1e3 for (p, t), b in step.items() if p == prec]
    if not ours:
        print(f"mutrain  {prec}: skipped (see bench_gpt_step's error)")
        continue
    best[prec] = min(ours)
    tbest = min(torch[prec].values())
    line = f"{prec}: mutrain/pytorch (best of each) {best[prec] / tbest:.3f}"
    if pk:
        achieved = flops / best[prec] / 1e9
        line += f"; achieved {achieved:.0f} GFLOP/s = {achieved / max(pk):.2f} of the {prec} matmul peak {max(pk):.0f} GFLOP/s"
    print(line)
if "fp32" in best and "bf16" in best:
    print(f"mutrain bf16 speed-up over mutrain fp32 (best of each): {best['fp32'] / best['bf16']:.2f}x")
PY
