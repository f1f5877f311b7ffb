#!/usr/bin/env bash
# The analysis package (analysis/, docs/analysis.md) as a user installs it: a fresh virtual
# environment that uses Debian's numpy, h5py, pandas and matplotlib (--system-site-packages), pip
# installing the package from this checkout offline (--no-build-isolation: the venv's setuptools
# and Debian's wheel; --no-deps: nothing downloaded; --no-index: no package index asked), then, from
# outside the checkout, `import mutrain_analysis` loading RUN_DIR's metrics into a DataFrame (its
# rows checked against h5py) and the mutrain-plot command the install made.
# Run by the fresh-machine check on the quickstart run and by ctest (analysis_package) on a tiny run.
# Usage: bash scripts/check_analysis_package.sh RUN_DIR
# Exit: 0 passed, 1 failed, 77 cannot run here (no python3 venv module: install_deps.sh installs it).
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
RUN="$(realpath "${1:?usage: check_analysis_package.sh RUN_DIR}")"
[[ -f $RUN/metrics.h5 ]] || { echo "check_analysis_package: no $RUN/metrics.h5" >&2; exit 1; }
PY=/usr/bin/python3  # Debian's, whose dist-packages hold numpy, h5py, pandas, matplotlib
[[ -x $PY ]] || PY="$(command -v python3)"
if ! "$PY" -c "import ensurepip, venv" 2>/dev/null; then
  echo "SKIP: $PY has no venv/ensurepip module (bash scripts/install_deps.sh installs python3-venv)"
  exit 77
fi
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
# A copy: building leaves build/ and *.egg-info beside the sources.
cp -r "$SRC/analysis" "$W/analysis"
rm -rf "$W/analysis/build" "$W/analysis/"*.egg-info
"$PY" -m venv --system-site-packages "$W/venv"
"$W/venv/bin/pip" install --quiet --no-build-isolation --no-deps --no-index "$W/analysis"
cd "$W"  # not the checkout: the package must come from the venv
"$W/venv/bin/python" - "$RUN" <<'PY'
import os, sys
import h5py
import mutrain_analysis as ma
run = sys.argv[1]
assert "/venv/" in ma.__file__, f"mutrain_analysis imported from {ma.__file__}, not the venv"
df = ma.open_run(run).metrics()
with h5py.File(os.path.join(run, "metrics.h5"), "r") as f:
    rows = sum(len(f[g][s]) for g in ("train", "val") if g in f for s in f[g] if s != "step")
    last = float(f["train/loss"][-1])
assert len(df) == rows > 0, (len(df), rows)
assert list(df.columns) == ["run", "group", "step", "statistic", "value"], list(df.columns)
loss = df[(df.group == "train") & (df.statistic == "loss")]
assert loss["value"].iloc[-1] == last
print(f"mutrain_analysis {ma.__version__} from {os.path.dirname(ma.__file__)}: {run}: "
      f"{len(df)} metric rows, final train loss {last:.4f}")
PY
"$W/venv/bin/mutrain-plot" "$RUN" --out "$W/plots"
[[ -s $W/plots/loss.png && -s $W/plots/index.html ]] || { echo "mutrain-plot wrote no loss.png"; exit 1; }
echo "check_analysis_package: pip install into a venv, import and mutrain-plot work"
