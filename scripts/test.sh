#!/usr/bin/env bash
# README command 2: install what is missing, build, and run every test (ctest: unit, mpi and
# cuda-labelled tests; cuda tests skip without a GPU). Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh --test
bash scripts/install_data.sh data
bash scripts/build.sh
cd build
ctest --output-on-failure -j 2 "$@"
