"""mutrain's GPT and MLP written in PyTorch with microsoft/mup, the reference µP implementation.

The models mirror models/gpt.cpp and models/mlp.cpp layer for layer, with the same parameter names
(wte.weight, blocks.0.attn.q.weight, head.weight, input.weight, hidden.1.bias, output.weight, ...),
so that a rule can be compared parameter by parameter. µP is microsoft/mup's own code, used the way
its README says: the readout is a `mup.MuReadout`, `mup.set_base_shapes(model, base, delta=...)`
(rescale_params=True, its default) sets the shapes and rescales the init, and the optimizers are
`mup.MuAdamW` / `mup.MuSGD`. Nothing of µP is written here except the attention logit scale
attn_mult / d_head (mup leaves attention to the model; Tensor Programs V section 6 / its Transformer
example).

Init presets, as mutrain's `parametrization.init` (docs/mup.md "Init presets"), drawn before
set_base_shapes rescales them:
  torch   PyTorch's default per layer (nn.Linear U(+-1/sqrt(in_features)) for weight and bias,
          nn.Embedding N(0, 1), norm gains 1): microsoft/mup's default use.
  normal  nn.Linear weights N(0, 1/in_features), biases 0, embeddings N(0, 1), gains 1.

microsoft/mup is pure Python; it runs on Debian's python3-torch 1.13 from a checkout on PYTHONPATH
(git archive HEAD mup | tar -x -C DIR), docs/mup.md "Parity with microsoft/mup".
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

import mup

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torch_llama import RMSNorm  # noqa: E402  (mutrain's RMSNorm, shared with the llama)


class Attention(nn.Module):
    def __init__(self, d, heads, attn_scale, attn_mult, bias):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=bias) for _ in range(4))
        d_head = d // heads
        base = 1.0 / d_head if attn_scale == "inv_d" else 1.0 / math.sqrt(d_head)
        self.scale = attn_mult * base

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = (m(x).view(b, t, self.heads, c // self.heads).transpose(1, 2)
                   for m in (self.q, self.k, self.v))
        s = (q @ k.transpose(-2, -1)) * self.scale
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        s = s.masked_fill(~mask, float("-inf"))
        y = F.softmax(s, dim=-1) @ v
        return self.o(y.transpose(1, 2).reshape(b, t, c))


class Mlp(nn.Module):
    def __init__(self, d, hidden, bias):
        super().__init__()
        self.fc = nn.Linear(d, hidden, bias=bias)
        self.proj = nn.Linear(hidden, d, bias=bias)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, d, heads, attn_scale, attn_mult, bias):
        super().__init__()
        self.ln1 = RMSNorm(d)
        self.attn = Attention(d, heads, attn_scale, attn_mult, bias)
        self.ln2 = RMSNorm(d)
        self.mlp = Mlp(d, 4 * d, bias)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


def readout(d_in, d_out, bias, mup_readout, output_mult, zero_init):
    """mup.MuReadout under µP, nn.Linear under the standard parametrization."""
    if mup_readout:
        return mup.MuReadout(d_in, d_out, bias=bias, output_mult=output_mult,
                             readout_zero_init=zero_init)
    return nn.Linear(d_in, d_out, bias=bias)


class GPT(nn.Module):
    """models/gpt.cpp: token + position embeddings, pre-norm blocks, final RMSNorm, untied head."""

    def __init__(self, width, depth=2, heads=4, context=64, vocab=256, mup_readout=True,
                 attn_scale="inv_d", attn_mult=1.0, output_mult=1.0, readout_zero_init=False,
                 bias=False):
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.wpe = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads, attn_scale, attn_mult, bias)
                                    for _ in range(depth))
        self.ln_f = RMSNorm(width)
        self.head = readout(width, vocab, False, mup_readout, output_mult, readout_zero_init)

    def forward(self, idx):  # (B, T) token ids -> (B, T, vocab) logits
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


class MLP(nn.Module):
    """models/mlp.cpp: input Linear, depth-1 hidden width x width Linears, readout; ReLU between."""

    def __init__(self, width, depth=3, d_in=784, classes=10, mup_readout=True, output_mult=1.0,
                 readout_zero_init=False, bias=True):
        super().__init__()
        self.input = nn.Linear(d_in, width, bias=bias)
        self.hidden = nn.ModuleDict({str(l): nn.Linear(width, width, bias=bias)
                                     for l in range(1, depth)})
        self.output = readout(width, classes, bias, mup_readout, output_mult, readout_zero_init)

    def forward(self, x):
        h = F.relu(self.input(x))
        for layer in self.hidden.values():
            h = F.relu(layer(h))
        return self.output(h)


def apply_normal_preset(model):
    """mutrain's `init: normal`: Linear weights N(0, 1/in_features), biases 0 (embeddings keep
    nn.Embedding's N(0, 1), gains 1). A zero-initialised MuReadout stays zero."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                if isinstance(m, mup.MuReadout) and m.readout_zero_init:
                    continue
                m.weight.normal_(0.0, 1.0 / math.sqrt(m.in_features))
                if m.bias is not None:
                    m.bias.zero_()


def build(kind, width, base_width, preset="torch", mup_on=True, **kw):
    """The model `kind` ("gpt" or "mlp") at `width`, initialised with `preset`; under µP with
    microsoft/mup's base shapes from the model at `base_width` (dimensions that grow with width
    told apart by a delta model at twice the base width) and its default rescale."""
    cls = GPT if kind == "gpt" else MLP
    model = cls(width, mup_readout=mup_on, **kw)
    if preset == "normal":
        apply_normal_preset(model)
    elif preset != "torch":
        raise ValueError(f"unknown preset {preset!r}")
    if mup_on:
        base = cls(base_width, mup_readout=True, **kw)
        delta = cls(2 * base_width, mup_readout=True, **kw)
        mup.set_base_shapes(model, base, delta=delta)  # rescale_params=True
    return model


def forward_multiplier(model, name):
    """The factor mup applies to a parameter's product in the forward pass: MuReadout's
    output_mult / width_mult on its weight (the bias is added unscaled); 1 elsewhere."""
    module = model.get_submodule(name.rsplit(".", 1)[0])
    if isinstance(module, mup.MuReadout) and name.endswith(".weight"):
        return module.output_mult / module.width_mult()
    return 1.0


def optimizer_multipliers(model, optimizer):
    """{parameter name: (lr multiplier, weight-decay multiplier)} as mup.MuAdamW or mup.MuSGD
    assigns them: the optimizer is built with lr 1 and weight decay 1, and each parameter's group
    is read back."""
    names = {id(p): n for n, p in model.named_parameters()}
    make = mup.MuAdamW if optimizer == "adamw" else mup.MuSGD
    opt = make(model.parameters(), lr=1.0, weight_decay=1.0)
    out = {}
    for group in opt.param_groups:
        for p in group["params"]:
            out[names[id(p)]] = (float(group["lr"]), float(group["weight_decay"]))
    return out
