#!/usr/bin/env python3
"""bench_llama_step's model and optimizers in PyTorch on CPU: the llama of tools/torch_llama.py
(d=256, L=4, H=4, T=128, B=16, vocabulary 50304, QK-norm), Muon (torch_gpt_step.py's, written
out: Debian's torch 1.13 predates torch.optim.Muon) on the blocks' matrices, AdamW on the rest.
Prints the median seconds per step for each thread count as JSON. --bf16: the forward and loss
under torch.autocast("cpu", dtype=torch.bfloat16) and Newton-Schulz in bf16."""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import torch_llama  # noqa: E402
from torch_gpt_step import Muon  # noqa: E402

D, L, H, T, B, V = 256, 4, 4, 128, 16, 50304


def median_step_seconds(threads, bf16, steps=5, reps=3):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch_llama.Llama(V, D, L, H, qk_norm=True)
    hidden = [p for n, p in model.named_parameters() if p.ndim == 2 and n.startswith("blocks.")]
    rest = [p for n, p in model.named_parameters() if not (p.ndim == 2 and n.startswith("blocks."))]
    muon = Muon(hidden, bf16=bf16)
    adamw = torch.optim.AdamW(rest, lr=3e-3, betas=(0.9, 0.95), weight_decay=0.0)
    x = torch.randint(0, V, (B, T))
    y = torch.randint(0, V, (B, T))

    def one_step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float().view(-1, V), y.view(-1))
        model.zero_grad(set_to_none=True)
        loss.backward()
        muon.step()
        adamw.step()

    one_step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(steps):
            one_step()
        times.append((time.perf_counter() - t0) / steps)
    return statistics.median(times)


if __name__ == "__main__":
    args = sys.argv[1:]
    bf16 = "--bf16" in args
    threads = [int(t) for t in args if t != "--bf16"] or [1, 2]
    print(json.dumps({str(t): median_step_seconds(t, bf16) for t in threads}))
