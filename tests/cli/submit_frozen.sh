#!/usr/bin/env bash
# `mutrain submit` freezes each run's config in its run folder and the job trains from that copy
# with the executable it was rendered by (docs/reproducibility.md). Without SLURM: the generated
# script runs here with a stand-in `srun` (it drops srun's options and runs the command), so the
# job's own command line is what is tested; tests/slurm runs it on a real cluster. Checked: the
# job trains the config as submitted after the source YAML was edited or deleted; arguments after
# the script reach `mutrain train`; a rebuilt (changed) executable is refused unless
# --allow-binary-change; a resubmission keeps an identical frozen config and refuses another one;
# --sweep freezes every point in its run folder.
source "$(dirname "$0")/common.inc"
make_text "$TMP/text"
cd "$TMP"
mkdir -p bin
printf '#!/bin/bash\nwhile [[ $# -gt 0 && $1 == --* ]]; do shift; done\nexec "$@"\n' > bin/srun
chmod +x bin/srun
export PATH="$TMP/bin:$PATH" MT_ROOT="$SRC"
unset SLURM_JOB_ID SLURM_ARRAY_TASK_ID
make_config tiny.yaml  # adamw lr 3.0e-3, 4 steps
sha="$(sha256sum < "$MUTRAIN" | cut -c1-64)"

"$MUTRAIN" submit tiny.yaml --dry-run --out runs > job.sbatch 2> submit.err || fail "submit --dry-run failed: $(cat submit.err)"
F=runs/tiny/submitted.yaml
[[ -s $F ]] || fail "no frozen config in $F"
grep -q "^srun --mpi=pmix \"\$MUTRAIN\" train $TMP/$F --out $TMP/runs --resume auto --expect-binary $sha \"\$@\"$" job.sbatch \
  || fail "the job does not train the frozen config with this executable's hash: $(grep '^srun' job.sbatch)"
grep -q "^export MUTRAIN=$MUTRAIN$" job.sbatch || fail "the job does not run $MUTRAIN"
frozen="$(md5sum < $F)"
sed -i 's/adamw: {lr: 3.0e-3}/adamw: {lr: 0.5}/' tiny.yaml
grep -q 'lr: 0.5' tiny.yaml || fail "could not edit tiny.yaml"
bash job.sbatch > job1.log 2>&1 || fail "the job failed: $(tail -3 job1.log)"
/usr/bin/python3 - runs/tiny <<'PY' || fail "the job did not train the config as submitted"
import sys, yaml
c = yaml.safe_load(open(f"{sys.argv[1]}/config.yaml"))
assert c["optimizer"]["adamw"]["lr"] == 3.0e-3, c["optimizer"]["adamw"]
assert c["train"]["steps"] == 4
PY
rm tiny.yaml
bash job.sbatch --set train.steps=6 > job2.log 2>&1 || fail "the job with the source deleted failed: $(tail -3 job2.log)"
grep -q "resumed from .*step_00000004.h5" job2.log || fail "the second job did not resume"
grep -q "config change at step 4 (free): train.steps: 4 -> 6" job2.log || fail "sbatch's arguments did not reach train"
[[ "$(md5sum < $F)" == "$frozen" ]] || fail "the job changed its frozen config"

# a resubmission: the same config keeps the frozen file as it is; another is refused
make_config tiny.yaml
"$MUTRAIN" submit tiny.yaml --dry-run --out runs > /dev/null 2>&1 || fail "resubmitting the same config was refused"
[[ "$(md5sum < $F)" == "$frozen" ]] || fail "resubmitting the same config rewrote $F"
expect_exit 2 "^\[submit\] '$TMP/runs/tiny' was already submitted with another config .*seed: 1 -> 5\..*sbatch $TMP/runs/tiny/submit.sbatch" -- \
  "$MUTRAIN" submit tiny.yaml --dry-run --out runs --set seed=5
[[ "$(md5sum < $F)" == "$frozen" ]] || fail "a refused resubmission changed $F"

# the executable is replaced after submit (a byte appended: it still runs, its hash differs)
cp "$MUTRAIN" bin/mutrain
bin/mutrain submit tiny.yaml --dry-run --out runs --set name=pin > pin.sbatch 2> /dev/null || fail "submit with the copy failed"
printf 'x' >> bin/mutrain
out="$(bash pin.sbatch 2>&1 >/dev/null)"
rc=$?
[[ $rc == 2 ]] || fail "the job ran a replaced executable: exit $rc: $out"
grep -qE "^\[provenance\] this job was submitted with the mutrain executable whose sha256 is .*it was rebuilt or replaced after .mutrain submit." <<<"$out" \
  || fail "unclear message for a replaced executable: $out"
[[ ! -e runs/pin/config.yaml ]] || fail "the refused job started a run"
bash pin.sbatch --allow-binary-change > pin.log 2>&1 || fail "--allow-binary-change did not let the job run: $(tail -3 pin.log)"
/usr/bin/python3 - runs/pin/metrics.h5 "$(sha256sum < bin/mutrain | cut -c1-64)" <<'PY' || fail "the run does not record the replaced executable"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert f["provenance/binary_sha256"].asstr()[0] == sys.argv[2]
    assert list(f["provenance/binary_change_allowed"][()]) == [1]
PY

# --sweep: every point frozen in its own run folder, listed in list.txt
cat > spec.yaml <<YAML
base: tiny.yaml
name: grid
grid: {seed: [1, 2], optimizer.adamw.lr: [0.001, 0.002]}
YAML
"$MUTRAIN" submit spec.yaml --sweep --dry-run --out runs > sweep.sbatch 2> /dev/null || fail "submit --sweep failed"
/usr/bin/python3 - "$TMP/runs" <<'PY' || fail "the sweep's points are not frozen in their run folders"
import sys, yaml
out = sys.argv[1]
listed = open(f"{out}/sweeps/grid/list.txt").read().split()
want = [(1, 0.001), (1, 0.002), (2, 0.001), (2, 0.002)]
assert listed == [f"{out}/grid_{i:03d}/submitted.yaml" for i in range(4)], listed
for path, (seed, lr) in zip(listed, want):
    c = yaml.safe_load(open(path))
    assert (c["seed"], c["optimizer"]["adamw"]["lr"]) == (seed, lr), (path, c)
PY
grep -q "train \"\$CONFIG\" --out $TMP/runs --resume auto --expect-binary $sha \"\$@\"$" sweep.sbatch \
  || fail "the array job does not train the listed frozen config with this executable's hash"
finish
