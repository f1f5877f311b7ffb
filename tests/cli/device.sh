#!/usr/bin/env bash
# train.device: the log says which device and why; cuda where it cannot run (no CUDA build, no
# device, or stats on) is a [train] input error, exit 2, before any output folder exists; a bad
# value is refused. On a machine with a device the cuda run itself is tests/cuda's.
source "$(dirname "$0")/common.inc"
make_text "$TMP/text"
make_config "$TMP/tiny.yaml"
cd "$TMP"
devices="$("$MUTRAIN" version | sed -n 's/^training devices: //p')"
expect_exit 2 'device' -- "$MUTRAIN" train tiny.yaml --out bad --set train.device=tpu
"$MUTRAIN" train tiny.yaml --out cpu --set train.device=cpu --set train.steps=2 >log.txt 2>&1 \
  || fail "cpu run failed: $(tail -5 log.txt)"
grep -q '^\[train\] device: cpu (train.device)' log.txt || fail "no device line: $(head -3 log.txt)"
if [[ ",$devices," != *,cuda,* ]]; then
  expect_exit 2 '^\[train\] train.device: cuda cannot run here: ' -- \
    "$MUTRAIN" train tiny.yaml --out refused --set train.device=cuda
  [[ ! -e refused ]] || fail "a refused cuda run created its output folder"
  "$MUTRAIN" train tiny.yaml --out dflt --set train.steps=2 >log2.txt 2>&1 || fail "default run failed"
  grep -q '^\[train\] device: cpu (default: ' log2.txt || fail "no default device line: $(head -3 log2.txt)"
else
  expect_exit 2 '^\[train\] train.device: stats' -- \
    "$MUTRAIN" train tiny.yaml --out refused --set train.device=cuda --set stats.every=5
fi
finish
