#!/usr/bin/env bash
# Non-finite gradients (test hook MT_INJECT_NONFINITE_STEP=N: step N's gradient becomes NaN; N counts
# from 0 like the "[train] ... at step N" message). train.on_nonfinite: stop (default) ends the run
# with exit 1, a message naming the step and the parameter, and its last checkpoint intact;
# skip drops that update and the run finishes.
source "$(dirname "$0")/common.inc"
make_text "$TMP/text"
C="$TMP/good.yaml"
make_config "$C"
cd "$TMP"
SET=(--out "$TMP/runs" --set train.steps=8 --set checkpoint.every=2)

# stop: checkpoints after steps 2 and 4, NaN in the 6th update (index 5)
out="$(MT_INJECT_NONFINITE_STEP=5 "$MUTRAIN" train "$C" "${SET[@]}" --set name=stop 2>&1 >/dev/null)"
rc=$?
[[ $rc == 1 ]] || fail "stop: exit $rc, expected 1: $(tail -2 <<<"$out")"
grep -qE '^\[train\] non-finite gradient at step 5 \(1 values in [a-z_.0-9]+.*the last checkpoint is kept' <<<"$out" \
  || fail "stop: message: $(tail -2 <<<"$out")"
[[ "$(cat runs/stop/checkpoints/latest 2>/dev/null)" == step_00000004.h5 ]] || fail "stop: latest is not step 4"
md5="$(md5sum < runs/stop/checkpoints/step_00000004.h5)"
"$MUTRAIN" inspect runs/stop/checkpoints/step_00000004.h5 > /dev/null || fail "stop: the last checkpoint does not load"
# resuming without the fault finishes from that checkpoint and leaves it as it was
"$MUTRAIN" train "$C" "${SET[@]}" --set name=stop --resume auto > resume.log 2>&1 || fail "stop: resume failed: $(tail -2 resume.log)"
grep -q "resumed from .*step_00000004.h5" resume.log || fail "stop: did not resume from step 4"
[[ "$(md5sum < runs/stop/checkpoints/step_00000004.h5)" == "$md5" ]] || fail "stop: step 4 checkpoint changed on resume"

# skip: the run finishes; the skipped step leaves the parameters as they were before it
out="$(MT_INJECT_NONFINITE_STEP=5 "$MUTRAIN" train "$C" "${SET[@]}" --set name=skip --set train.on_nonfinite=skip 2>&1)"
rc=$?
[[ $rc == 0 ]] || fail "skip: exit $rc: $(tail -2 <<<"$out")"
grep -q "non-finite gradient at step 5: update skipped (1 so far" <<<"$out" || fail "skip: no skip warning"
[[ -s runs/skip/checkpoints/step_00000008.h5 ]] || fail "skip: no final checkpoint"
/usr/bin/python3 - "$TMP/runs/skip/checkpoints/step_00000008.h5" <<'PY' || fail "skip: non-finite values in the final checkpoint"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    bad = []
    f.visititems(lambda n, o: bad.append(n) if isinstance(o, h5py.Dataset) and o.dtype.kind == "f" and not np.all(np.isfinite(o[()])) else None)
    sys.exit(1 if bad else 0)
PY
expect_exit 2 "^\[config\] .*train.on_nonfinite" -- "$MUTRAIN" train "$C" --out "$TMP/runs" --set train.on_nonfinite=ignore
finish
