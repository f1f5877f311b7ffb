#!/usr/bin/env bash
# 1 rank vs 2 ranks on cuda through NCCL: the same 12-step GPT run must give the same training
# losses within 1e-4 relative (data parallel with sharded Muon updates is the same computation;
# only reduction orders differ). Needs two visible devices (NCCL does not put two ranks of one
# communicator on one GPU): skips (77) with the reason otherwise.
set -uo pipefail
MUTRAIN="$1"; SRC="$2"; MPIEXEC="${3:-mpiexec}"
devices="$("$MUTRAIN" version | sed -n 's/^cuda: compiled, \([0-9]*\) devices visible$/\1/p')"
if [[ -z $devices || $devices -lt 2 ]]; then
  echo "SKIP: ${devices:-0} CUDA device(s) visible; NCCL needs one device per rank for 2 ranks"
  exit 77
fi
PY=""
for py in /usr/bin/python3 python3; do
  if "$py" -c "import h5py" 2>/dev/null; then PY="$py"; break; fi
done
[[ -n $PY ]] || { echo "SKIP: python3 with h5py is needed to compare the runs"; exit 77; }
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
cat > g.yaml <<'YAML'
name: g
seed: 5
model: {name: gpt, width: 64, depth: 2, heads: 4, context: 32}
data: {name: random_tokens, vocab_size: 97, tokens: 65536}
optimizer: {muon: {lr: 0.02}, adamw: {lr: 3.0e-3}}
schedule: {name: constant}
stats: {every: 0}
train: {steps: 12, batch_size: 8, log_every: 2, eval_every: 0, eval_batches: 2, threads: 1, device: cuda}
YAML
"$MUTRAIN" train g.yaml --out one >one.log 2>&1 || { echo "1 rank failed:"; tail -20 one.log; exit 1; }
"$MPIEXEC" --oversubscribe -np 2 "$MUTRAIN" train g.yaml --out two >two.log 2>&1 \
  || { echo "2 ranks failed:"; tail -20 two.log; exit 1; }
"$PY" - one/g/metrics.h5 two/g/metrics.h5 <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r")["train/loss"][()] for p in sys.argv[1:3])
d = float(np.max(np.abs(a - b) / np.abs(a)))
print(f"train loss 1 rank {a.tolist()}\n           2 ranks {b.tolist()}\nmax rel diff {d:.2e}")
sys.exit(0 if d < 1e-4 else 1)
PY
