#!/usr/bin/env bash
# The worked notebook examples/analysis.ipynb executed headless (tests/tools/check_notebook.py): it
# trains its own tiny sweep with this mutrain and loads it with mutrain_analysis.
# usage: notebook.sh <mutrain binary> <source dir>
source "$(dirname "$0")/../cli/common.inc"
PY=/usr/bin/python3
[[ -x $PY ]] || PY="$(command -v python3)"
if ! "$PY" -c "import nbclient, nbformat, ipykernel, pandas, h5py, matplotlib" 2>/dev/null; then
  skip "$PY lacks nbclient/nbformat/ipykernel/pandas (bash scripts/install_deps.sh --test installs them)"
fi
cd "$TMP"
"$PY" "$SRC/tests/tools/check_notebook.py" "$MUTRAIN" "$SRC" "$TMP" || fail "examples/analysis.ipynb"
finish
