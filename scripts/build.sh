#!/usr/bin/env bash
# Configures and builds mutrain (Release) into build/ with 2 parallel jobs by default.
# Usage: bash scripts/build.sh [--target NAME] [extra cmake -D options]
#   --target NAME builds only that target (README command 1 builds just `mutrain`; command 2 all).
#   MT_JOBS overrides the job count.
set -euo pipefail
cd "$(dirname "$0")/.."
target=()
if [[ ${1:-} == --target ]]; then
  target=(--target "${2:?--target needs a name}")
  shift 2
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j "${MT_JOBS:-2}" "${target[@]}"
