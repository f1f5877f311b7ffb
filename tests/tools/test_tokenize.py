"""tools/tokenize/gpt2_shards.cjs: GPT-2's ids on the committed test set (tests/data/gpt2/cases.json,
written by an independent implementation of OpenAI's encoder.py: make_cases.py), documents split by
<|endoftext|>, the validation split as the byte-level text dataset's, llm.c's shard format read back
with numpy as docs/data.md shows it, and bad usage refused with exit 2."""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from conftest import SOURCE_DIR

TOOL = os.path.join(SOURCE_DIR, "tools", "tokenize", "gpt2_shards.cjs")
TIKTOKEN = os.environ.get("MT_TIKTOKEN", os.path.join(SOURCE_DIR, "data", "tiktoken"))
CASES = os.path.join(SOURCE_DIR, "tests", "data", "gpt2", "cases.json")
EOT = 50256


@pytest.fixture(scope="module")
def node():
    exe = shutil.which("node")
    if not exe:
        pytest.skip("node not installed (it comes with npm: scripts/install_deps.sh)")
    if not os.path.exists(os.path.join(TIKTOKEN, "tiktoken.cjs")):
        pytest.skip(f"tiktoken not in {TIKTOKEN} (bash scripts/install_data.sh fetches it)")
    return exe


def read_shard(path):
    """The ten lines of docs/data.md "Token shards"."""
    header = np.fromfile(path, dtype="<i4", count=256)
    assert header[0] == 20240520 and header[1] in (1, 2)
    dtype = "<u2" if header[1] == 1 else "<u4"
    tokens = np.fromfile(path, dtype=dtype, offset=256 * 4)
    assert len(tokens) == header[2]
    return header, tokens


def tokenize(node, out, *args):
    return subprocess.run([node, TOOL, "--out", str(out), "--tiktoken", TIKTOKEN, *args],
                          capture_output=True, text=True, timeout=120)


def test_ids_equal_gpt2s(node, tmp_path):
    cases = json.load(open(CASES, encoding="utf-8"))["cases"]
    src = tmp_path / "docs"
    src.mkdir()
    for i, c in enumerate(cases):  # one document per case, in name order
        (src / f"{i:03d}.txt").write_bytes(c["text"].encode("utf-8"))
    r = tokenize(node, tmp_path / "out", "--name", "t", "--val-fraction", "0", str(src))
    assert r.returncode == 0, r.stderr
    header, tokens = read_shard(tmp_path / "out" / "t_train_000000.bin")
    assert header[3] == sum(len(c["text"].encode("utf-8")) for c in cases)  # bytes of text
    docs = np.split(tokens, np.flatnonzero(tokens == EOT))[1:]
    assert len(docs) == len(cases)
    for c, d in zip(cases, docs):
        assert d[0] == EOT
        assert d[1:].tolist() == c["ids"], c["text"]


def test_split_and_shards(node, tmp_path):
    src = tmp_path / "docs"
    src.mkdir()
    for year in range(1900, 1910):
        (src / f"{year}_x.txt").write_text(f"The address of {year}. " * 40)
    r = tokenize(node, tmp_path / "out", "--name", "s", "--val-fraction", "0.25",
                 "--shard-tokens", "500", str(src))
    assert r.returncode == 0, r.stderr
    files = sorted(os.listdir(tmp_path / "out"))
    val = [f for f in files if f.startswith("s_val_")]
    train = [f for f in files if f.startswith("s_train_")]
    # 10 equal files, val_fraction 0.25: the latest 3 (at least 25 % of the bytes) validate
    n_docs = lambda fs: sum(int((read_shard(tmp_path / "out" / f)[1] == EOT).sum()) for f in fs)
    assert n_docs(val) == 3 and n_docs(train) == 7
    sizes = [read_shard(tmp_path / "out" / f)[0][2] for f in train]
    assert all(s == 500 for s in sizes[:-1]) and 0 < sizes[-1] <= 500


@pytest.mark.parametrize("args,msg", [
    ([], "--out"),
    (["--out", "X", "--val-fraction", "2", "f.txt"], "--val-fraction"),
    (["--out", "X", "--bogus"], "unknown option"),
    (["--out", "X", "missing.txt"], "cannot read"),
])
def test_bad_usage(node, tmp_path, args, msg):
    args = [a.replace("X", str(tmp_path / "o")) for a in args]
    r = subprocess.run([node, TOOL, "--tiktoken", TIKTOKEN, *args], capture_output=True, text=True,
                       cwd=tmp_path, timeout=60)
    assert r.returncode == 2
    assert r.stderr.startswith("[tokenize]") and msg in r.stderr
