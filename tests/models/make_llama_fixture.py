#!/usr/bin/env python3
"""Writes tests/data/llama_reference.h5, what tests/models/test_llama_reference.cpp compares mutrain's
`llama` model with: the PyTorch implementation of the same model (tools/torch_llama.py), in
float64, on identical weights and tokens.

    /usr/bin/python3 tests/models/make_llama_fixture.py     # Debian's python3-torch and h5py

Layout: root attributes = the model (vocab, width, depth, heads, context, mlp_hidden, rope_theta,
qk_norm, norm_eps, attn_scale) and the AdamW settings (lr, beta1, beta2, eps, weight_decay);
/params/<name> the initial weights (float32, mutrain's parameter names; the reference computes in
float64 from exactly these values); /step/tokens and
/step/labels (int32, (B*T)); /step/logits ((B*T, vocab)), /step/loss, /step/grads/<name> (the
gradients of the mean cross-entropy; float64 results rounded to float32); /adamw/tokens and /adamw/labels ((10, B*T)) and
/adamw/losses (10): the loss before each of 10 torch.optim.AdamW steps from the same weights.
"""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import torch_llama  # noqa: E402

MODEL = dict(vocab=96, width=64, depth=2, heads=4, mlp_hidden=160, rope_theta=10000.0,
             qk_norm=True, norm_eps=1e-6)
CONTEXT, B = 16, 3
ADAMW = dict(lr=3e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1)


def init(model, gen):
    """Weights that make every gradient informative: matrices N(0, 1/fan_in) (the readout 3x
    smaller), embeddings N(0, 1), gains 1 + N(0, 0.1^2)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
            elif name == "wte.weight":
                p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype))
            else:
                std = (1.0 / 3.0 if name == "head.weight" else 1.0) / p.shape[1] ** 0.5
                p.copy_(std * torch.randn(p.shape, generator=gen, dtype=p.dtype))
            p.copy_(p.float().double())  # exactly the float32 weights mutrain loads


def loss_of(model, tokens, labels):
    logits = model(tokens.view(B, CONTEXT)).reshape(B * CONTEXT, -1)
    return logits, F.cross_entropy(logits, labels)


def main():
    torch.set_default_dtype(torch.float64)
    gen = torch.Generator().manual_seed(28)
    model = torch_llama.Llama(**MODEL)
    init(model, gen)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                       "llama_reference.h5")
    draw = lambda *shape: torch.randint(0, MODEL["vocab"], shape, generator=gen)
    with h5py.File(out, "w") as f:
        for k, v in {**MODEL, **ADAMW, "context": CONTEXT,
                     "attn_scale": 1.0 / (MODEL["width"] // MODEL["heads"]) ** 0.5}.items():
            f.attrs[k] = v
        for name, p in model.named_parameters():
            f[f"params/{name}"] = p.detach().float().numpy()
        tokens, labels = draw(B * CONTEXT), draw(B * CONTEXT)
        logits, loss = loss_of(model, tokens, labels)
        loss.backward()
        f["step/tokens"], f["step/labels"] = tokens.int().numpy(), labels.int().numpy()
        f["step/logits"], f["step/loss"] = logits.detach().float().numpy(), loss.item()
        for name, p in model.named_parameters():
            f[f"step/grads/{name}"] = p.grad.float().numpy()
        opt = torch.optim.AdamW(model.parameters(), lr=ADAMW["lr"],
                                betas=(ADAMW["beta1"], ADAMW["beta2"]), eps=ADAMW["eps"],
                                weight_decay=ADAMW["weight_decay"])
        # Learnable batches (the label is a fixed function of the token): the loss falls.
        toks, losses = draw(10, B * CONTEXT), []
        labs = (toks * 7 + 3) % MODEL["vocab"]
        for s in range(10):
            opt.zero_grad()
            _, loss = loss_of(model, toks[s], labs[s])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        f["adamw/tokens"], f["adamw/labels"] = toks.int().numpy(), labs.int().numpy()
        f["adamw/losses"] = np.array(losses)
    print(f"wrote {out}: loss {loss_of(model, tokens, labels)[1].item():.6f} after 10 steps, "
          f"losses {np.round(losses, 5)}")


if __name__ == "__main__":
    main()
