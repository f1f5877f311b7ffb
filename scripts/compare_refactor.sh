#!/usr/bin/env bash
# Numerics check for refactors (issue 15): the same short runs with a reference binary and a new
# one must give bitwise the same parameters, optimizer state, warm starts, every checkpoint and
# every metrics.h5 series (wall-clock series excepted).
#
#   scripts/compare_refactor.sh reference [BINARY]  # runs BINARY (default build/mutrain) into
#                                                   # $REF/runs and keeps it as $REF/mutrain.ref
#   scripts/compare_refactor.sh compare [BINARY]    # runs BINARY into $REF/new, compares each run
#
# REF defaults to /work/ref15 (outside the repository). The runs: the quickstart GPT (50 steps,
# stats every 5 steps, evaluations, a mid-run checkpoint) and the MNIST MLP (60 steps, stats on)
# at 1 and 2 ranks (mpirun -np 2 --oversubscribe), plus the MLP under µP (Muon + spectral scale
# on the hidden matrix, SGD on the readout and biases; and AdamW on the hidden matrix), which
# exercise every optimizer's µP rule, and µP runs with a zero-initialised readout (the MLP's two
# and the GPT with Muon). Exit 0 when every run is bitwise equal.
set -euo pipefail
MODE="${1:?usage: compare_refactor.sh reference|compare [BINARY]}"
SRC="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$(realpath "${2:-$SRC/build/mutrain}")"
REF="${REF:-/work/ref15}"
MPIRUN="${MPIRUN:-mpirun}"
PY="${PY:-/usr/bin/python3}"  # with h5py and numpy
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1 \
  OMPI_MCA_btl=self,vader
case "$MODE" in
  reference) OUT="$REF/runs" ;;
  compare) OUT="$REF/new" ;;
  *) echo "usage: compare_refactor.sh reference|compare [BINARY]" >&2; exit 2 ;;
esac
rm -rf "$OUT" && mkdir -p "$OUT"
[[ "$MODE" == reference ]] && cp "$BIN" "$REF/mutrain.ref"
cd "$SRC"

GPT=(configs/quickstart.yaml --set train.steps=50 --set train.log_every=5 --set train.eval_every=25
     --set train.eval_batches=2 --set stats.every=5 --set checkpoint.every=25
     --set data.val_fraction=0.02)
MLP=(configs/mnist_mlp.yaml --set train.steps=60 --set train.log_every=10 --set train.eval_every=30
     --set train.eval_batches=2 --set stats.every=10 --set checkpoint.every=30)
MUP=(--set parametrization.type=mup --set parametrization.base_width=64
     --set optimizer.muon.adjust_lr=spectral --set optimizer.groups.output=sgd
     --set optimizer.groups.vector=sgd --set optimizer.sgd.lr=0.05)

run() {  # run NAME RANKS ARGS...
  local name="$1" np="$2"
  shift 2
  local launch=()
  local threads=2
  if ((np > 1)); then launch=("$MPIRUN" --oversubscribe -np "$np"); threads=1; fi
  echo "== $name ($np rank(s))"
  OMP_NUM_THREADS=$threads "${launch[@]}" "$BIN" train "$@" --set name="$name" \
    --set train.threads=$threads --out "$OUT" > "$OUT/$name.log" 2>&1 ||
    { tail -20 "$OUT/$name.log"; exit 1; }
}

run gpt_np1 1 "${GPT[@]}"
run gpt_np2 2 "${GPT[@]}"
run mlp_np1 1 "${MLP[@]}"
run mlp_np2 2 "${MLP[@]}"
run mlp_mup_np1 1 "${MLP[@]}" "${MUP[@]}"
run mlp_mup_np2 2 "${MLP[@]}" "${MUP[@]}"
run mlp_mup_adamw_np1 1 "${MLP[@]}" "${MUP[@]}" --set optimizer.groups.hidden=adamw
# µP with a zero-initialised readout (where the readout's init rule does not enter)
ZERO=(--set parametrization.readout_zero_init=true)
run mlp_mup_zero_np1 1 "${MLP[@]}" "${MUP[@]}" "${ZERO[@]}"
run mlp_mup_adamw_zero_np1 1 "${MLP[@]}" "${MUP[@]}" "${ZERO[@]}" --set optimizer.groups.hidden=adamw \
  --set optimizer.groups.output=adamw --set optimizer.groups.vector=adamw
run gpt_mup_zero_np1 1 "${GPT[@]}" --set parametrization.type=mup --set parametrization.init=normal \
  --set parametrization.base_width=64 --set optimizer.muon.adjust_lr=spectral "${ZERO[@]}"

[[ "$MODE" == reference ]] && { echo "reference runs in $OUT"; exit 0; }
status=0
for log in "$REF"/runs/*.log; do
  name="$(basename "$log" .log)"
  "$PY" "$SRC/tests/support/compare_runs.py" --every-array "$REF/runs/$name" "$OUT/$name" ||
    status=1
done
exit $status
