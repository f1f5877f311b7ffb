#!/usr/bin/env bash
# Real multi-host runs on one machine (docs/scaling.md "Multi-host runs on one machine"): 4 hosts
# as network namespaces on a bridge (scripts/netns_cluster.sh), Open MPI over TCP between them,
# links shaped to 1 Gbit/s. (a) 4 hosts x 1 rank equals the 1-rank run within fp32 rounding
# (every parameter of the final checkpoint, the validation loss), sequential, with dist.overlap
# and in shard groups of 2 with dist.overlap; (b) a host whose link goes down
# mid-run: every rank exits within 30 s, the reason printed once, the last checkpoint intact.
# Usage: netns_hosts.sh MUTRAIN SOURCE_DIR. Exit 77 (skip) without root (or sudo -n), iproute2,
# network namespaces or mpirun.
set -uo pipefail
MUTRAIN="$(realpath "$1")"
SRC="$(realpath "$2")"
source "$SRC/tests/multihost/hosts.inc"
TMP="$(mktemp -d /tmp/mt-multihost.XXXXXX)"
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
trap '"$NETNS" down >/dev/null 2>&1; [[ ${MT_MULTIHOST_KEEP:-0} == 1 ]] && echo "kept $TMP" || rm -rf "$TMP"' EXIT
"$NETNS" up 4 1gbit 0.5ms > "$TMP/hosts" || skip "could not build the namespace hosts"
cd "$TMP"
cat > tiny.yaml <<YAML
name: mh
seed: 1
model: {name: gpt, width: 64, depth: 2, heads: 2, context: 16}
data: {name: random_tokens, vocab_size: 64}
optimizer: {muon: {lr: 0.02}, adamw: {lr: 3.0e-3}}
schedule: {name: constant}
train: {steps: 6, batch_size: 8, log_every: 1, eval_every: 0, eval_batches: 2, threads: 1}
stats: {every: 0}
YAML

# (a) 4 hosts x 1 rank equals 1 rank: sequential, with dist.overlap (reduces during the backward
# pass, the update in parts pipelined with its all-gather), and in shard groups of 2
"$MUTRAIN" train tiny.yaml --out "$TMP/one" > one.log 2>&1 || fail "1-rank run failed: $(tail -3 one.log)"
# mpirun4 LOG ARGS...: a 4-host run; a launch that fails is retried once (Open MPI start-up flake
# across namespaces, "ORTE was unable to reliably start one or more daemons", about 1 in 10)
mpirun4() {
  local log="$1"
  shift
  timeout 120 "$NETNS" mpirun 4 "$@" > "$log" 2>&1 && return 0
  echo "retrying a failed 4-host launch: $(tail -n 3 "$log")"
  timeout 120 "$NETNS" mpirun 4 "$@" > "$log" 2>&1
}
mpirun4 four.log "$MUTRAIN" train tiny.yaml --out "$TMP/four" || fail "4-host run failed: $(tail -5 four.log)"
grep -q "^ranks: 4" four/mh/summary.yaml 2>/dev/null || fail "the 4-host run did not run on 4 ranks"
mpirun4 overlap.log "$MUTRAIN" train tiny.yaml --out "$TMP/overlap" --set dist.overlap=true ||
  fail "4-host overlapped run failed: $(tail -5 overlap.log)"
mpirun4 groups.log "$MUTRAIN" train tiny.yaml --out "$TMP/groups" --set dist.shard_group_size=2 \
  --set dist.overlap=true || fail "4-host run in shard groups of 2 failed: $(tail -5 groups.log)"
for other in four overlap groups; do
"$PY" - one/mh $other/mh <<'PY' || fail "4 hosts x 1 rank ($other) differs from 1 rank"
import glob, os, re, sys
import h5py, numpy as np
a_dir, b_dir = sys.argv[1:3]
last = lambda d: sorted(glob.glob(os.path.join(d, "checkpoints", "*.h5")))[-1]
worst = 0.0
with h5py.File(last(a_dir), "r") as a, h5py.File(last(b_dir), "r") as b:
    names = list(a["params"])
    assert names == list(b["params"]) and names, (names, list(b["params"]))
    for n in names:
        x, y = a["params"][n][()].astype(np.float64), b["params"][n][()].astype(np.float64)
        rel = np.linalg.norm(x - y) / max(np.linalg.norm(x), 1e-30)
        worst = max(worst, rel)
val = lambda d: float(re.search(r"^val_loss: (\S+)", open(os.path.join(d, "summary.yaml")).read(), re.M).group(1))
print(f"4 hosts vs 1 rank: max relative parameter difference {worst:.2e}, val loss {val(a_dir)} vs {val(b_dir)}")
sys.exit(0 if worst < 1e-5 and abs(val(a_dir) - val(b_dir)) < 1e-5 * abs(val(a_dir)) else 1)
PY
done
# (b) host 3's link goes down mid-run: the collectives stall; dist.timeout_s ends every rank
# (a launch that dies before its first checkpoint, an Open MPI start-up flake, is retried once)
for attempt in 1 2; do
  rm -rf fail
  timeout 120 "$NETNS" mpirun 4 "$MUTRAIN" train tiny.yaml --out "$TMP/fail" --set name=mh_fail \
    --set train.steps=100000000 --set checkpoint.every=5 --set dist.timeout_s=8 > fail.log 2>&1 &
  launcher=$!
  for _ in $(seq 1 600); do
    ls fail/mh_fail/checkpoints/*.h5 >/dev/null 2>&1 && grep -q "^step" fail.log && break
    kill -0 "$launcher" 2>/dev/null || break
    sleep 0.1
  done
  ls fail/mh_fail/checkpoints/*.h5 >/dev/null 2>&1 && break
  echo "attempt $attempt: the 4-host run ended before its first checkpoint: $(tail -n 5 fail.log)"
  wait "$launcher" 2>/dev/null
done
ls fail/mh_fail/checkpoints/*.h5 >/dev/null 2>&1 || fail "the 4-host run wrote no checkpoint: $(tail -n 5 fail.log)"
"$NETNS" link 10.77.0.3 down
t0=$SECONDS
# the ranks: processes whose command line starts with the mutrain binary (not the launchers)
ranks() { pgrep -f "^$MUTRAIN train tiny.yaml --out $TMP/fail" | wc -l; }
while (($(ranks) > 0 && SECONDS - t0 < 60)); do sleep 0.2; done
took=$((SECONDS - t0))
left=$(ranks)
echo "host 3 cut off: every rank gone after ${took} s ($left left)"
((left == 0 && took <= 30)) || fail "ranks still running ${took} s after a host's link went down ($left left)"
kill "$launcher" 2>/dev/null
pkill -f "mpirun.*--out $TMP/fail" 2>/dev/null
wait "$launcher" 2>/dev/null
n=$(grep -c "^\[dist\] rank .* is gone" fail.log)
[[ $n == 1 ]] || fail "the reason was printed $n times, expected once: $(grep '^\[dist\]' fail.log)"
newest="$(ls fail/mh_fail/checkpoints/*.h5 | sort | tail -1)"
"$MUTRAIN" inspect "$newest" > inspect.log 2>&1 || fail "the last checkpoint $newest is not readable: $(tail -3 inspect.log)"
"$NETNS" link 10.77.0.3 up

echo "FAILS=$FAILS"
((FAILS == 0)) || exit 1
echo "PASS"
