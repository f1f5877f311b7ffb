#!/usr/bin/env bash
# bf16 against fp32 on a config (issue 16's acceptance; default the quickstart): the config for
# STEPS steps (default 300) with each seed in SEEDS (default "0 1 2"), once with train.precision:
# fp32 and once with bf16, and the final validation loss of each (the whole validation split).
# Prints a table, the mean and largest |bf16 - fp32| over seeds, and the seed spread (max - min
# over seeds) of each precision. Exit 1 when the mean difference is 0.02 nats or more.
# Usage: bash scripts/compare_precision.sh [BINARY=build/mutrain]
#   env: CONFIG (default configs/quickstart.yaml), SETS (more --set overrides, space-separated
#   key=value), STEPS, SEEDS, OUT, VAL_FRACTION (data.val_fraction; default the config's: the
#   quickstart's 0.1 takes minutes to validate, 0.02 keeps the last 2 % of the corpus)
#   e.g. CONFIG=configs/transfer_gpt.yaml STEPS=200 SETS="optimizer.groups.hidden=muon" bash ...
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(realpath "${1:-build/mutrain}")"
STEPS="${STEPS:-300}"
SEEDS="${SEEDS:-0 1 2}"
OUT="${OUT:-runs/compare_precision}"
CONFIG="${CONFIG:-configs/quickstart.yaml}"
EXTRA=()
[[ -n ${VAL_FRACTION:-} ]] && EXTRA=(--set "data.val_fraction=$VAL_FRACTION")
for kv in ${SETS:-}; do EXTRA+=(--set "$kv"); done
rm -rf "$OUT" && mkdir -p "$OUT"
for seed in $SEEDS; do
  for prec in fp32 bf16; do
    echo "[compare_precision] seed $seed $prec ($STEPS steps)"
    "$BIN" train "$CONFIG" --out "$OUT/$prec-$seed" --set "train.steps=$STEPS" \
      --set "seed=$seed" --set "train.precision=$prec" --set train.eval_every=0 "${EXTRA[@]}" \
      >"$OUT/$prec-$seed.log" 2>&1 || { tail -20 "$OUT/$prec-$seed.log"; exit 1; }
  done
done
/usr/bin/python3 - "$OUT" $SEEDS <<'PY'
import glob, sys, h5py, numpy as np
out, seeds = sys.argv[1], sys.argv[2:]
def val(prec, seed):
    (path,) = glob.glob(f"{out}/{prec}-{seed}/*/metrics.h5")
    return float(h5py.File(path, "r")["val/loss"][-1])
rows = [(s, val("fp32", s), val("bf16", s)) for s in seeds]
print(f"{'seed':>5} {'fp32':>9} {'bf16':>9} {'bf16-fp32':>10}")
for s, a, b in rows:
    print(f"{s:>5} {a:9.5f} {b:9.5f} {b - a:+10.5f}")
d = np.array([b - a for _, a, b in rows])
f32 = np.array([a for _, a, _ in rows]); b16 = np.array([b for _, _, b in rows])
print(f"mean bf16-fp32 {d.mean():+.5f}, largest |bf16-fp32| {np.abs(d).max():.5f} nats")
print(f"seed spread (max-min): fp32 {np.ptp(f32):.5f}, bf16 {np.ptp(b16):.5f} nats")
sys.exit(0 if abs(d.mean()) < 0.02 else 1)
PY
