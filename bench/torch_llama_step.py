#!/usr/bin/env python3
"""bench_llama_step's model and optimizers in PyTorch on CPU: the llama of tools/torch_llama.py
(d=256, L=4, H=4, T=128, B=16, vocabulary 50304, QK-norm), Muon (torch_gpt_step.py's, written
out: Debian's torch 1.13 predates torch.optim.Muon) on the blocks' matrices, AdamW on the rest.
Prints the median seconds per step for each thread count as JSON. --bf16: the forward and loss
under torch.autocast("cpu", dtype=torch.bfloat16) and Newton-Schulz in bf16."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import torch_llama  # noqa: E402
import torch_gpt_step  # noqa: E402

D, L, H, V = 256, 4, 4, 50304  # T = 128, B = 16 as torch_gpt_step.py


def median_step_seconds(threads, bf16):
    return torch_gpt_step.median_step_seconds(
        threads, bf16, steps=5, reps=3, vocab=V,
        make_model=lambda: torch_llama.Llama(V, D, L, H, qk_norm=True))


if __name__ == "__main__":
    args = sys.argv[1:]
    bf16 = "--bf16" in args
    threads = [int(t) for t in args if t != "--bf16"] or [1, 2]
    print(json.dumps({str(t): median_step_seconds(t, bf16) for t in threads}))
