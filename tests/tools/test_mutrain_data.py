"""tools/mup_reference/mutrain_data.py, mutrain's text data in NumPy (the windows the PyTorch
reference of tools/mup_reference/parity.py trains on): Philox4x32-10 against Random123's published
test vectors, the window draws against the numbers tests/core/test_core.cpp checks mutrain's Rng
with, the split against the tiny real run, and the lr schedule against the run's /train/lr."""
import math
import os
import sys

import h5py
import numpy as np
import pytest
import yaml

from conftest import SOURCE_DIR

sys.path.insert(0, os.path.join(SOURCE_DIR, "tools", "mup_reference"))
import mutrain_data as md  # noqa: E402


@pytest.mark.parametrize("counter,key,want", [
    ([0, 0, 0, 0], (0, 0), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]),
    ([0xffffffff] * 4, (0xffffffff, 0xffffffff), [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]),
    ([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], (0xa4093822, 0x299f31d0),
     [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]),
])
def test_philox_known_answers(counter, key, want):
    got = md.philox4x32_10(np.array([counter], dtype=np.uint64), key)[0]
    assert [int(x) for x in got] == want


def test_window_draws_equal_mutrains():
    # the same numbers as tests/core/test_core.cpp Rng.TextWindowDrawsMatchTheNumPyImplementation
    assert md.Rng(0, "data/text/train").below(np.arange(8), 991).tolist() == \
        [129, 344, 871, 513, 909, 918, 864, 321]
    got = md.Rng(12345678901, "data/text/train").below(np.arange(8) + (1 << 33), 10512538)
    assert got.tolist() == [1570726, 10486460, 8569411, 3451319, 3135979, 8943648, 8134439,
                            2350045]


def test_split_and_schedule_equal_the_real_runs(run_dir):
    cfg = yaml.safe_load(open(os.path.join(run_dir, "config.yaml")))
    summary = yaml.safe_load(open(os.path.join(run_dir, "summary.yaml")))
    seq = cfg["model"]["context"]
    w = md.TextWindows(cfg["data"]["path"], cfg["data"]["val_fraction"])
    tokens, labels = w.val_windows(seq)
    assert tokens.size == summary["val_count"]
    counts = np.bincount(w.val, minlength=256) / len(w.val)
    entropy = -sum(p * math.log2(p) for p in counts if p > 0)
    assert entropy == pytest.approx(summary["unigram_entropy_bits"], abs=1e-4)
    assert np.array_equal(tokens[:, 1:], labels[:, :-1])
    with h5py.File(os.path.join(run_dir, "metrics.h5"), "r") as f:
        steps, lrs = f["train/step"][()], f["train/lr"][()]
    s = cfg["schedule"]
    base = cfg["optimizer"]["muon"]["lr"]  # the hidden-matrix optimizer's scheduled lr is logged
    for step, lr in zip(steps, lrs):
        want = base * md.lr_factor(int(step) - 1, cfg["train"]["steps"],
                                   s.get("warmup_steps", 0), s["name"],
                                   s.get("min_lr_ratio", 0.1))
        assert lr == pytest.approx(want, rel=1e-5), step
