#!/usr/bin/env bash
# Sanitizer suite (docs/reliability.md): builds build-asan/ with -DMT_SANITIZE=ON (AddressSanitizer +
# UndefinedBehaviorSanitizer, host code only) and runs the unit suite under it, which includes the
# config, data and checkpoint readers (mt_test_train, cli_bad_input, cli_bad_corpus, cli_resume,
# cli_nonfinite, cli_kill_fuzz). MT_SANITIZE_MPI=1 also runs the MPI suite. Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -DMT_SANITIZE=ON -DMT_WITH_CUDA=OFF -DMT_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-asan -j "${MT_JOBS:-2}"
# detect_leaks=0: LeakSanitizer reports the one-time allocations of libgomp, OpenBLAS and Open MPI
# that live until exit (none of them are mutrain's). abort_on_error makes a finding a test failure
# whatever the program's own exit code would have been; UBSan aborts too (-fno-sanitize-recover).
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
cd build-asan
labels="mpi|slurm|slow|fuzz"
ctest --output-on-failure -j 2 -LE "$labels" "$@"
if [[ "${MT_SANITIZE_MPI:-0}" == 1 ]]; then ctest --output-on-failure -j 2 -L mpi "$@"; fi
