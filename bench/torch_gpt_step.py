#!/usr/bin/env python3
"""The bench_gpt_step model and optimizers in PyTorch on CPU: same GPT (docs/science.md 5.1:
RMSNorm with gain, separate q/k/v/o, GELU tanh MLP, untied head), Muon (docs/science.md 1,
written out because Debian's torch 1.13 predates torch.optim.Muon) on hidden matrices, AdamW on the
rest. Prints the median seconds per step for each thread count as JSON.
With --bf16: the forward and loss under torch.autocast("cpu", dtype=torch.bfloat16) (fp32 master
weights, bf16 matmuls) and Newton-Schulz in bf16, as the reference Muon implementations run it."""
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from torch_llama import RMSNorm  # noqa: E402  (mutrain's RMSNorm)

D, L, H, T, B, V = 256, 4, 4, 128, 16, 256


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = RMSNorm(D), RMSNorm(D)
        self.q, self.k, self.v, self.o = (nn.Linear(D, D, bias=False) for _ in range(4))
        self.fc, self.proj = nn.Linear(D, 4 * D, bias=False), nn.Linear(4 * D, D, bias=False)
        self.register_buffer("mask", torch.ones(T, T).tril().bool())

    def attn(self, x):
        b, t, c = x.shape
        q, k, v = (m(x).view(b, t, H, c // H).transpose(1, 2) for m in (self.q, self.k, self.v))
        s = (q @ k.transpose(-2, -1)) / math.sqrt(c // H)
        s = s.masked_fill(~self.mask[:t, :t], float("-inf"))
        y = F.softmax(s, dim=-1) @ v
        return self.o(y.transpose(1, 2).reshape(b, t, c))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, D), nn.Embedding(T, D)
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.ln_f = RMSNorm(D)
        self.head = nn.Linear(D, V, bias=False)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln_f(x))


class Muon(torch.optim.Optimizer):
    def __init__(self, params, lr=0.02, momentum=0.95, nesterov=True, ns_steps=5, bf16=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov, ns_steps=ns_steps))
        self.bf16 = bf16

    def ns(self, g, steps):
        a, b, c = 3.4445, -4.7750, 2.0315
        x = g.T if g.shape[0] > g.shape[1] else g
        if self.bf16:
            x = x.bfloat16()
        x = x / x.norm().clamp_min(1e-7)
        for _ in range(steps):
            A = x @ x.T
            x = a * x + (b * A + c * A @ A) @ x
        x = x.to(g.dtype)
        return x.T if g.shape[0] > g.shape[1] else x

    @torch.no_grad()
    def step(self):
        for grp in self.param_groups:
            mu = grp["momentum"]
            for p in grp["params"]:
                buf = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
                buf.lerp_(p.grad, 1 - mu)
                u = p.grad.lerp(buf, mu) if grp["nesterov"] else buf
                o = self.ns(u, grp["ns_steps"])
                p.add_(o, alpha=-grp["lr"] * math.sqrt(max(1.0, p.shape[0] / p.shape[1])))


def median_step_seconds(threads, bf16, steps=8, reps=5, make_model=None, vocab=V):
    """Median seconds of one Muon (blocks' matrices) + AdamW (the rest) step of make_model()
    (default: this file's GPT) on random tokens of `vocab`, B x T (torch_llama_step.py reuses it)."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = (make_model or GPT)()
    hidden = [p for n, p in model.named_parameters() if p.ndim == 2 and n.startswith("blocks.")]
    rest = [p for n, p in model.named_parameters() if not (p.ndim == 2 and n.startswith("blocks."))]
    muon = Muon(hidden, bf16=bf16)
    adamw = torch.optim.AdamW(rest, lr=3e-3, betas=(0.9, 0.95), weight_decay=0.0)
    x = torch.randint(0, vocab, (B, T))
    y = torch.randint(0, vocab, (B, T))

    def one_step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float().view(-1, vocab), y.view(-1))
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
