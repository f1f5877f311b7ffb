#!/usr/bin/env bash
# bench/gpu/verify.sh: the one command that checks the CUDA backend on a GPU machine.
#   1. checks the tools and libraries (says what is missing; no network is assumed),
#   2. configures (Release, CMAKE_CUDA_ARCHITECTURES 90) into build-gpu/ and builds the targets
#      it needs with -j16 (mutrain, mt_test_cuda, bench_muon_gpu),
#   3. runs `ctest -L cuda` (backend parity, 20-step GPT CUDA vs CPU, NCCL 1 vs 2 ranks),
#   4. benchmark (a): one Muon step over GPT-2 small's 72 hidden matrices, ours vs
#      torch.optim.Muon.step() vs a torch.compile'd batched bf16 Newton-Schulz, same run,
#   5. benchmark (b): GPT-2 124M training tokens/s (B=16, T=1024, bf16, Muon + AdamW), ours vs
#      PyTorch eager vs torch.compile,
#   6. prints a summary (also written to build-gpu/verify_summary.txt) with the acceptance checks.
# Usage: bash bench/gpu/verify.sh
# Environment: MT_VERIFY_JOBS (16), MT_VERIFY_PYTHON (python3: the one with PyTorch),
# MT_BF16_PEAK_TFLOPS (else from the GPU's name), MT_VERIFY_SKIP_BUILD=1 (reuse the build),
# MT_VERIFY_BUILD_DIR (build-gpu/). Logs of every phase: build-gpu/verify_*.log.
set -uo pipefail
START=$SECONDS
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${MT_VERIFY_BUILD_DIR:-$ROOT/build-gpu}"
JOBS="${MT_VERIFY_JOBS:-16}"
PY="${MT_VERIFY_PYTHON:-python3}"
mkdir -p "$BUILD"
SUMMARY="$BUILD/verify_summary.txt"
: > "$SUMMARY"
say() { echo "[verify] $*"; }
note() { echo "$*" | tee -a "$SUMMARY"; }
elapsed() { echo "$((SECONDS - START)) s"; }
export PATH="/usr/local/cuda/bin:$PATH"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# ---- 1. tools and libraries -------------------------------------------------------------------
missing=()
for tool in cmake g++ nvcc git; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool (command)"); done
have_header() {
  [[ -n "$(find /usr/include /usr/local/include /usr/local/cuda/include -maxdepth 4 -path "*/$1" \
           -print -quit 2>/dev/null)" ]]
}
for h in cblas.h:libopenblas-dev yaml-cpp/yaml.h:libyaml-cpp-dev hdf5.h:libhdf5-dev zlib.h:zlib1g-dev; do
  have_header "${h%%:*}" || missing+=("${h##*:} (${h%%:*})")
done
if (( ${#missing[@]} > 0 )); then
  say "missing, needed to build mutrain: ${missing[*]}"
  say "install them (as root: bash scripts/install_deps.sh, or apt-get install the packages named) and run again"
  exit 2
fi
optional=()
cmake_args=()
if ! have_header gtest/gtest.h; then
  optional+=("libgtest-dev: no tests (ctest -L cuda skipped)")
  cmake_args+=(-DMT_BUILD_TESTS=OFF)
fi
if ! { have_header mpi.h || command -v mpicxx >/dev/null 2>&1; }; then
  optional+=("libopenmpi-dev: no MPI/NCCL, the 1 vs 2 ranks test is not built")
  cmake_args+=(-DMT_WITH_MPI=OFF)
fi
have_header nccl.h || optional+=("NCCL headers: no NCCL communicator")
have_header oneapi/dnnl/dnnl.hpp || optional+=("libdnnl-dev: CPU bf16 off (CPU reference runs stay fp32)")
{ /usr/bin/python3 -c "import h5py" 2>/dev/null || python3 -c "import h5py" 2>/dev/null; } || optional+=("python3-h5py: the NCCL ranks test skips")
TORCH=1
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null || {
  TORCH=0; optional+=("PyTorch with CUDA: the PyTorch sides of both benchmarks are skipped"); }
for o in ${optional[@]+"${optional[@]}"}; do say "note: missing $o"; done
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/[verify] gpu: /'
GPU_NAME="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"

# ---- 2. configure and build --------------------------------------------------------------------
if [[ "${MT_VERIFY_SKIP_BUILD:-0}" != 1 ]]; then
  say "configure ($(elapsed))"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DMT_WITH_CUDA=ON -DMT_BUILD_BENCH=OFF ${cmake_args[@]+"${cmake_args[@]}"} \
    >"$BUILD/verify_configure.log" 2>&1 \
    || { say "configure failed:"; tail -30 "$BUILD/verify_configure.log"; exit 1; }
  grep -E "CUDA backend|NCCL|oneDNN" "$BUILD/verify_configure.log" | sed 's/^/[verify] /'
  grep -q "CUDA backend: on" "$BUILD/verify_configure.log" || { say "the CUDA backend is off (see above)"; exit 1; }
  targets=(mutrain bench_muon_gpu)
  have_header gtest/gtest.h && targets+=(mt_test_cuda)
  say "build -j$JOBS ${targets[*]} ($(elapsed))"
  cmake --build "$BUILD" -j"$JOBS" --target "${targets[@]}" >"$BUILD/verify_build.log" 2>&1 \
    || { say "build failed:"; grep -E "error|Error" "$BUILD/verify_build.log" | head -30; exit 1; }
fi
MUTRAIN="$BUILD/mutrain"
"$MUTRAIN" version | sed 's/^/[verify] /'
"$MUTRAIN" version | grep -q "^training devices: .*cuda" || say "WARNING: mutrain does not list cuda as a training device"

# ---- 3. tests ------------------------------------------------------------------------------------
TESTS="not run"
if have_header gtest/gtest.h; then
  say "ctest -L cuda ($(elapsed))"
  (cd "$BUILD" && timeout 180 ctest -L cuda --output-on-failure) >"$BUILD/verify_ctest.log" 2>&1
  rc=$?
  grep -E "tests passed|Skipped|Failed|\*\*\*" "$BUILD/verify_ctest.log" | sed 's/^/[verify] /'
  TESTS="$(grep -E "tests passed" "$BUILD/verify_ctest.log" | tail -1), $(grep -c "(Skipped)" \
    "$BUILD/verify_ctest.log") skipped (rc $rc; a skip is not a pass: see verify_ctest.log)"
fi

result() { sed -n "s/^RESULT $2 //p" "$1" | tail -1; }

# ---- 4. benchmark (a): one Muon step --------------------------------------------------------------
say "benchmark (a): Muon step over the 72 GPT-2 small matrices ($(elapsed))"
timeout 120 "$BUILD/bench/bench_muon_gpu" --warmup 5 --iters 30 >"$BUILD/verify_muon_ours.log" 2>&1
if (( TORCH )); then
  timeout 180 "$PY" "$ROOT/bench/gpu/torch_muon_step.py" --warmup 5 --iters 30 \
    >"$BUILD/verify_muon_torch.log" 2>&1
else
  echo "SKIP no torch" >"$BUILD/verify_muon_torch.log"
fi
cat "$BUILD/verify_muon_ours.log" "$BUILD/verify_muon_torch.log" | grep -E "^(RESULT|SKIP|ERROR)" | sed 's/^/[verify] /'

# ---- 5. benchmark (b): GPT-2 124M tokens/s ------------------------------------------------------
say "benchmark (b): GPT-2 124M tokens/s, ours ($(elapsed))"
rm -rf "$BUILD/verify_runs"
timeout 180 "$MUTRAIN" train "$ROOT/bench/gpu/gpt2_124m.yaml" --out "$BUILD/verify_runs" \
  >"$BUILD/verify_gpt_ours.log" 2>&1
OURS_TPS="$(grep -oE '[0-9.]+[kM]? tok/s' "$BUILD/verify_gpt_ours.log" | tail -1 | awk '{v=$1; m=1; if (v ~ /k$/) m=1e3; if (v ~ /M$/) m=1e6; sub(/[kM]$/, "", v); printf "%.0f", v*m}')"
grep -E "^\[train\] device" "$BUILD/verify_gpt_ours.log" | head -1 | sed 's/^/[verify] /'
[[ -n "${OURS_TPS:-}" ]] || { say "our GPT-2 run gave no tokens/s; its last lines:"; tail -5 "$BUILD/verify_gpt_ours.log"; }
for mode in eager compile; do
  if (( TORCH )); then
    say "benchmark (b): PyTorch $mode ($(elapsed))"
    limit=120; [[ $mode == compile ]] && limit=240
    timeout "$limit" "$PY" "$ROOT/bench/gpu/torch_gpt2.py" --mode "$mode" >"$BUILD/verify_gpt_$mode.log" 2>&1
    grep -E "^(RESULT|SKIP|ERROR)|Error" "$BUILD/verify_gpt_$mode.log" | tail -4 | sed 's/^/[verify] /'
  fi
done

# ---- 6. summary -----------------------------------------------------------------------------------
PEAK="${MT_BF16_PEAK_TFLOPS:-}"
if [[ -z $PEAK ]]; then
  case "$GPU_NAME" in
    *H100*PCIe*) PEAK=756 ;;
    *H100*|*H200*|*H800*|*GH200*) PEAK=989 ;;
    *A100*) PEAK=312 ;;
    *) PEAK="" ;;
  esac
fi
O="$BUILD/verify_muon_ours.log"; T="$BUILD/verify_muon_torch.log"
ours_step="$(result "$O" ours_muon_step_ms)"; ours_ns="$(result "$O" ours_ns_only_ms)"
ours_ns32="$(result "$O" ours_ns_fp32_storage_ms)"
tflop="$(result "$O" ns_tflop)"; torch_step="$(result "$T" torch_muon_step_ms)"
torch_ns="$(result "$T" torch_compile_ns_ms)"
eager="$(result "$BUILD/verify_gpt_eager.log" torch_eager_tokens_per_s 2>/dev/null)"
compiled="$(result "$BUILD/verify_gpt_compile.log" torch_compile_tokens_per_s 2>/dev/null)"
python3 - "$ours_step" "$ours_ns" "$tflop" "$torch_step" "$torch_ns" "$PEAK" "${OURS_TPS:-}" \
  "${eager:-}" "${compiled:-}" "$GPU_NAME" "$TESTS" "$ours_ns32" <<'PY' | tee -a "$SUMMARY"
import sys
def num(s):
    try:
        return float(s.split()[0])
    except (ValueError, IndexError, AttributeError):
        return None
ours_step, ours_ns, tflop, torch_step, torch_ns, peak, ours_tps, eager, compiled = map(num, sys.argv[1:10])
gpu, tests, ours_ns32 = sys.argv[10], sys.argv[11], num(sys.argv[12])
f = lambda v, u="": "n/a" if v is None else f"{v:.3f}{u}"
print("=" * 78)
print(f"mutrain CUDA verification on {gpu or 'unknown GPU'}")
print(f"tests (ctest -L cuda): {tests}")
print(f"(a) Muon step, 72 GPT-2 small matrices ({f(tflop)} TFLOP of Newton-Schulz):")
print(f"    ours, Muon step (momentum + batched bf16 NS + update): {f(ours_step, ' ms')}")
print(f"    ours, Newton-Schulz only (3 batched stacks):         {f(ours_ns, ' ms')}")
print(f"    ours, NS only with the CPU's fp32 storage:            {f(ours_ns32, ' ms')}")
print(f"    torch.optim.Muon.step():                              {f(torch_step, ' ms')}")
print(f"    torch.compile'd batched bf16 NS:                       {f(torch_ns, ' ms')}")
if tflop and peak:
    for name, t in (("ours step", ours_step), ("ours NS", ours_ns), ("torch.compile NS", torch_ns)):
        if t:
            print(f"    fraction of bf16 peak ({peak:.0f} TFLOP/s), {name}: {tflop / (t / 1e3) / peak:.1%}")
if ours_step and torch_ns:
    s = torch_ns / ours_step
    print(f"    speed-up of our Muon step over the torch.compile NS: {s:.2f}x -> {'PASS' if s >= 1.5 else 'FAIL'} (>= 1.5x)")
print(f"(b) GPT-2 124M training, B=16 T=1024 bf16, tokens/s:")
print(f"    ours: {f(ours_tps)}   PyTorch eager: {f(eager)}   torch.compile: {f(compiled)}")
if ours_tps and compiled:
    print(f"    ours / torch.compile = {ours_tps / compiled:.2f} -> {'PASS' if ours_tps >= compiled else 'FAIL'} (>= 1)")
print("=" * 78)
PY
say "done in $(elapsed); logs and summary in $BUILD/verify_*"
