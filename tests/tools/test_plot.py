"""tools/plot.py on synthetic metrics files (built per docs/hdf5-layout.md) and on the real run."""
import os
import shutil

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import pytest  # noqa: E402
from conftest import (PLOT, PYTHON, run, write_synthetic_coord_check,  # noqa: E402
                      write_synthetic_metrics)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALL = ["loss.png", "act_rms.png", "upd_rms.png", "w_spec_ratio.png", "dw_spec_ratio.png"]
STATS_PLOTS = ALL[1:]


def check_png(path):
    with open(path, "rb") as fh:
        assert fh.read(8) == PNG_SIGNATURE, f"{path} is not a PNG"
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100, img.shape


def check_plots(out_dir, expect, absent=()):
    for name in expect:
        check_png(os.path.join(out_dir, name))
    index = open(os.path.join(out_dir, "index.html"), encoding="utf-8").read()
    for name in expect:
        assert f'src="{name}"' in index, f"index.html does not show {name}"
    for name in absent:
        assert not os.path.exists(os.path.join(out_dir, name)), f"{name} written without data"
        assert f"{name} skipped" in index, f"index.html has no note for {name}"
    return index


@pytest.mark.parametrize("depth", [2, 14])  # legend / colour bar by depth
def test_synthetic_run_dir(tmp_path, depth):
    write_synthetic_metrics(str(tmp_path / "metrics.h5"), depth=depth)
    r = run([PYTHON, PLOT, str(tmp_path)])
    assert r.returncode == 0, r.stderr
    check_plots(str(tmp_path / "plots"), ALL)


def test_out_folder_and_h5_path(tmp_path):
    h5 = write_synthetic_metrics(str(tmp_path / "metrics.h5"))
    r = run([PYTHON, PLOT, h5, "--out", str(tmp_path / "elsewhere")])
    assert r.returncode == 0, r.stderr
    check_plots(str(tmp_path / "elsewhere"), ALL)
    assert not (tmp_path / "plots").exists()


def test_stats_off_skips_with_note(tmp_path):
    write_synthetic_metrics(str(tmp_path / "metrics.h5"), stats=False)
    r = run([PYTHON, PLOT, str(tmp_path)])
    assert r.returncode == 0, r.stderr
    index = check_plots(str(tmp_path / "plots"), ["loss.png"], absent=STATS_PLOTS)
    assert "stats.every" in index


def test_missing_run(tmp_path):
    r = run([PYTHON, PLOT, str(tmp_path / "nope")])
    assert r.returncode == 2
    assert r.stderr.startswith("plot.py: ") and "nope" in r.stderr
    r = run([PYTHON, PLOT, str(tmp_path)])  # folder without metrics.h5
    assert r.returncode == 2 and r.stderr.startswith("plot.py: ") and "metrics.h5" in r.stderr


def test_corrupt_and_truncated(tmp_path):
    good = write_synthetic_metrics(str(tmp_path / "good.h5"))
    data = open(good, "rb").read()
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "metrics.h5").write_bytes(data[: len(data) // 3])
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "metrics.h5").write_bytes(b"not an hdf5 file\n" * 10)
    for d in ["a", "b"]:
        r = run([PYTHON, PLOT, str(tmp_path / d)])
        assert r.returncode == 2, (d, r.stdout, r.stderr)
        assert r.stderr.startswith("plot.py: "), r.stderr
        assert "Traceback" not in r.stderr


def test_real_run(run_dir, tmp_path):
    d = tmp_path / "run"
    shutil.copytree(run_dir, d)
    r = run([PYTHON, PLOT, str(d)])
    assert r.returncode == 0, r.stderr
    check_plots(str(d / "plots"), ALL)


def test_synthetic_coord_check(tmp_path):
    write_synthetic_coord_check(str(tmp_path / "coord_check.h5"))
    r = run([PYTHON, PLOT, str(tmp_path)])
    assert r.returncode == 0, r.stderr
    check_plots(str(tmp_path / "plots"), ["coord_check.png"])
    assert not (tmp_path / "plots" / "loss.png").exists()


def test_real_coord_check(coord_dir, tmp_path):
    d = tmp_path / "cc"
    shutil.copytree(coord_dir, d)
    r = run([PYTHON, PLOT, str(d / "coord_check.h5"), "--out", str(tmp_path / "out")])
    assert r.returncode == 0, r.stderr
    check_plots(str(tmp_path / "out"), ["coord_check.png"])
