#!/usr/bin/env bash
# Fault injection: SIGKILL one training run at 20 random moments (checkpoints every step, so many
# kills land inside a checkpoint write), resuming with --resume auto after each. Every time the
# newest complete checkpoint must load, and the run, finished at last, must equal bitwise an
# uninterrupted run. Counts: faults injected, resumes, checkpoints lost (must be 0).
source "$(dirname "$0")/common.inc"
make_text "$TMP/text"
C="$TMP/good.yaml"
make_config "$C"
cd "$TMP"
STEPS=2500
SET=(--out "$TMP/runs" --set train.steps=$STEPS --set train.log_every=5 --set checkpoint.every=1
     --set checkpoint.keep_last=2 --set model.width=32 --set model.depth=2 --set stats.every=7)

"$MUTRAIN" train "$C" "${SET[@]}" --set name=full > full.log 2>&1 || fail "uninterrupted run failed"

faults=0 lost=0 resumes=0
RANDOM=12345  # reproducible kill times
for i in $(seq 1 20); do
  args=(--set name=victim)
  [[ -e runs/victim/checkpoints/latest ]] && args+=(--resume auto)
  before=$(cat runs/victim/checkpoints/latest 2>/dev/null || echo none)
  "$MUTRAIN" train "$C" "${SET[@]}" "${args[@]}" > run$i.log 2>&1 &
  pid=$!
  # The first kill waits for the first checkpoint: on a loaded machine the process start alone can
  # outlast every random delay, and with no checkpoint the next start is a new run (victim-2).
  if [[ $before == none ]]; then
    for _ in $(seq 1 600); do [[ -e runs/victim/checkpoints/latest ]] && break; sleep 0.1; done
  fi
  sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
  kill -9 $pid 2>/dev/null && faults=$((faults + 1))
  wait $pid 2>/dev/null
  [[ $before == none ]] || { grep -q "resumed from" run$i.log && resumes=$((resumes + 1)); }
  if [[ -e runs/victim/checkpoints/latest ]]; then
    latest="runs/victim/checkpoints/$(cat runs/victim/checkpoints/latest)"
    # the checkpoint `latest` names must be complete and loadable
    /usr/bin/python3 -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); assert f.attrs['kind']=='checkpoint' and 'params' in f and 'state' in f" "$latest" 2>/dev/null \
      || { lost=$((lost + 1)); echo "kill $i: latest checkpoint $latest is not loadable"; }
  fi
done
"$MUTRAIN" train "$C" "${SET[@]}" --set name=victim --resume auto > final.log 2>&1 \
  || fail "final resume failed: $(tail -3 final.log)"
echo "faults injected: $faults, resumed runs: $resumes, checkpoints lost: $lost"
(( faults >= 15 )) || fail "only $faults kills landed before the run finished (make it longer)"
(( lost == 0 )) || fail "$lost checkpoints were lost"
/usr/bin/python3 "$SRC/tests/support/compare_runs.py" "$TMP/runs" $STEPS full victim \
  --metrics train/step,train/loss,val/loss \
  || fail "the killed-and-resumed run differs from the uninterrupted one"
finish
