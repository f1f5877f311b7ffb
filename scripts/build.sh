#!/usr/bin/env bash
# Configures and builds mutrain (Release) into build/ with 2 parallel jobs by default.
# Usage: bash scripts/build.sh [extra cmake -D options]   (MT_JOBS overrides the job count)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j "${MT_JOBS:-2}"
