#!/usr/bin/env python3
"""Benchmark (a), PyTorch side: one Muon step over GPT-2 small's 72 hidden matrices
(12 x four 768x768, twelve 3072x768, twelve 768x3072) on the GPU, two ways, same process:

  torch_muon_step_ms      torch.optim.Muon(...).step() (PyTorch's own Muon, per-matrix NS)
  torch_compile_ns_ms     a torch.compile'd bf16 Newton-Schulz batched over same-shape stacks
                          (Keller Jordan's iteration: bf16 storage, X / (||X|| + eps), 5 quintic
                          steps, tall matrices transposed)

Medians over --iters timed calls after --warmup, each bracketed by torch.cuda.synchronize().
Prints "RESULT key value" lines; exits 77 (skip) without CUDA and 3 when torch.optim.Muon is
missing (its line then says so; the compiled NS is still measured).
"""
import argparse
import statistics
import sys
import time

SHAPES = [(768, 768, 48), (3072, 768, 12), (768, 3072, 12)]
QUINTIC = (3.4445, -4.7750, 2.0315)


def ns_flops(rows, cols, steps=5):
    m, n = min(rows, cols), max(rows, cols)
    return steps * (4.0 * m * m * n + 2.0 * m * m * m)


def timed(fn, warmup, iters, torch):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        out.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30)
    args = ap.parse_args()
    try:
        import torch
    except ImportError as e:
        print(f"SKIP torch not importable: {e}")
        return 77
    if not torch.cuda.is_available():
        print("SKIP torch sees no CUDA device")
        return 77
    dev = torch.device("cuda")
    torch.manual_seed(0)
    print(f"RESULT torch_version {torch.__version__}")
    print(f"RESULT ns_tflop {sum(ns_flops(r, c) * k for r, c, k in SHAPES) / 1e12:.4f}")
    rc = 0

    # torch.optim.Muon: fp32 parameters with gradients, the defaults of PyTorch 2.9+ except
    # lr / momentum matching ours (nesterov, 5 steps, quintic coefficients are its defaults).
    params = []
    for r, c, k in SHAPES:
        for _ in range(k):
            p = torch.nn.Parameter(0.02 * torch.randn(r, c, device=dev))
            p.grad = torch.randn(r, c, device=dev)
            params.append(p)
    if hasattr(torch.optim, "Muon"):
        opt = torch.optim.Muon(params, lr=0.02, momentum=0.95, weight_decay=0.0)
        ms = timed(opt.step, args.warmup, args.iters, torch)
        print(f"RESULT torch_muon_step_ms {ms:.4f}")
    else:
        print("RESULT torch_muon_step_ms nan (torch.optim.Muon missing in this PyTorch)")
        rc = 3

    a, b, c = QUINTIC

    def ns_batched(G):  # G (batch, rows, cols)
        X = G.bfloat16()
        tall = X.size(-2) > X.size(-1)
        if tall:
            X = X.mT
        X = X / (X.norm(dim=(-2, -1), keepdim=True) + 1e-7)
        for _ in range(5):
            A = X @ X.mT
            B = b * A + c * A @ A
            X = a * X + B @ X
        if tall:
            X = X.mT
        return X

    compiled = torch.compile(ns_batched)
    stacks = [torch.randn(k, r, cc, device=dev) for r, cc, k in SHAPES]

    def run_compiled():
        for s in stacks:
            compiled(s)

    t0 = time.perf_counter()
    run_compiled()  # compile (not timed)
    torch.cuda.synchronize()
    print(f"RESULT torch_compile_seconds {time.perf_counter() - t0:.1f}")
    ms = timed(run_compiled, args.warmup, args.iters, torch)
    print(f"RESULT torch_compile_ns_ms {ms:.4f}")
    print(f"RESULT device {torch.cuda.get_device_name(0)}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
