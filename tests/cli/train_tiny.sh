#!/usr/bin/env bash
# A tiny end-to-end run: outputs land in runs/NAME, a second run never overwrites the first, and
# Ctrl-C (SIGINT) stops cleanly with exit code 3.
source "$(dirname "$0")/common.inc"
make_text "$TMP/text"
C="$TMP/good.yaml"
make_config "$C"
cd "$TMP"

out="$("$MUTRAIN" train "$C" --out "$TMP/runs" 2>&1)" || fail "tiny run failed: $out"
for f in config.yaml metrics.h5 summary.yaml checkpoints/latest; do
  [[ -s runs/tiny/$f ]] || fail "runs/tiny/$f missing"
done
grep -q "step 4/4" <<<"$out" || fail "no log line for the last step: $out"
grep -q "tok/s" <<<"$out" || fail "log line lacks tokens/s"
grep -q "outputs in $TMP/runs/tiny" <<<"$out" || fail "does not print where the outputs are"
grep -q "steps: 4" runs/tiny/config.yaml || fail "resolved config not saved"
grep -q "^adjust_lr\|adjust_lr: original" runs/tiny/config.yaml || fail "defaults missing from resolved config"
cp runs/tiny/metrics.h5 first.h5
"$MUTRAIN" train "$C" --out "$TMP/runs" --set train.steps=2 >/dev/null 2>&1 || fail "second run failed"
cmp -s first.h5 runs/tiny/metrics.h5 || fail "second run overwrote the first run's metrics"
[[ -s runs/tiny-2/metrics.h5 ]] || fail "second run did not go to runs/tiny-2"
# same seed -> same losses (batches and init are pure functions of the seed)
"$MUTRAIN" train "$C" --out "$TMP/runs" >/dev/null 2>&1
/usr/bin/python3 - "$TMP/runs/tiny/metrics.h5" "$TMP/runs/tiny-3/metrics.h5" <<'PY' || fail "same config gave different losses"
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r")["train/loss"][()] for p in sys.argv[1:3])
sys.exit(0 if len(a) > 0 and np.array_equal(a, b) else 1)
PY
# One text file (input.txt, the most common corpus) trains: split by bytes, the log says so.
cat "$TMP"/text/*.txt > "$TMP/input.txt"
out="$("$MUTRAIN" train "$C" --out "$TMP/runs" --set data.path="$TMP/input.txt" --set name=onefile 2>&1)" \
  || fail "one-file corpus did not train: $out"
grep -qE "^\[train\] data: bytes of '$TMP/input.txt': one file \(input.txt\) split by bytes: the first [0-9]+ bytes train \(75 %\), the last [0-9]+ bytes val" <<<"$out" \
  || fail "the log does not name the byte split: $(grep -m1 data: <<<"$out")"
grep -q "final validation over" <<<"$out" || fail "one-file run has no final validation: $out"
# Ctrl-C: stops after the current step, exit 3
"$MUTRAIN" train "$C" --out "$TMP/runs" --set train.steps=1000000 --set name=stopme >stop.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "step" stop.log 2>/dev/null && break; sleep 0.1; done
kill -INT $pid
wait $pid
rc=$?
[[ $rc == 3 ]] || fail "SIGINT: exit $rc, expected 3: $(tail -3 stop.log)"
grep -q "stopped by signal 2" stop.log || fail "no stop message: $(tail -3 stop.log)"
finish
