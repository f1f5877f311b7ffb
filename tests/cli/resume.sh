#!/usr/bin/env bash
# Exact resume: a run stopped cleanly (SIGINT) or killed (SIGKILL) at an arbitrary step and resumed
# with --resume auto ends with bitwise the same parameters, optimizer state and loss curve as an
# uninterrupted run. Checkpoints of another model and corrupt files are refused (exit 2) and
# nothing on disk changes.
source "$(dirname "$0")/common.inc"
make_text "$TMP/text"
C="$TMP/good.yaml"
make_config "$C"
cd "$TMP"
STEPS=1500
SET=(--out "$TMP/runs" --set train.steps=$STEPS --set train.log_every=7 --set checkpoint.every=50
     --set checkpoint.keep_last=2 --set model.width=32 --set model.depth=2 --set schedule.name=cosine)

"$MUTRAIN" train "$C" "${SET[@]}" --set name=full > full.log 2>&1 || fail "uninterrupted run failed: $(tail -3 full.log)"

# interrupt run NAME with signal SIG once it has logged a few steps, then resume it
interrupt_and_resume() {
  local name="$1" sig="$2"
  "$MUTRAIN" train "$C" "${SET[@]}" --set name=$name > $name.log 2>&1 &
  local pid=$!
  for _ in $(seq 1 200); do
    [[ -e runs/$name/checkpoints/latest ]] && grep -q "^step  *[0-9]*[1-9][0-9]/" $name.log && break
    sleep 0.05
  done
  kill -$sig $pid
  wait $pid
  local rc=$?
  grep -q "step $STEPS/$STEPS" $name.log && fail "$name: run finished before the signal (make it longer)"
  if [[ $sig == INT ]]; then
    [[ $rc == 3 ]] || fail "$name: SIGINT exit $rc, expected 3"
  fi
  [[ -s runs/$name/checkpoints/$(cat runs/$name/checkpoints/latest) ]] || fail "$name: latest names no checkpoint"
  local at; at=$(cat runs/$name/checkpoints/latest)
  "$MUTRAIN" train "$C" "${SET[@]}" --set name=$name --resume auto > $name.resume.log 2>&1 \
    || fail "$name: resume failed: $(tail -3 $name.resume.log)"
  grep -q "resumed from .*$at" $name.resume.log || fail "$name: did not resume from $at"
  echo "$name: interrupted by SIG$sig, resumed from $at"
}
interrupt_and_resume stopped INT
interrupt_and_resume killed KILL

/usr/bin/python3 "$SRC/tests/support/compare_runs.py" "$TMP/runs" $STEPS full stopped killed \
  --metrics train/step,train/loss,train/lr,train/grad_norm,val/step,val/loss --stats \
  || fail "resumed runs differ from the uninterrupted one"

# a checkpoint of another model: refused, named parameter and both shapes, nothing changes
before="$(cd runs/full && find . -type f -exec md5sum {} + | sort)"
out="$("$MUTRAIN" train "$C" "${SET[@]}" --set name=full --set model.width=48 --resume auto 2>&1 >/dev/null)"
rc=$?
[[ $rc == 2 ]] || fail "other model: exit $rc, expected 2: $out"
grep -qE "^\[checkpoint\] .*parameter '.*' has shape \(.*\) in the checkpoint but \(.*\) in this model" <<<"$out" \
  || fail "other model: message does not name the parameter and both shapes: $out"
# a truncated checkpoint: refused, nothing changes
latest="runs/full/checkpoints/$(cat runs/full/checkpoints/latest)"
head -c 3000 "$latest" > truncated.h5
out="$("$MUTRAIN" train "$C" "${SET[@]}" --set name=full --resume "$TMP/truncated.h5" 2>&1 >/dev/null)"
rc=$?
[[ $rc == 2 ]] || fail "truncated checkpoint: exit $rc, expected 2: $out"
grep -q "^\[checkpoint\] .*truncated.h5" <<<"$out" || fail "truncated checkpoint: unclear message: $out"
out="$("$MUTRAIN" train "$C" "${SET[@]}" --resume "$TMP/none.h5" 2>&1 >/dev/null)"
[[ $? == 2 ]] || fail "missing checkpoint path: not exit 2: $out"
after="$(cd runs/full && find . -type f -exec md5sum {} + | sort)"
[[ "$before" == "$after" ]] || fail "refused resumes changed files of runs/full"
# keep_last
n=$(ls runs/full/checkpoints/step_*.h5 | wc -l)
[[ $n == 2 ]] || fail "keep_last 2 left $n checkpoints"
finish
