"""mutrain's `llama` model (models/llama.cpp) in PyTorch, layer for layer and with the same parameter
names, for the parity fixture (tests/models/make_llama_fixture.py) and the speed comparison
(bench/torch_llama_step.py): token embedding; pre-norm blocks x + Attn(RMSNorm(x)),
x + MLP(RMSNorm(x)); attention with separate q, k, v, o, optional QK-norm (an RMSNorm with one
gain of the head size over every head of q and k, before the rotation), rotary embeddings
(half-split pairs (j, j + Dh/2) rotated by t theta^(-2j/Dh), as GPT-NeoX and Hugging Face's LLaMA)
and a causal softmax; a SwiGLU MLP down(silu(gate x) * up x); no biases; final RMSNorm; an
untied readout."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * g, gain initialised to 1 (mutrain's RMSNorm; also used by
    tools/mup_reference/torch_models.py and bench/torch_gpt_step.py)."""

    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, theta):
    """x (B, H, T, Dh): pairs (j, j + Dh/2) rotated by t theta^(-2j/Dh)."""
    T, Dh = x.shape[-2], x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, Dh, 2, dtype=torch.float32) / Dh))
    angle = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq).to(x.dtype)
    cos, sin = angle.cos(), angle.sin()
    x1, x2 = x[..., : Dh // 2], x[..., Dh // 2:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Attention(nn.Module):
    def __init__(self, d, heads, theta, qk_norm, eps, scale):
        super().__init__()
        self.heads, self.theta, self.scale = heads, theta, scale
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        if qk_norm:
            self.q_norm, self.k_norm = RMSNorm(d // heads, eps), RMSNorm(d // heads, eps)
        else:
            self.q_norm = self.k_norm = None

    def forward(self, x):
        b, t, c = x.shape
        split = lambda y: y.view(b, t, self.heads, c // self.heads)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = (y.transpose(1, 2) for y in (q, k, v))  # (B, H, T, Dh)
        q, k = rope(q, self.theta), rope(k, self.theta)
        s = (q @ k.transpose(-2, -1)) * self.scale
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        y = F.softmax(s.masked_fill(~mask, float("-inf")), dim=-1) @ v
        return self.o(y.transpose(1, 2).reshape(b, t, c))


class SwiGlu(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.gate = nn.Linear(d, hidden, bias=False)
        self.up = nn.Linear(d, hidden, bias=False)
        self.down = nn.Linear(hidden, d, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    def __init__(self, d, heads, hidden, theta, qk_norm, eps, scale):
        super().__init__()
        self.ln1 = RMSNorm(d, eps)
        self.attn = Attention(d, heads, theta, qk_norm, eps, scale)
        self.ln2 = RMSNorm(d, eps)
        self.mlp = SwiGlu(d, hidden)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class Llama(nn.Module):
    def __init__(self, vocab, width, depth, heads, mlp_hidden=None, rope_theta=10000.0,
                 qk_norm=False, norm_eps=1e-6, attn_scale=None):
        super().__init__()
        hidden = mlp_hidden or (8 * width // 3 + 63) // 64 * 64
        scale = attn_scale if attn_scale is not None else 1.0 / math.sqrt(width // heads)
        self.wte = nn.Embedding(vocab, width)
        self.blocks = nn.ModuleList(Block(width, heads, hidden, rope_theta, qk_norm, norm_eps,
                                          scale) for _ in range(depth))
        self.ln_f = RMSNorm(width, norm_eps)
        self.head = nn.Linear(width, vocab, bias=False)

    def forward(self, idx):  # (B, T) -> (B, T, vocab)
        x = self.wte(idx)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))
