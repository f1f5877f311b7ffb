#!/usr/bin/env bash
# The CPU build without oneDNN (-DMT_WITH_DNNL=OFF, as on a machine without libdnnl-dev) must build
# and train in fp32, and refuse train.precision: bf16 with a clear [backend] message (exit 2).
# Builds only the mutrain binary into build-nodnnl/, then runs tests/cli/precision.sh against it.
# Usage: bash scripts/check_no_dnnl.sh   (MT_JOBS overrides the job count)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-nodnnl -DCMAKE_BUILD_TYPE=Release -DMT_WITH_DNNL=OFF -DMT_WITH_CUDA=OFF \
  -DMT_BUILD_TESTS=OFF -DMT_BUILD_BENCH=OFF >/dev/null
cmake --build build-nodnnl -j "${MT_JOBS:-2}" --target mutrain >/dev/null
if ldd build-nodnnl/mutrain | grep -q libdnnl; then
  echo "[check_no_dnnl] error: build-nodnnl/mutrain links oneDNN" >&2
  exit 1
fi
build-nodnnl/mutrain version | grep -q '^bf16 on cpu: no: this build has no oneDNN' || {
  echo "[check_no_dnnl] error: 'mutrain version' does not say bf16 is off:" >&2
  build-nodnnl/mutrain version >&2
  exit 1
}
bash tests/cli/precision.sh build-nodnnl/mutrain .
echo "[check_no_dnnl] the build without oneDNN trains in fp32 and refuses bf16 clearly"
