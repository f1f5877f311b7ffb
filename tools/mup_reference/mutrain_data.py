"""mutrain's byte-level text data in NumPy, draw for draw: the split of framework/data/data_text.cpp
and the training windows of TextDataset::train_batch, which are a pure function of (seed, step,
row) through core/rng.cpp's Philox4x32-10 (Salmon et al., SC'11). A PyTorch run that takes its
batches from here trains on exactly the windows mutrain trains on (tests/tools/test_mutrain_data.py
checks the generator against the published Philox test vectors and against mutrain itself)."""
import math
import os

import numpy as np

M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK32 = np.uint64(0xFFFFFFFF)
FILE_SEPARATOR = b"\n\n"  # TextDataset::kFileSeparator


def stream_of(name):
    """FNV-1a 64 of the stream name (core/rng.cpp stream_of)."""
    h = 1469598103934665603
    for c in name.encode():
        h ^= c
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def philox4x32_10(counter, key):
    """Philox4x32-10 of counters (N, 4) uint32-valued and key (k0, k1): (N, 4) uint64 arrays."""
    c = [np.asarray(counter[:, i], dtype=np.uint64) for i in range(4)]
    k0, k1 = key
    for _ in range(10):
        p0, p1 = M0 * c[0], M1 * c[2]  # 32 x 32 -> 64 bits, exact in uint64
        hi0, lo0 = p0 >> np.uint64(32), p0 & MASK32
        hi1, lo1 = p1 >> np.uint64(32), p1 & MASK32
        c = [hi1 ^ c[1] ^ np.uint64(k0), lo1, hi0 ^ c[3] ^ np.uint64(k1), lo0]
        k0, k1 = (k0 + W0) & 0xFFFFFFFF, (k1 + W1) & 0xFFFFFFFF
    return np.stack(c, axis=1)


class Rng:
    """core/rng.h's Rng: block(index) = Philox(counter (index lo, index hi, stream lo, stream hi),
    key (seed lo, seed hi))."""

    def __init__(self, seed, stream):
        self.seed = seed
        self.stream = stream_of(stream) if isinstance(stream, str) else stream

    def blocks(self, indices):
        idx = np.asarray(indices, dtype=np.uint64)
        ctr = np.stack([idx & MASK32, idx >> np.uint64(32),
                        np.full_like(idx, self.stream & 0xFFFFFFFF),
                        np.full_like(idx, self.stream >> 32)], axis=1)
        return philox4x32_10(ctr, (self.seed & 0xFFFFFFFF, self.seed >> 32))

    def below(self, indices, n):
        """Rng::below: ((b0 << 32) | b1) mod n."""
        b = self.blocks(indices)
        bits = (b[:, 0] << np.uint64(32)) | b[:, 1]
        return (bits % np.uint64(n)).astype(np.int64)


def load_split(path, val_fraction):
    """(train bytes, val bytes) as TextDataset builds them: the *.txt files of a directory sorted
    by name and joined with a blank line, the latest whole files held out for validation until
    they hold val_fraction of the bytes (one file: its last val_fraction of bytes)."""
    if os.path.isfile(path):
        data = open(path, "rb").read()
        first_val = len(data) - min(math.ceil(val_fraction * len(data)), len(data))
        return data[:first_val], data[first_val:]
    names = sorted(n for n in os.listdir(path)
                   if n.endswith(".txt") and os.path.isfile(os.path.join(path, n)))
    texts = [open(os.path.join(path, n), "rb").read() for n in names]
    total = sum(len(t) for t in texts)
    first_val, val_bytes = len(names), 0
    while first_val > 1 and (first_val == len(names) or val_bytes < val_fraction * total):
        first_val -= 1
        val_bytes += len(texts[first_val])
    return FILE_SEPARATOR.join(texts[:first_val]), FILE_SEPARATOR.join(texts[first_val:])


class TextWindows:
    """Training windows and validation windows of one text split pair (TextDataset)."""

    def __init__(self, path, val_fraction):
        train, val = load_split(path, val_fraction)
        self.train = np.frombuffer(train, dtype=np.uint8)
        self.val = np.frombuffer(val, dtype=np.uint8)

    def train_starts(self, seed, step, batch, seq):
        """Start offsets of the `batch` windows of `step` (TextDataset::train_batch)."""
        rows = np.arange(batch, dtype=np.uint64) + np.uint64(step * batch)
        return Rng(seed, "data/text/train").below(rows, len(self.train) - seq)

    def train_batch(self, seed, step, batch, seq):
        """(tokens, labels) int64 arrays of shape (batch, seq)."""
        starts = self.train_starts(seed, step, batch, seq)
        idx = starts[:, None] + np.arange(seq + 1)[None, :]
        w = self.train[idx].astype(np.int64)
        return w[:, :-1], w[:, 1:]

    def val_windows(self, seq):
        """Every consecutive non-overlapping validation window: (tokens, labels) (n, seq)."""
        n = (len(self.val) - 1) // seq
        idx = (np.arange(n) * seq)[:, None] + np.arange(seq + 1)[None, :]
        w = self.val[idx].astype(np.int64)
        return w[:, :-1], w[:, 1:]


def lr_factor(step, total, warmup, kind="cosine", min_ratio=0.1, decay_fraction=0.2):
    """framework/train/schedule.cpp Schedule::factor."""
    if step < warmup:
        return (step + 1) / warmup
    if kind == "constant":
        return 1.0
    if kind == "cosine":
        span = max(1, total - 1 - warmup)
        t = min(1.0, (step - warmup) / span)
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))
    decay_steps = max(1, int(math.floor(decay_fraction * total + 0.5)))  # llround
    start = max(warmup, total - decay_steps)
    if step < start:
        return 1.0
    t = min(1.0, (step - start) / max(1, total - 1 - start))
    return 1.0 + (min_ratio - 1.0) * t


def read_idx(path):
    """An IDX file (MNIST's format; gzipped or plain) as a uint8 array of its shape."""
    import gzip
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw[4 + 4 * ndim:], dtype=np.uint8).reshape(shape)


class Mnist:
    """MnistDataset: pixels (p / 255 - 0.1307) / 0.3081 (float32), training examples drawn with
    replacement as a pure function of (seed, step, row), the test set in order for validation."""

    MEAN, STD = 0.1307, 0.3081

    def __init__(self, path):
        def find(stem):
            for ext in ("", ".gz"):
                if os.path.exists(os.path.join(path, stem + ext)):
                    return os.path.join(path, stem + ext)
            raise FileNotFoundError(os.path.join(path, stem))
        table = ((np.arange(256, dtype=np.float32) / np.float32(255.0) - np.float32(self.MEAN))
                 / np.float32(self.STD)).astype(np.float32)
        self.train_x = table[read_idx(find("train-images-idx3-ubyte")).reshape(-1, 784)]
        self.train_y = read_idx(find("train-labels-idx1-ubyte")).astype(np.int64)
        self.test_x = table[read_idx(find("t10k-images-idx3-ubyte")).reshape(-1, 784)]
        self.test_y = read_idx(find("t10k-labels-idx1-ubyte")).astype(np.int64)

    def train_batch(self, seed, step, batch):
        rows = np.arange(batch, dtype=np.uint64) + np.uint64(step * batch)
        ex = Rng(seed, "data/mnist/train").below(rows, len(self.train_y))
        return self.train_x[ex], self.train_y[ex]
