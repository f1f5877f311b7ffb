#!/usr/bin/env bash
# Python tools tests: a tiny real run (stats and checkpoints on), then pytest tests/tools against it
# (layout of metrics.h5 and checkpoints, tools/plot.py, mutrain inspect).
# usage: run_python_tests.sh <mutrain binary> <source dir> [pytest arguments: default tests/tools]
source "$(dirname "$0")/../cli/common.inc"
(($# > 2)) || set -- "$1" "$2" "$SRC/tests/tools"
PY=/usr/bin/python3
[[ -x $PY ]] || PY="$(command -v python3)"
if ! "$PY" -c "import h5py, numpy, matplotlib, pytest, yaml" 2>/dev/null; then
  skip "$PY lacks h5py/numpy/matplotlib/pytest/yaml (bash scripts/install_deps.sh --test installs them)"
fi
make_text "$TMP/text"
C="$TMP/tools.yaml"
make_config "$C"
cat >> "$C" <<YAML
stats: {every: 2, probe_batch: 4}
checkpoint: {every: 2, keep_last: 2}
YAML
sed -i 's/^name: tiny/name: tools/; s/steps: 4,/steps: 6,/; s/eval_every: 0/eval_every: 3/' "$C"
cd "$TMP"
out="$(OMP_NUM_THREADS=1 "$MUTRAIN" train "$C" --out "$TMP/runs" 2>&1)" || { echo "$out"; fail "tiny run failed"; finish; }
# a coordinate check folder (coord_check.h5) for plot.py and inspect
sed "s|data/sotu|$TMP/text|" "$SRC/configs/coord_check_gpt.yaml" > "$TMP/cc.yaml"
"$MUTRAIN" coord-check "$TMP/cc.yaml" --widths 16,32 --steps 2 --set train.threads=1 --out "$TMP/cc" >/dev/null 2>&1 ||
  fail "coord-check run failed"
CC_DIR="$(dirname "$(find "$TMP/cc" -name coord_check.h5 | head -1)")"
MT_COORD_DIR="$CC_DIR" MT_RUN_DIR="$TMP/runs/tools" MT_MUTRAIN="$MUTRAIN" MT_SOURCE_DIR="$SRC" MT_CONFIG="$C" \
  MPLBACKEND=Agg "$PY" -m pytest -q -p no:cacheprovider --basetemp="$TMP/pytest" "${@:3}" || fail "pytest tests/tools"
finish
