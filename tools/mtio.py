"""Reading mutrain's HDF5 outputs with h5py: the helpers of mutrain_analysis.h5 (analysis/,
docs/analysis.md) under the names this module has always had, for scripts that add tools/ to
sys.path. New code: `import mutrain_analysis` (DataFrames of runs, sweeps, checkpoints).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analysis"))
from mutrain_analysis.h5 import (MtioError, attr_str, depth_key, open_h5, read_1d,  # noqa: E402,F401
                                 series, stat_groups)

__all__ = ["MtioError", "attr_str", "depth_key", "open_h5", "read_1d", "series", "stat_groups"]
