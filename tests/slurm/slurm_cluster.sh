#!/usr/bin/env bash
# mutrain through a real SLURM cluster on localhost (slurm-wlm + munge, installed when missing):
# (a) a 2-rank job from `mutrain submit --dry-run` given to sbatch, (b) a 4-task sweep array from
# `mutrain submit --sweep`, (c) a job preempted with `scancel --signal=USR1` mid-run: it checkpoints,
# exits 3, requeues itself and finishes with --resume auto, bitwise equal to an uninterrupted run.
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
grep -q '^srun --mpi=pmix .* train '"$W"'/tiny.yaml .*--resume auto$' two_ranks.sbatch \
  || fail "dry-run script has no srun line with the absolute config and --resume auto"
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
wait_job "$ID_S" 120 && check_run runs/byscript/tiny 40
for i in 0 1 2 3; do wait_job "${ID_T}_$i" 120 && check_run "runs/byscript/grid_00$i" 20; done
echo "(a) and (b) done after $((SECONDS - T0)) s"

# (c) preemption: the same run twice, one preempted with USR1 once it has logged a few steps.
echo "(c) preemption"
preempt_and_compare 3000 90 --tasks-per-node 2 --overcommit --time 00:05:00
cluster_finish
