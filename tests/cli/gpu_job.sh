#!/usr/bin/env bash
# jobs/train_gpu.sbatch asks SLURM for a GPU: with a binary that cannot train on one it must refuse
# (exit 2, a [jobs] message) before srun starts, instead of training on the CPU without a word.
# `mutrain version` names the training devices the script reads.
source "$(dirname "$0")/common.inc"
ver="$("$MUTRAIN" version)" || fail "mutrain version failed"
grep -q "^mutrain .* (git .*)$" <<<"$ver" || fail "version line missing: $ver"
devices="$(sed -n 's/^training devices: //p' <<<"$ver")"
[[ -n $devices ]] || fail "no 'training devices:' line: $ver"
make_text "$TMP/text"
make_config "$TMP/tiny.yaml"
cd "$TMP"
# srun on PATH that records being called: it must not be reached when the script refuses.
mkdir -p "$TMP/bin"
printf '#!/bin/sh\ntouch %s/srun_called\n' "$TMP" > "$TMP/bin/srun"
chmod +x "$TMP/bin/srun"
if [[ ",$devices," == *,cuda,* ]]; then
  echo "this build trains on cuda: the refusal path is not reachable; checking the script starts srun"
  PATH="$TMP/bin:$PATH" MT_ROOT="$SRC" MUTRAIN="$MUTRAIN" bash "$SRC/jobs/train_gpu.sbatch" tiny.yaml
  [[ -e $TMP/srun_called ]] || fail "train_gpu.sbatch did not start srun with a CUDA build"
else
  out="$(PATH="$TMP/bin:$PATH" MT_ROOT="$SRC" MUTRAIN="$MUTRAIN" bash "$SRC/jobs/train_gpu.sbatch" tiny.yaml 2>&1)"
  rc=$?
  [[ $rc == 2 ]] || fail "train_gpu.sbatch with a CPU-only binary exited $rc, expected 2: $out"
  grep -q "^\[jobs\] error: .*cannot train on a GPU (training devices: $devices)" <<<"$out" \
    || fail "no clear [jobs] message: $out"
  [[ ! -e $TMP/srun_called ]] || fail "srun was started although the script refused"
fi
finish
