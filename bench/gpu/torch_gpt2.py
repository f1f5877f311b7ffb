#!/usr/bin/env python3
"""Benchmark (b), PyTorch side: GPT-2 124M training tokens/s with mutrain's GPT (models/gpt.cpp:
token + learned position embeddings, pre-norm blocks with RMSNorm, separate q, k, v, o, a GELU
(tanh) MLP of 4x width, final RMSNorm, untied readout, no biases), B=16, T=1024, vocab 50304,
torch.optim.Muon on the 72 hidden matrices + AdamW on the rest, bf16 autocast (fp32 master
weights), random tokens.

  --mode eager     the model as written (attention: F.scaled_dot_product_attention, causal)
  --mode compile   torch.compile(model) (the optimizers stay eager)

Prints "RESULT torch_<mode>_tokens_per_s value" after --warmup steps then --steps timed steps.
Exit 77 without CUDA, 3 without torch.optim.Muon.
"""
import argparse
import sys
import time


def build(torch, vocab, width, depth, heads, context):
    nn = torch.nn
    F = torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.RMSNorm(width, eps=1e-5)
            self.q = nn.Linear(width, width, bias=False)
            self.k = nn.Linear(width, width, bias=False)
            self.v = nn.Linear(width, width, bias=False)
            self.o = nn.Linear(width, width, bias=False)
            self.ln2 = nn.RMSNorm(width, eps=1e-5)
            self.fc = nn.Linear(width, 4 * width, bias=False)
            self.proj = nn.Linear(4 * width, width, bias=False)

        def forward(self, x):
            B, T, C = x.shape
            h = self.ln1(x)
            q, k, v = (m(h).view(B, T, heads, C // heads).transpose(1, 2) for m in (self.q, self.k, self.v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.o(y.transpose(1, 2).reshape(B, T, C))
            return x + self.proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    class Gpt(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab, width)
            self.wpe = nn.Embedding(context, width)
            self.blocks = nn.ModuleList(Block() for _ in range(depth))
            self.ln_f = nn.RMSNorm(width, eps=1e-5)
            self.head = nn.Linear(width, vocab, bias=False)

        def forward(self, idx, labels):
            T = idx.size(1)
            x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
            for b in self.blocks:
                x = b(x)
            logits = self.head(self.ln_f(x)).float()
            return F.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1))

    return Gpt()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["eager", "compile"], default="eager")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--vocab", type=int, default=50304)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    try:
        import torch
    except ImportError as e:
        print(f"SKIP torch not importable: {e}")
        return 77
    if not torch.cuda.is_available():
        print("SKIP torch sees no CUDA device")
        return 77
    if not hasattr(torch.optim, "Muon"):
        print("ERROR torch.optim.Muon missing in this PyTorch")
        return 3
    torch.manual_seed(0)
    dev = torch.device("cuda")
    model = build(torch, args.vocab, 768, 12, 12, args.seq).to(dev)
    hidden = [p for n, p in model.named_parameters() if p.dim() == 2 and n.startswith("blocks.")]
    rest = [p for n, p in model.named_parameters() if not (p.dim() == 2 and n.startswith("blocks."))]
    assert len(hidden) == 72, len(hidden)
    muon = torch.optim.Muon(hidden, lr=0.02, momentum=0.95, weight_decay=0.0)
    adamw = torch.optim.AdamW(rest, lr=3e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0, fused=True)
    fwd = torch.compile(model) if args.mode == "compile" else model
    idx = torch.randint(0, args.vocab, (args.batch, args.seq), device=dev)
    labels = torch.randint(0, args.vocab, (args.batch, args.seq), device=dev)

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = fwd(idx, labels)
        loss.backward()
        muon.step()
        adamw.step()
        muon.zero_grad(set_to_none=True)
        adamw.zero_grad(set_to_none=True)
        return loss

    t0 = time.perf_counter()
    for _ in range(args.warmup):
        step()
    torch.cuda.synchronize()
    print(f"RESULT torch_{args.mode}_warmup_seconds {time.perf_counter() - t0:.1f}")
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    print(f"RESULT torch_{args.mode}_tokens_per_s {args.batch * args.seq * args.steps / dt:.0f}")
    print(f"RESULT torch_{args.mode}_loss {loss.item():.4f}")
    print(f"RESULT torch_{args.mode}_peak_mem_gib {torch.cuda.max_memory_allocated() / 2**30:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
