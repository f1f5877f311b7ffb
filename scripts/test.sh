#!/usr/bin/env bash
# README command 2: install what is missing (everything the tests need), build, and run every test
# (ctest: labels unit, slow, mpi, multihost, slurm, cuda; cuda tests skip without a GPU, counted as skipped).
# While tests run, a line every 60 s names the ones still running and for how long. Extra
# arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh --test
bash scripts/install_data.sh data
bash scripts/build.sh
cd build
LOG="$(mktemp)"
# Ticker: ctest prints "Start N: name" when a test starts and "k/n Test #N: name ..." when it ends.
( start=$SECONDS
  while sleep 60; do
    running="$(awk '/^ *Start +[0-9]+: / {s[$2] = $3} / Test +#[0-9]+: / {sub(/^.*#/, ""); delete s[$1]}
                    END {for (k in s) printf "%s ", s[k]}' "$LOG" 2>/dev/null)"
    [[ -n $running ]] && echo "[test] $(((SECONDS - start) / 60)) min: still running: $running"
  done ) &
TICKER=$!
trap 'kill $TICKER 2>/dev/null || true; rm -f "$LOG"' EXIT
rc=0
ctest --output-on-failure -j 2 "$@" 2>&1 | tee "$LOG" || rc=$?
exit "$rc"
