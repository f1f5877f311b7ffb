#!/usr/bin/env python3
"""Sorts a `perf report --no-children --sort dso,sym --stdio` listing into the parts of a train
step (bench/profile_step.sh) and prints a markdown table of their shares. Each symbol goes to the
first category whose pattern matches "dso symbol"; the rest is framework overhead.

    /usr/bin/python3 bench/profile_categories.py REPORT.txt [TITLE]
"""
import re
import sys

CATEGORIES = [
    ("setup (initialisation)", r"Rng::fill_|__cos_|__sin_|__ieee754_log|__log1p"),
    ("products", r"\[JIT\]|libdnnl|libopenblas|sgemm|gemm_omp|syrk_full"),
    ("casts fp32 <-> bf16", r"round_row|round_block|round_to_bf16|bf16_from|from_bf16|::cast\b|as_f32"),
    ("attention (softmax, masks)", r"attention|softmax_row|softmax_backward"),
    ("loss (cross entropy)", r"cross_entropy|logsumexp"),
    ("norms", r"rmsnorm|layernorm|norm_sums|rms_"),
    ("Newton-Schulz (own code)", r"newton_schulz|polar"),
    ("optimizer", r"adamw|momentum_update|decayed_update|sgd_update"),
    ("element-wise", r"gelu|swiglu|silu|rope|::add|::mul|scale|residual|embedding|::fill|memset|memmove|memcpy|Tensor::fill"),
    ("kernel (page faults, clears, scheduling)", r"\[kernel|\[k\]"),
    ("OpenMP (barriers, spinning)", r"libgomp"),
]


def main():
    rows = {}
    for line in open(sys.argv[1]):
        m = re.match(r"\s*([0-9.]+)%\s+(.*?)\s+\[(.)\]\s+(.*)", line)
        if not m:
            continue
        share, text = float(m.group(1)), f"{m.group(2)} [{m.group(3)}] {m.group(4)}"
        cat = next((c for c, pat in CATEGORIES if re.search(pat, text)), "framework overhead (rest)")
        rows[cat] = rows.get(cat, 0.0) + share
    setup = rows.pop(CATEGORIES[0][0], 0.0)
    step = sum(rows.values())
    title = sys.argv[2] if len(sys.argv) > 2 else ""
    print(f"\n{title}: shares of the step's samples ({setup:.1f} % of all samples were set-up, "
          "left out)\n")
    print("| part | share of the step |\n|---|---|")
    for cat, share in sorted(rows.items(), key=lambda kv: -kv[1]):
        print(f"| {cat} | {100.0 * share / step:.1f} % |")


if __name__ == "__main__":
    main()
