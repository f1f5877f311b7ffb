#!/usr/bin/env python3
"""Executes examples/analysis.ipynb headless (nbclient, the python3 kernel) against a mutrain binary,
its runs in WORK_DIR, and checks what it showed: every code cell ran without an error, the figures
(loss curves, transfer, spectral ratios, act_rms) were drawn, the sweep it trained has its 9 runs,
and the best lr per width it printed is the one h5py finds in those runs' final validation loss.
Usage: check_notebook.py MUTRAIN SOURCE_DIR WORK_DIR. Exit 0 passed, 1 failed."""
import os
import re
import sys


def main():
    mutrain, src, work = (os.path.abspath(a) for a in sys.argv[1:4])
    # The kernel inherits this environment; nothing is written outside WORK_DIR.
    os.environ.update(MUTRAIN=mutrain, MT_SOURCE_DIR=src, MT_NOTEBOOK_DIR=os.path.join(work, "runs"),
                      JUPYTER_RUNTIME_DIR=os.path.join(work, "jupyter"),
                      IPYTHONDIR=os.path.join(work, "ipython"),
                      MPLCONFIGDIR=os.path.join(work, "matplotlib"), OMP_NUM_THREADS="1",
                      PYDEVD_DISABLE_FILE_VALIDATION="1")
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend: figures become outputs
    import h5py
    import nbclient
    import nbformat
    path = os.path.join(src, "examples", "analysis.ipynb")
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": os.path.dirname(path)}}).execute()
    problems = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    outputs = [o for c in code for o in c.get("outputs", [])]
    if any(c.get("execution_count") is None for c in code):
        problems.append("a code cell did not run")
    if any(o.get("output_type") == "error" for o in outputs):
        problems.append("a cell raised an error")
    images = sum(1 for o in outputs if "image/png" in o.get("data", {}))
    if images < 4:
        problems.append(f"{images} figures shown, expected 4 (loss, transfer, spectral, act_rms)")
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    printed = {int(w): float(lr) for w, lr in re.findall(r"best lr at width (\d+): ([0-9.e+-]+)", text)}
    sweep = os.path.join(work, "runs", "sweeps", "nb")
    final = {}
    for point in sorted(os.listdir(sweep)):
        m = re.fullmatch(r"width(\d+)_lr([0-9.e+-]+)", point)  # --widths before --grid
        if m and os.path.exists(os.path.join(sweep, point, "metrics.h5")):
            with h5py.File(os.path.join(sweep, point, "metrics.h5"), "r") as f:
                final.setdefault(int(m.group(1)), {})[float(m.group(2))] = float(f["val/loss"][-1])
    if sum(len(v) for v in final.values()) != 9:
        problems.append(f"the notebook's sweep has {final}, expected 3 lrs x 3 widths")
    want = {w: min(lrs, key=lrs.get) for w, lrs in final.items()}
    if printed != want:
        problems.append(f"best lr per width printed {printed}, h5py says {want}")
    for p in problems:
        print(f"FAIL: {p}")
    print(f"check_notebook: {len(code)} code cells, {images} figures, best lr per width {printed}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
