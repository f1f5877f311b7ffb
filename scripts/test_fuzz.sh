#!/usr/bin/env bash
# Fuzzing suite (docs/reliability.md "Fuzzing", tests/fuzz/README.md): installs clang and its
# libFuzzer runtime if missing, builds build-fuzz/ with clang -DMT_FUZZ=ON (coverage + ASan + UBSan)
# and runs every fuzz target for MT_FUZZ_SECONDS (default 60) as ctest label "fuzz", after replaying
# the committed regression inputs. Prints executions per target. Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh --fuzz
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DMT_FUZZ=ON \
  -DMT_WITH_MPI=OFF -DMT_WITH_CUDA=OFF -DMT_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMT_FUZZ_SECONDS="${MT_FUZZ_SECONDS:-60}" >/dev/null
cmake --build build-fuzz -j "${MT_JOBS:-2}"
cd build-fuzz
ctest -j "${MT_JOBS:-2}" -L fuzz -V "$@" | grep -vE "^[0-9]+: (Test command|Working Directory|Environment variables|Test timeout)"
