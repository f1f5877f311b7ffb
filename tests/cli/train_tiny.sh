#!/usr/bin/env bash
# A tiny end-to-end run: outputs land in runs/NAME, a second run never overwrites the first, and
# Ctrl-C (SIGINT) stops cleanly with exit code 3.
source "$(dirname "$0")/common.inc"
make_text "$TMP/text"
C="$TMP/good.yaml"
make_config "$C"
cd "$TMP"

out="$("$MUTRAIN" train "$C" --out "$TMP/runs" 2>&1)" || fail "tiny run failed: $out"
for f in config.yaml train.csv val.csv summary.yaml; do
  [[ -s runs/tiny/$f ]] || fail "runs/tiny/$f missing"
done
grep -q "step 4/4" <<<"$out" || fail "no log line for the last step: $out"
grep -q "tok/s" <<<"$out" || fail "log line lacks tokens/s"
grep -q "outputs in $TMP/runs/tiny" <<<"$out" || fail "does not print where the outputs are"
grep -q "steps: 4" runs/tiny/config.yaml || fail "resolved config not saved"
grep -q "^adjust_lr\|adjust_lr: original" runs/tiny/config.yaml || fail "defaults missing from resolved config"
cp runs/tiny/train.csv first.csv
"$MUTRAIN" train "$C" --out "$TMP/runs" --set train.steps=2 >/dev/null 2>&1 || fail "second run failed"
cmp -s first.csv runs/tiny/train.csv || fail "second run overwrote the first run's metrics"
[[ -s runs/tiny-2/train.csv ]] || fail "second run did not go to runs/tiny-2"
# same seed -> same losses (batches and init are pure functions of the seed)
"$MUTRAIN" train "$C" --out "$TMP/runs" >/dev/null 2>&1
cut -d, -f1,2 runs/tiny/train.csv > a.txt; cut -d, -f1,2 runs/tiny-3/train.csv > b.txt
cmp -s a.txt b.txt || fail "same config gave different losses"
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
