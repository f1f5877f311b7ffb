#!/usr/bin/env bash
# train.precision: bf16 trains where bf16 products exist (oneDNN + AVX512-BF16 / AMX) and refuses
# with a [backend] message and exit 2 where they do not (MT_BF16_DISABLE simulates such a CPU; a
# build without oneDNN refuses the same way), creating no run directory. Bad values are refused.
source "$(dirname "$0")/common.inc"
make_text "$TMP/text"
make_config "$TMP/tiny.yaml"
cd "$TMP"
bf16_line="$("$MUTRAIN" version | sed -n 's/^bf16 on cpu: //p')"
[[ -n $bf16_line ]] || fail "mutrain version has no 'bf16 on cpu:' line"

expect_exit 2 'precision.*(fp32|bf16)' -- "$MUTRAIN" train tiny.yaml --out bad --set train.precision=fp16

if [[ $bf16_line == yes* ]]; then
  expect_exit 2 '^\[backend\] train.precision: bf16 is not available here: MT_BF16_DISABLE is set' -- \
    env MT_BF16_DISABLE=1 "$MUTRAIN" train tiny.yaml --out refused --set train.precision=bf16
  [[ ! -e refused ]] || fail "a refused bf16 run created its output folder"
  "$MUTRAIN" train tiny.yaml --out runs --set train.precision=bf16 >log.txt 2>&1 \
    || fail "bf16 run failed: $(tail -5 log.txt)"
  [[ -f runs/tiny/metrics.h5 ]] || fail "bf16 run wrote no runs/tiny/metrics.h5"
  # The same run in fp32 must differ (bf16 products really ran), but only a little.
  "$MUTRAIN" train tiny.yaml --out runs32 >log32.txt 2>&1 || fail "fp32 run failed"
  /usr/bin/python3 - runs/tiny/metrics.h5 runs32/tiny/metrics.h5 <<'PY' || fail "bf16 vs fp32 losses"
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r")["train/loss"][()] for p in sys.argv[1:3])
d = float(np.max(np.abs(a - b)))
print(f"train loss bf16 {a.tolist()} fp32 {b.tolist()} max diff {d:.2e}")
sys.exit(0 if 0 < d < 0.05 else 1)
PY
else
  expect_exit 2 '^\[backend\] train.precision: bf16 is not available here' -- \
    "$MUTRAIN" train tiny.yaml --out nodnnl --set train.precision=bf16
  [[ ! -e nodnnl ]] || fail "a refused bf16 run created its output folder"
  echo "bf16 unavailable in this build/CPU ($bf16_line): checked the refusal only"
fi
finish
