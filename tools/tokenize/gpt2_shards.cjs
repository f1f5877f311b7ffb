#!/usr/bin/env node
// Text files -> GPT-2 token shards in llm.c's format (docs/data.md "Token shards"), with OpenAI's
// tiktoken (the npm package `tiktoken`: WASM bindings of the Rust library OpenAI's own tokenizers
// use; its "gpt2" encoding is GPT-2's byte-level BPE, vocabulary 50257). Each input file is one
// document, written as <|endoftext|> (50256) followed by its tokens, as llm.c's and
// modded-nanogpt's FineWeb scripts write documents.
//
//   node tools/tokenize/gpt2_shards.cjs --out DIR [--name NAME] [--val-fraction 0.1]
//        [--shard-tokens 100000000] [--tiktoken DIR] INPUT...
//
// INPUT: text files or directories (their *.txt files). Files are taken in name order; the latest
// whole files go to validation until they hold --val-fraction of the bytes (at least one file),
// as mutrain's byte-level text dataset splits them (0: no validation shard). Output:
// DIR/NAME_val_000000.bin, DIR/NAME_train_000000.bin, ... each at most --shard-tokens tokens
// (documents may straddle two shards, as in llm.c). Header: 256 int32 little-endian: 20240520,
// version 1 (uint16 tokens), the token count, and (a mutrain extension in a slot llm.c leaves 0)
// the number of UTF-8 bytes of text the shard's documents hold, so bits per byte can be reported.
// --tiktoken: the unpacked npm package (default data/tiktoken, where scripts/install_data.sh
// puts it). Exit 2 with an "[tokenize]" message on bad usage or unreadable input.
"use strict";
const fs = require("fs");
const path = require("path");

const MAGIC = 20240520;
const EOT = 50256;

function die(msg) {
  process.stderr.write(`[tokenize] ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const a = { out: null, name: "tokens", valFraction: 0.1, shardTokens: 100000000,
              tiktoken: path.join(__dirname, "..", "..", "data", "tiktoken"), inputs: [] };
  for (let i = 0; i < argv.length; ++i) {
    const k = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) die(`${k} needs a value`);
      return argv[++i];
    };
    if (k === "--out") a.out = value();
    else if (k === "--name") a.name = value();
    else if (k === "--val-fraction") a.valFraction = Number(value());
    else if (k === "--shard-tokens") a.shardTokens = Number(value());
    else if (k === "--tiktoken") a.tiktoken = value();
    else if (k === "-h" || k === "--help") {
      process.stdout.write(fs.readFileSync(__filename, "utf8").split("\n").slice(1, 21)
        .map((l) => l.replace(/^\/\/ ?/, "")).join("\n") + "\n");
      process.exit(0);
    } else if (k.startsWith("--")) die(`unknown option '${k}'`);
    else a.inputs.push(k);
  }
  if (!a.out) die("--out DIR is required");
  if (!/^[A-Za-z0-9_.-]+$/.test(a.name)) die(`--name '${a.name}': letters, digits, '_', '-', '.' only`);
  if (!(a.valFraction >= 0 && a.valFraction < 1)) die("--val-fraction must be in [0, 1)");
  if (!(Number.isInteger(a.shardTokens) && a.shardTokens >= 1)) die("--shard-tokens must be >= 1");
  if (a.inputs.length === 0) die("no input files");
  return a;
}

function listFiles(inputs) {
  const files = [];
  for (const p of inputs) {
    let st;
    try { st = fs.statSync(p); } catch (e) { die(`cannot read '${p}': ${e.message}`); }
    if (st.isDirectory()) {
      for (const f of fs.readdirSync(p).filter((f) => f.endsWith(".txt")).sort())
        files.push(path.join(p, f));
    } else files.push(p);
  }
  if (files.length === 0) die("no *.txt files in the inputs");
  return files.sort((x, y) => (path.basename(x) < path.basename(y) ? -1 : 1));
}

// [first validation file index]: the latest whole files until they hold valFraction of the bytes.
function splitIndex(sizes, valFraction) {
  if (valFraction === 0) return sizes.length;
  const total = sizes.reduce((s, x) => s + x, 0);
  let first = sizes.length, val = 0;
  while (first > 1 && (first === sizes.length || val < valFraction * total)) val += sizes[--first];
  return first;
}

class ShardWriter {
  constructor(dir, prefix, shardTokens) {
    Object.assign(this, { dir, prefix, shardTokens, index: 0, tokens: [], bytes: 0, written: [] });
  }
  add(ids, bytes) {
    this.bytes += bytes;  // counted in the shard the document starts in
    for (const t of ids) {
      this.tokens.push(t);
      if (this.tokens.length === this.shardTokens) this.flush();
    }
  }
  flush() {
    if (this.tokens.length === 0) return;
    const header = new Int32Array(256);
    header[0] = MAGIC;
    header[1] = 1;
    header[2] = this.tokens.length;
    header[3] = this.bytes;
    const body = Uint16Array.from(this.tokens);
    const file = path.join(this.dir, `${this.prefix}_${String(this.index).padStart(6, "0")}.bin`);
    fs.writeFileSync(file, Buffer.concat([Buffer.from(header.buffer), Buffer.from(body.buffer)]));
    this.written.push(`${file} (${this.tokens.length} tokens)`);
    this.index += 1;
    this.tokens = [];
    this.bytes = 0;
  }
}

function main() {
  const a = parseArgs(process.argv.slice(2));
  let tiktoken;
  try {
    tiktoken = require(path.resolve(a.tiktoken, "tiktoken.cjs"));
  } catch (e) {
    die(`cannot load tiktoken from '${a.tiktoken}' (bash scripts/install_data.sh fetches it): ${e.message}`);
  }
  const enc = tiktoken.get_encoding("gpt2");
  const files = listFiles(a.inputs);
  const texts = files.map((f) => fs.readFileSync(f));
  const first = splitIndex(texts.map((t) => t.length), a.valFraction);
  fs.mkdirSync(a.out, { recursive: true });
  for (const [split, lo, hi] of [["val", first, files.length], ["train", 0, first]]) {
    const w = new ShardWriter(a.out, `${a.name}_${split}`, a.shardTokens);
    for (let i = lo; i < hi; ++i) {
      w.add([EOT], 0);
      w.add(enc.encode_ordinary(texts[i].toString("utf8")), texts[i].length);
    }
    w.flush();
    for (const line of w.written) process.stdout.write(`[tokenize] ${split}: ${line}\n`);
  }
  enc.free();
}

main();
