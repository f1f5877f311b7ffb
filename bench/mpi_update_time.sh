#!/usr/bin/env bash
# Measured optimizer-update time per step of the quickstart GPT (random tokens, 1 thread per rank)
# for P = 1, 2, 4 ranks with each shard policy: Newton-Schulz work is split by the ShardPlan, so the
# slowest rank's update time should fall with P (this machine has 2 cores: P = 4 oversubscribes).
# Usage: bash bench/mpi_update_time.sh [BUILD_DIR=build] [STEPS=30]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
STEPS="${2:-30}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
cat > "$OUT/bench.yaml" <<YAML
name: update_time
model: {name: gpt, width: 128, depth: 4, heads: 4, context: 128}
data: {name: random_tokens}
optimizer: {muon: {lr: 0.02}, adamw: {lr: 3.0e-3}}
train: {steps: $STEPS, batch_size: 16, log_every: 1000, eval_every: 0, eval_batches: 1, threads: 1}
YAML
printf "%-12s %3s %14s %22s\n" policy P "update ms/step" "payload bytes/step r0"
for policy in lpt round_robin; do
  for P in 1 2 4; do
    mpirun --oversubscribe -np $P "$BUILD/mutrain" train "$OUT/bench.yaml" --out "$OUT/runs" \
      --set dist.policy=$policy --set name=${policy}_$P >/dev/null 2>&1
    s="$OUT/runs/${policy}_$P/summary.yaml"
    printf "%-12s %3s %14.2f %22s\n" $policy $P "$(awk '/^update_ms_per_step/ {print $2}' "$s")" \
      "$(awk '/^collective_bytes_per_step_rank0/ {print $2}' "$s")"
  done
done
