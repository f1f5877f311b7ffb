#!/usr/bin/env python3
"""Bitwise comparison of finished mutrain runs (used by the resume, kill-fuzz and SLURM tests):
every /params and /optim dataset of checkpoints/step_<STEPS>.h5 and, with --metrics, the named
metrics.h5 series must be identical to the reference run's; --stats adds every series under
/stats and /act (stability statistics; NaN equals NaN there). Exit 0 when all are equal.
Usage: compare_runs.py RUNS_DIR STEPS REFERENCE RUN [RUN ...] [--metrics train/loss,val/loss] [--stats]

compare_runs.py --every-array REFERENCE_RUN RUN [RUN ...] (run directories) compares every dataset
of every checkpoints/*.h5 and of metrics.h5, except the wall-clock series /train/tokens_per_s and
/train/elapsed_s and the /provenance table (who ran it, when, with which command: metadata that
differs between any two runs); the same set of checkpoint files must exist
(scripts/compare_refactor.sh)."""
import argparse
import glob
import os
import sys

import h5py
import numpy as np


def load(run_dir, steps, metrics, stats=False):
    out = {}
    with h5py.File(f"{run_dir}/checkpoints/step_{steps:08d}.h5", "r") as f:
        for group in ("params", "optim"):
            f[group].visititems(
                lambda n, o: out.__setitem__(f"{group}/{n}", o[()]) if isinstance(o, h5py.Dataset) else None)
    if metrics or stats:
        with h5py.File(f"{run_dir}/metrics.h5", "r") as f:
            for k in metrics:
                out["metrics/" + k] = f[k][()]
            for group in ("stats", "act") if stats else ():
                if group in f:
                    f[group].visititems(lambda n, o: out.__setitem__(f"metrics/{group}/{n}", o[()])
                                        if isinstance(o, h5py.Dataset) else None)
    return out


WALL_CLOCK = {"metrics.h5:train/tokens_per_s", "metrics.h5:train/elapsed_s"}


def load_every_array(run_dir):
    out = {}
    files = sorted(glob.glob(f"{run_dir}/checkpoints/*.h5")) + [f"{run_dir}/metrics.h5"]
    for path in files:
        rel = os.path.relpath(path, run_dir)
        with h5py.File(path, "r") as f:
            f.visititems(lambda n, o: out.__setitem__(f"{rel}:{n}", o[()])
                         if isinstance(o, h5py.Dataset) and f"{rel}:{n}" not in WALL_CLOCK
                         and not n.startswith("provenance/") else None)
    return out


def compare(ref, runs, load_run, reference, shown):
    """Every array of `ref` against load_run(run) for each run, bitwise; prints and returns 0 or 1."""
    ok = bool(ref)
    for run in runs:
        other = load_run(run)
        bad = [k for k in ref if k not in other or ref[k].shape != other[k].shape
               or not np.array_equal(ref[k], other[k], equal_nan=ref[k].dtype.kind == "f")]
        bad += [k for k in other if k not in ref]
        for k in bad[:shown]:
            print(f"{run}: {k} differs")
        ok = ok and not bad
    print(f"compared {len(ref)} arrays of {', '.join(runs)} with {reference}: bitwise",
          "equal" if ok else "DIFFERENT")
    return 0 if ok else 1


def every_array(reference, runs):
    return compare(load_every_array(reference), runs, load_every_array, reference, 10)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--every-array":
        if len(sys.argv) < 4:
            sys.exit("usage: compare_runs.py --every-array REFERENCE_RUN RUN [RUN ...]")
        return every_array(sys.argv[2], sys.argv[3:])
    ap = argparse.ArgumentParser()
    ap.add_argument("runs_dir")
    ap.add_argument("steps", type=int)
    ap.add_argument("reference")
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--metrics", default="", help="comma-separated metrics.h5 series to compare too")
    ap.add_argument("--stats", action="store_true", help="also every /stats and /act series")
    a = ap.parse_args()
    metrics = [m for m in a.metrics.split(",") if m]
    ref = load(f"{a.runs_dir}/{a.reference}", a.steps, metrics, a.stats)
    return compare(ref, a.runs, lambda run: load(f"{a.runs_dir}/{run}", a.steps, metrics, a.stats),
                   a.reference, 5)


if __name__ == "__main__":
    sys.exit(main())
