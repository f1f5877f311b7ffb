#!/usr/bin/python3
"""PNG plots of one mutrain run: python3 tools/plot.py RUN_DIR [--out DIR]

The command of mutrain_analysis.cli.plot (analysis/, docs/analysis.md), from this checkout's copy
of the package; `pip install ./analysis` makes the same command as `mutrain-plot`.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analysis"))
from mutrain_analysis.cli.plot import entry  # noqa: E402

if __name__ == "__main__":
    sys.exit(entry())
