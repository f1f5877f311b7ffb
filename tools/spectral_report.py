#!/usr/bin/python3
"""Spectral conditions across widths (docs/spectral.md): one column of panels per variant.

The command of mutrain_analysis.cli.spectral_report (analysis/, docs/analysis.md), from this
checkout's copy of the package; `pip install ./analysis` makes the same command as
`mutrain-spectral-report`.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analysis"))
from mutrain_analysis.cli.spectral_report import entry  # noqa: E402

if __name__ == "__main__":
    sys.exit(entry())
