#!/usr/bin/env bash
# A resume compares the checkpoint's stored config with the run's (docs/reproducibility.md). A
# changed lr, seed, model key, optimizer key or data key is refused: exit 2, a [checkpoint] line
# listing every differing key as old -> new, nothing on disk changes. --allow-change accepts the
# keys it names, recorded with the step they took effect at (provenance.yaml, metrics.h5, the
# checkpoints) while config.yaml keeps the config the run started with; a later resume compares
# with the accepted values. The documented keys (cadences, threads, train.steps extended) pass
# without a flag, and a run extended that way is bitwise the longer uninterrupted run.
source "$(dirname "$0")/common.inc"
make_text "$TMP/text"
C="$TMP/good.yaml"
make_config "$C"  # 4 steps, constant schedule, adamw lr 3.0e-3
cd "$TMP"
SET=(--out "$TMP/runs" --set checkpoint.every=2)
run_md5() { (cd "runs/$1" && find . -type f -print0 | sort -z | xargs -0 md5sum; find . | sort) | md5sum; }

"$MUTRAIN" train "$C" "${SET[@]}" --set name=base > base.log 2>&1 || fail "base run failed: $(tail -3 base.log)"
before="$(run_md5 base)"
ckpt4="$(md5sum < runs/base/checkpoints/step_00000004.h5)"
config0="$(md5sum < runs/base/config.yaml)"

# refuse PATTERN ARGS...: a resume of runs/base to 8 steps with ARGS exits 2 with PATTERN on
# stderr and leaves runs/base byte-identical
refuse() {
  local pattern="$1" out rc
  shift
  out="$("$MUTRAIN" train "$C" "${SET[@]}" --set name=base --resume auto --set train.steps=8 "$@" 2>&1 >/dev/null)"
  rc=$?
  [[ $rc == 2 ]] || fail "$*: exit $rc, expected 2: $out"
  grep -qE -- "$pattern" <<<"$out" || fail "$*: stderr does not match '$pattern': $out"
  [[ $(grep -c . <<<"$out") == 1 ]] || fail "$*: more than one stderr line: $out"
  [[ "$(run_md5 base)" == "$before" ]] || fail "$*: a refused resume changed runs/base"
}
refuse '^\[checkpoint\] .*step_00000004\.h5.*optimizer\.adamw\.lr: 3\.0e-3 -> 0\.5' --set optimizer.adamw.lr=0.5
refuse '^\[checkpoint\] .*: seed: 1 -> 2\. ' --set seed=2
refuse '^\[checkpoint\] .*: model\.heads: 2 -> 4\. ' --set model.heads=4
refuse '^\[checkpoint\] .*: optimizer\.muon\.momentum: 0\.95 -> 0\.9\. ' --set optimizer.muon.momentum=0.9
refuse '^\[checkpoint\] .*: data\.val_fraction: 0\.25 -> 0\.5\. ' --set data.val_fraction=0.5
refuse '^\[checkpoint\] .*schedule\.name: constant -> cosine' --set schedule.name=cosine
# every differing key at once, and the option that would accept them
refuse 'optimizer\.adamw\.lr: 3\.0e-3 -> 0\.5; seed: 1 -> 2\..*--allow-change optimizer\.adamw\.lr,seed' \
  --set optimizer.adamw.lr=0.5 --set seed=2
# accepting one of two changed keys is not enough
refuse '^\[checkpoint\] .*: seed: 1 -> 2\. ' --set optimizer.adamw.lr=0.5 --set seed=2 --allow-change optimizer.adamw.lr
# --allow-change of a key the config does not have, and a malformed list
refuse "^\[cli\] --allow-change 'optimizer\.adamw\.lrr': no such key" --set optimizer.adamw.lr=0.5 --allow-change optimizer.adamw.lrr
refuse '^\[cli\] --allow-change needs config keys' --allow-change seed,,name
echo "refused resumes: runs/base unchanged"

# --allow-change: accepted and recorded at step 4; config.yaml and the step-4 checkpoint kept
"$MUTRAIN" train "$C" "${SET[@]}" --set name=base --resume auto --set train.steps=8 \
  --set optimizer.adamw.lr=0.5 --allow-change optimizer.adamw.lr > allow.log 2>&1 \
  || fail "--allow-change: resume failed: $(tail -3 allow.log)"
grep -q "config change at step 4 (--allow-change): optimizer.adamw.lr: 3.0e-3 -> 0.5" allow.log \
  || fail "--allow-change: the change is not logged: $(grep change allow.log)"
[[ "$(md5sum < runs/base/config.yaml)" == "$config0" ]] || fail "config.yaml changed on resume"
[[ "$(md5sum < runs/base/checkpoints/step_00000004.h5)" == "$ckpt4" ]] || fail "the step-4 checkpoint changed"
/usr/bin/python3 - runs/base <<'PY' || fail "--allow-change: the change is not recorded as expected"
import sys, h5py, yaml
run = sys.argv[1]
want = [(4, "optimizer.adamw.lr", "3.0e-3", "0.5", "--allow-change"), (4, "train.steps", "4", "8", "free")]
p = yaml.safe_load(open(f"{run}/provenance.yaml"))
got = [(c["step"], c["key"], c["old"], c["new"], c["accepted"]) for c in p["config_changes"]]
assert got == want, got
assert [s["step"] for s in p["provenance"]] == [0, 4], p["provenance"]
s = yaml.safe_load(open(f"{run}/summary.yaml"))
assert [(c["step"], c["key"]) for c in s["config_changes"]] == [(4, "optimizer.adamw.lr"), (4, "train.steps")]
for path in (f"{run}/metrics.h5", f"{run}/checkpoints/step_00000008.h5"):
    with h5py.File(path, "r") as f:
        c = f["provenance/changes"]
        rows = list(zip(c["step"][()], c["key"].asstr()[()], c["old"].asstr()[()],
                        c["new"].asstr()[()], c["accepted"].asstr()[()]))
        assert rows == want, (path, rows)
        assert list(f["provenance/step"][()]) == [0, 4], path
with h5py.File(f"{run}/checkpoints/step_00000008.h5", "r") as f:  # the config in force
    assert yaml.safe_load(f.attrs["config"])["optimizer"]["adamw"]["lr"] == 0.5
assert yaml.safe_load(open(f"{run}/config.yaml"))["optimizer"]["adamw"]["lr"] == 3.0e-3
PY
# a later resume compares with the accepted value: lr 0.5 passes, 3.0e-3 is now the change
"$MUTRAIN" train "$C" "${SET[@]}" --set name=base --resume auto --set train.steps=12 \
  --set optimizer.adamw.lr=0.5 > again.log 2>&1 || fail "resume with the accepted lr failed: $(tail -3 again.log)"
before="$(run_md5 base)"
refuse '^\[checkpoint\] .*step_00000012\.h5.*: optimizer\.adamw\.lr: 0\.5 -> 3\.0e-3\. ' --set train.steps=14
# a shorter train.steps (still past the checkpoint's step) is no extension
refuse '^\[checkpoint\] .*step_00000010\.h5.*: train\.steps: 12 -> 11\. ' --set optimizer.adamw.lr=0.5 \
  --resume runs/base/checkpoints/step_00000010.h5 --set train.steps=11

# a seed, model, optimizer and data key accepted together (a section accepts every key in it)
"$MUTRAIN" train "$C" "${SET[@]}" --set name=multi > multi.log 2>&1 || fail "multi run failed"
"$MUTRAIN" train "$C" "${SET[@]}" --set name=multi --resume auto --set train.steps=6 --set seed=2 \
  --set model.heads=4 --set optimizer.muon.momentum=0.9 --set data.val_fraction=0.5 \
  --allow-change seed,model.heads --allow-change optimizer.muon,data > multi2.log 2>&1 \
  || fail "--allow-change of four keys failed: $(tail -2 multi2.log)"
/usr/bin/python3 - runs/multi <<'PY' || fail "the four accepted changes are not recorded"
import sys, h5py
with h5py.File(f"{sys.argv[1]}/metrics.h5", "r") as f:
    c = f["provenance/changes"]
    rows = sorted(zip(c["key"].asstr()[()], c["old"].asstr()[()], c["new"].asstr()[()],
                      c["accepted"].asstr()[()], c["step"][()]))
want = sorted([("seed", "1", "2", "--allow-change", 4), ("model.heads", "2", "4", "--allow-change", 4),
               ("optimizer.muon.momentum", "0.95", "0.9", "--allow-change", 4),
               ("data.val_fraction", "0.25", "0.5", "--allow-change", 4),
               ("train.steps", "4", "6", "free", 4)])
assert rows == want, rows
PY

# the documented keys pass without a flag; extending a constant-schedule run is bitwise the
# longer run
"$MUTRAIN" train "$C" "${SET[@]}" --set name=long --set train.steps=8 > long.log 2>&1 || fail "long run failed"
"$MUTRAIN" train "$C" "${SET[@]}" --set name=ext > ext.log 2>&1 || fail "ext run failed"
"$MUTRAIN" train "$C" "${SET[@]}" --set name=ext --resume auto --set train.steps=8 --set train.log_every=1 \
  --set train.eval_every=3 --set train.eval_batches=1 --set checkpoint.every=3 \
  --set checkpoint.keep_last=5 --set train.threads=2 > ext2.log 2>&1 \
  || fail "a resume changing only the documented keys was refused: $(tail -2 ext2.log)"
n=$(grep -c "config change at step 4 (free)" ext2.log)
[[ $n == 7 ]] || fail "expected 7 free changes at step 4, logged $n: $(grep 'config change' ext2.log)"
/usr/bin/python3 "$SRC/tests/support/compare_runs.py" runs 8 long ext \
  || fail "the extended run differs from the uninterrupted 8-step run"
finish
