#!/usr/bin/env bash
# Token shards end to end (docs/data.md): the llama model trained on llm.c shards resumes bitwise
# after SIGKILLs at random moments, and every bad shard is refused at the command line with a
# [data] error naming the file, exit 2, and nothing written.
source "$(dirname "$0")/common.inc"
PY=/usr/bin/python3
"$PY" -c "import numpy, h5py" 2>/dev/null || skip "$PY lacks numpy/h5py (scripts/install_deps.sh)"
mkdir -p "$TMP/tok"
# write_shard FILE N [VERSION MAGIC COUNT MAX]: llm.c's format, tokens (i * 37 + i / 7) % MAX
write_shard() {
  "$PY" - "$@" <<'PY'
import sys
import numpy as np
path, n = sys.argv[1], int(sys.argv[2])
defaults = [1, 20240520, n, 300]
version, magic, count, top = (int(sys.argv[3 + i]) if 3 + i < len(sys.argv) else d
                              for i, d in enumerate(defaults))
h = np.zeros(256, dtype="<i4")
h[:3] = magic, version, count
t = (np.arange(n) * 37 + np.arange(n) // 7) % top
open(path, "wb").write(h.tobytes() + t.astype("<u2" if version == 1 else "<u4").tobytes())
PY
}
write_shard "$TMP/tok/a_train_000000.bin" 5000
write_shard "$TMP/tok/a_train_000001.bin" 3000 2
write_shard "$TMP/tok/a_val_000000.bin" 700
C="$TMP/llama.yaml"
cat > "$C" <<YAML
name: tok
seed: 3
model: {name: llama, width: 32, depth: 2, heads: 2, context: 16, qk_norm: true}
data: {name: tokens, train: "$TMP/tok/a_train_*.bin", val: "$TMP/tok/a_val_*.bin", vocab_size: 300}
optimizer: {muon: {lr: 0.02}, adamw: {lr: 3.0e-3}}
train: {steps: 600, batch_size: 4, log_every: 10, eval_every: 200, eval_batches: 2, threads: 1}
checkpoint: {every: 1, keep_last: 2}
YAML
cd "$TMP"
"$MUTRAIN" train "$C" --out "$TMP/runs" --set name=full > full.log 2>&1 || fail "uninterrupted run failed: $(tail -3 full.log)"
RANDOM=2812
for i in 1 2 3 4; do
  args=(--set name=victim)
  [[ -e runs/victim/checkpoints/latest ]] && args+=(--resume auto)
  "$MUTRAIN" train "$C" --out "$TMP/runs" "${args[@]}" > run$i.log 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do [[ -e runs/victim/checkpoints/latest ]] && break; sleep 0.1; done
  sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
done
"$MUTRAIN" train "$C" --out "$TMP/runs" --set name=victim --resume auto > final.log 2>&1 \
  || fail "final resume failed: $(tail -3 final.log)"
grep -q "resumed from" final.log || fail "the final run did not resume"
"$PY" "$SRC/tests/support/compare_runs.py" "$TMP/runs" 600 full victim \
  --metrics train/step,train/loss,val/loss \
  || fail "the killed-and-resumed token run differs from the uninterrupted one"

# Bad shards: [data] naming the file, exit 2, no run folder.
write_shard "$TMP/tok/magic.bin" 500 1 12345
write_shard "$TMP/tok/version.bin" 500 7
write_shard "$TMP/tok/count.bin" 500 1 20240520 600
write_shard "$TMP/tok/vocab.bin" 500 1 20240520 500 400
write_shard "$TMP/tok/short.bin" 10
bad() {  # bad FILE PATTERN
  expect_exit 2 "^\[data\] .*$1.*$2" -- "$MUTRAIN" train "$C" --out "$TMP/bad_runs" --set name=bad \
    --set "data.train=$TMP/tok/$1" --set data.format=llmc
}
bad magic.bin "magic 12345"
bad version.bin "version 7"
bad count.bin "600 tokens"
bad vocab.bin "not below data.vocab_size 300"
bad short.bin "fewer than one window"
expect_exit 2 "^\[data\] .*nothing_.*bin.*matches no file" -- "$MUTRAIN" train "$C" --out "$TMP/bad_runs" \
  --set name=bad --set "data.train=$TMP/tok/nothing_*.bin"
[[ -e "$TMP/bad_runs" ]] && fail "a refused run wrote $(find "$TMP/bad_runs" | head -3)"
finish
