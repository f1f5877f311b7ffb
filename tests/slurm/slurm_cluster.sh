#!/usr/bin/env bash
# mutrain through a real SLURM cluster on localhost (slurm-wlm + munge, installed when missing):
# (a) a 2-rank job from `mutrain submit --dry-run` given to sbatch, (b) a 4-task sweep array from
# `mutrain submit --sweep`, (c) jobs preempted with `scancel --signal=USR1` mid-run: each checkpoints,
# exits 3, requeues itself and finishes with --resume auto, bitwise equal to an uninterrupted run;
# (d) among them, one whose YAML is edited and one whose YAML is deleted before the requeue: they
# train the config frozen at submit (runs/NAME/submitted.yaml).
# Usage: slurm_cluster.sh MUTRAIN SOURCE_DIR. Exit 77 (skip) without root/sudo to install SLURM;
# MT_SLURM_KEEP=1 keeps the cluster directory (logs, runs) for a look afterwards.
set -uo pipefail
MUTRAIN="$(realpath "$1")"
SRC="$(realpath "$2")"
CLUSTER="$(mktemp -d /tmp/mt-slurm.XXXXXX)"
source "$SRC/tests/slurm/cluster.inc"
trap cluster_on_exit EXIT
T0=$SECONDS

cluster_install || exit $?
cluster_start
cluster_started $? "the local SLURM cluster"
echo "cluster up after $((SECONDS - T0)) s (SLURM_CONF=$SLURM_CONF)"

W="$CLUSTER/work"
mkdir -p "$W/text"
cd "$W"
export MT_ROOT="$SRC" MUTRAIN  # for jobs/*.sbatch (found through MT_ROOT) and jobs/env.sh
# One node, two cores: shared-memory MPI transport only (fast start-up).
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader

# Tiny byte-level corpus and GPT (as tests/cli/common.inc), long enough to preempt mid-run.
for y in 1901 1902 1903 1904; do
  for i in $(seq 1 40); do echo "The state of the union in $y is strong, line $i."; done > "text/${y}_test_x.txt"
done
cat > tiny.yaml <<YAML
name: tiny
seed: 1
model: {name: gpt, width: 32, depth: 2, heads: 2, context: 8}
data: {name: text, path: $W/text, val_fraction: 0.25}
optimizer:
  muon: {lr: 0.02}
  adamw: {lr: 3.0e-3}
schedule: {name: cosine, warmup_steps: 10}
train: {steps: 40, batch_size: 4, log_every: 10, eval_every: 20, eval_batches: 2, threads: 1}
checkpoint: {every: 20}
YAML

# (a) 2 ranks, script from --dry-run through sbatch.
"$MUTRAIN" submit tiny.yaml --tasks-per-node 2 --time 00:05:00 --dry-run > two_ranks.sbatch \
  || fail "submit --dry-run failed"
grep -qE '^srun --mpi=pmix "\$MUTRAIN" train '"$W"'/runs/tiny/submitted.yaml --out '"$W"'/runs --resume auto --expect-binary [0-9a-f]{64} "\$@"$' \
  two_ranks.sbatch || fail "dry-run script has no srun line with the frozen config, --resume auto and the binary's hash"
[[ -s runs/tiny/submitted.yaml ]] || fail "submit --dry-run froze no config in runs/tiny/submitted.yaml"
ID_A=$(sbatch --parsable two_ranks.sbatch) || fail "sbatch refused the --dry-run script"
echo "(a) job $ID_A: 2 ranks"

# (b) a sweep: 2 x 2 grid, one config per array task.
cat > sweep.yaml <<YAML
base: tiny.yaml
name: grid
grid:
  optimizer.muon.lr: [0.01, 0.02]
  seed: [1, 2]
set: {train.steps: 20, checkpoint.every: 10}
YAML
ID_B=$("$MUTRAIN" submit sweep.yaml --sweep --time 00:05:00) || fail "submit --sweep failed"
echo "(b) job array $ID_B: $(wc -l < runs/sweeps/grid/list.txt) configs"

# The hand-written scripts of jobs/ on the same configs, into another output directory.
ID_S=$(sbatch --parsable -n 2 "$SRC/jobs/train.sbatch" tiny.yaml --out runs/byscript) \
  || fail "sbatch jobs/train.sbatch failed"
ID_T=$(sbatch --parsable --array=0-3 "$SRC/jobs/sweep.sbatch" runs/sweeps/grid/list.txt --out runs/byscript) \
  || fail "sbatch jobs/sweep.sbatch failed"

wait_job "$ID_A" 120 && check_run runs/tiny 40
grep -q "^\[train\] 2 ranks" "runs/slurm/tiny-$ID_A.out" || fail "(a) the job did not run 2 ranks"
# grid order: the first key varies slowest
EXPECT=("lr: 0.01,seed: 1" "lr: 0.01,seed: 2" "lr: 0.02,seed: 1" "lr: 0.02,seed: 2")
for i in 0 1 2 3; do
  wait_job "${ID_B}_$i" 120 && check_run "runs/grid_00$i" 20
  c="runs/grid_00$i/config.yaml"
  grep -q "muon: {${EXPECT[i]%%,*}," "$c" && grep -q "^${EXPECT[i]#*,}$" "$c" && grep -q "steps: 20," "$c" \
    || fail "(b) task $i: config is not grid point '${EXPECT[i]}' with train.steps 20"
done
# provenance of an array task: its SLURM ids
/usr/bin/python3 - runs/grid_001 "$ID_B" <<'PY' || fail "(b) grid_001 does not record its array job and task"
import sys, h5py
run, array = sys.argv[1:]
with h5py.File(f"{run}/metrics.h5", "r") as f:
    assert f.attrs["slurm_array_job_id"] == array and f.attrs["slurm_array_task_id"] == "1"
    assert f["provenance/slurm_array_task_id"].asstr()[0] == "1"
PY
wait_job "$ID_S" 120 && check_run runs/byscript/tiny 40
for i in 0 1 2 3; do wait_job "${ID_T}_$i" 120 && check_run "runs/byscript/grid_00$i" 20; done
echo "(a) and (b) done after $((SECONDS - T0)) s"

# (c) preemption: the same run as a reference and three more, each preempted with USR1 once it
# has logged a few steps. (d) frozen configs: before its preemption the YAML `edited` was
# submitted from is edited (another lr and seed) and the one of `deleted` removed; their requeued
# jobs train the frozen originals, bitwise the reference.
echo "(c) preemption, (d) the submitted YAML edited or deleted before the requeue"
on_running() {
  case "$1" in
    edited)
      sed -i 's/muon: {lr: 0.02}/muon: {lr: 0.5}/; s/^seed: 1$/seed: 7/' edited.yaml
      grep -q 'muon: {lr: 0.5}' edited.yaml && grep -q '^seed: 7$' edited.yaml \
        || fail "(d) could not edit edited.yaml" ;;
    deleted) rm deleted.yaml ;;
  esac
}
preempt_runs 3000 240 "preempted edited deleted" --tasks-per-node 2 --overcommit --time 00:05:00
grep -q 'muon: {lr: 0.02' runs/edited/submitted.yaml || fail "(d) the frozen config of 'edited' changed"
# provenance of a preempted job: two starts of the same job, the second its first requeue
/usr/bin/python3 - runs/preempted "${ID[preempted]}" <<'PY' || fail "(c) the provenance does not record the job and its requeue"
import sys, h5py
run, job = sys.argv[1:]
with h5py.File(f"{run}/metrics.h5", "r") as f:
    p = f["provenance"]
    assert list(p["slurm_job_id"].asstr()[()]) == [job, job], p["slurm_job_id"][()]
    assert list(p["ranks"][()]) == [2, 2] and p["step"][0] == 0 and p["step"][1] > 0
    assert p["slurm_restart_count"].asstr()[1] == "1", p["slurm_restart_count"][()]
    assert f.attrs["slurm_job_id"] == job and " train " in f.attrs["command_line"]
PY
grep -q "config change" "runs/slurm/edited-${ID[edited]}.out" && fail "(d) the requeued job saw a config change"
cluster_finish
