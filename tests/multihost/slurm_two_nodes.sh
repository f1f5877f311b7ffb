#!/usr/bin/env bash
# A 2-node SLURM cluster on one machine: slurmctld in the root namespace, one slurmd in each of two
# network-namespace hosts (scripts/netns_cluster.sh, links shaped to 1 Gbit/s), Open MPI over TCP
# between the hosts. The same 2-node x 1-rank job twice; one is preempted mid-run
# (scancel --signal=USR1): it checkpoints, exits 3, requeues itself, resumes on the two nodes and
# ends bitwise equal to the uninterrupted one.
# Usage: slurm_two_nodes.sh MUTRAIN SOURCE_DIR. Exit 77 (skip) without root (or sudo -n), network
# namespaces, mpirun, or a way to install slurm-wlm + munge. MT_SLURM_KEEP=1 keeps the cluster
# directory (logs, runs) for a look afterwards.
set -uo pipefail
MUTRAIN="$(realpath "$1")"
SRC="$(realpath "$2")"
source "$SRC/tests/multihost/hosts.inc"
CLUSTER="$(mktemp -d /tmp/mt-slurm2.XXXXXX)"
source "$SRC/tests/slurm/cluster.inc"
cluster_extra_stop() { "$NETNS" down > /dev/null 2>&1; }
trap cluster_on_exit EXIT
T0=$SECONDS

cluster_install || exit $?
"$NETNS" up 2 1gbit 0.5ms > "$CLUSTER/hosts" 2>&1 || skip "could not build the namespace hosts"
cluster_start_netns 2
cluster_started $? "the 2-node SLURM cluster"
echo "cluster up after $((SECONDS - T0)) s: $(sinfo -h -N -o '%N %T' | tr '\n' ' ')"

W="$CLUSTER/work"
mkdir -p "$W"
cd "$W"
export MT_ROOT="$SRC" MUTRAIN
# Between the hosts: TCP over their bridge only (no shared memory across "hosts").
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=tcp,self OMPI_MCA_btl_tcp_if_include=10.77.0.0/24
cat > tiny.yaml <<YAML
name: tiny
seed: 1
model: {name: gpt, width: 32, depth: 2, heads: 2, context: 8}
data: {name: random_tokens, vocab_size: 64}
optimizer:
  muon: {lr: 0.02}
  adamw: {lr: 3.0e-3}
schedule: {name: cosine, warmup_steps: 10}
train: {batch_size: 4, eval_batches: 2, threads: 1}
YAML

# The two nodes' tasks run in different network namespaces (so the ranks talk over the bridge).
ns="$(srun -N 2 -n 2 --mpi=none readlink /proc/self/ns/net 2>&1 | sort -u)"
[[ $(grep -c '^net:' <<<"$ns") == 2 ]] || fail "srun -N 2: not two network namespaces: $ns"

preempt_and_compare 2000 180 --nodes 2 --tasks-per-node 1 --cpus-per-task 1 --overcommit \
  --time 00:05:00
for id in "$ID_R" "$ID_P"; do
  state=$(scontrol show job -o "$id" 2>/dev/null)
  [[ $state == *NumNodes=2* && $state == *"NodeList=mtnode[1-2]"* ]] \
    || fail "job $id did not run on both nodes: $(grep -oE 'NumNodes=[^ ]+|NodeList=[^ ]+' <<<"$state" | tr '\n' ' ')"
done
grep -q "^\[train\] 2 ranks" "runs/slurm/reference-$ID_R.out" || fail "the reference job did not run 2 ranks"
cluster_finish
