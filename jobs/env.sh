# jobs/env.sh: the one place that sets up the environment of a mutrain job (sourced by every
# jobs/*.sbatch and by `mutrain submit` scripts). Settings already in the environment win.

# The mutrain binary: $MUTRAIN, else build/mutrain of this checkout.
MT_ROOT="${MT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export MUTRAIN="${MUTRAIN:-$MT_ROOT/build/mutrain}"

# Threads per rank = the CPUs SLURM gave each task (mutrain's own pool follows train.threads).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}"

# OpenBLAS detects AVX-512 CPUs as Haswell; its SkylakeX kernels are about 2x faster for sgemm.
if [[ -z ${OPENBLAS_CORETYPE:-} ]] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
  export OPENBLAS_CORETYPE=SkylakeX
fi

# Open MPI refuses to start as root unless told to (containers, CI).
if [[ $(id -u) == 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
