#!/usr/bin/env python3
"""µTransfer report for a sweep made by `mutrain sweep` (and --compare SP_DIR MUP_DIR).

The command of mutrain_analysis.cli.transfer (analysis/, docs/analysis.md), from this checkout's
copy of the package; `pip install ./analysis` makes the same command as `mutrain-transfer`.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analysis"))
from mutrain_analysis.cli.transfer import entry  # noqa: E402

if __name__ == "__main__":
    sys.exit(entry())
