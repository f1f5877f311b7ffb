#!/usr/bin/env bash
# Installs the system packages mutrain builds, runs and tests with (Debian 12 / Ubuntu 24.04, apt).
# Works as root (apt-get directly) and as a user with sudo; says what to run when neither is possible.
# Only missing packages are installed; Node's npm is added only when no npm exists (a NodeSource
# nodejs already ships one and conflicts with Debian's npm package).
# Usage: bash scripts/install_deps.sh [--test] [--bench] [--fuzz]
#   (none): what the build and README command 1 need;
#   --test adds what every test of README command 2 needs (python3-yaml for the tools' tests,
#     nbformat, nbclient and ipykernel to execute the analysis notebook, slurm-wlm + munge for the
#     SLURM test, debootstrap for the fresh-machine check);
#   --bench adds python3-torch (bench/ comparisons); --fuzz adds clang, its OpenMP and libFuzzer
#   runtimes (scripts/test_fuzz.sh).
# apt's own output goes to a log file; a line per phase (update, download, unpack/configure) is
# printed with the elapsed time, and the log's last lines are printed when apt fails.
set -euo pipefail

say() { echo "[install_deps] $*"; }
die() { echo "[install_deps] error: $*" >&2; exit 1; }

PKGS=(build-essential cmake pkg-config git ca-certificates procps
      openmpi-bin libopenmpi-dev libhdf5-dev hdf5-tools libyaml-cpp-dev libcli11-dev libopenblas-dev libdnnl-dev zlib1g-dev libssl-dev
      libgtest-dev libgmock-dev libbenchmark-dev
      python3 python3-h5py python3-numpy python3-matplotlib python3-pandas python3-venv python3-wheel
      python3-pytest)
for opt in "$@"; do
  case "$opt" in
    # Everything the tests need, so that on a bare machine only the GPU tests skip.
    --test) PKGS+=(python3-yaml python3-nbformat python3-nbclient python3-ipykernel slurm-wlm munge
                   debootstrap clang-format iproute2) ;;
    --bench) PKGS+=(python3-torch) ;;
    # Debian 12 and Ubuntu 24.04 name libFuzzer's runtime libclang-rt-dev (a versioned package behind).
    --fuzz) PKGS+=(clang libomp-dev libclang-rt-dev) ;;
    *) echo "[install_deps] error: unknown option '$opt' (expected --test, --bench or --fuzz)" >&2; exit 2 ;;
  esac
done
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} == 0 )); then
  say "all packages present"
  exit 0
fi

# AS_ROOT: the command prefix that runs a command as root (empty when we are root).
AS_ROOT=()
if [[ "$(id -u)" != 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    die "not root and sudo is not installed; as root, run:
  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}
then run this command again."
  fi
  if ! sudo -n true 2>/dev/null; then
    say "sudo will ask for your password to install: ${missing[*]}"
  fi
  AS_ROOT=(sudo)
fi
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install by hand: ${missing[*]}"

LOG="$(mktemp "${TMPDIR:-/tmp}/mt_install_deps.XXXXXX.log")"
START=$SECONDS
elapsed() { echo "$((SECONDS - START)) s"; }
# run_apt PHASE ARGS...: runs apt-get ARGS as root, its output into LOG; prints the log's tail on failure.
run_apt() {
  local phase="$1"; shift
  if ! "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive \
       apt-get -o DPkg::Lock::Timeout=900 -o Dpkg::Use-Pty=0 "$@" >>"$LOG" 2>&1; then
    echo "[install_deps] error: apt-get $phase failed; last lines of $LOG:" >&2
    tail -n 25 "$LOG" >&2
    exit 1
  fi
}

say "installing ${#missing[@]} packages: ${missing[*]}"
say "apt output goes to $LOG"
say "phase 1/3: apt-get update"
run_apt update update
say "phase 2/3: downloading (${#missing[@]} packages and their dependencies) [$(elapsed)]"
run_apt download install -y --no-install-recommends --download-only "${missing[@]}"
say "phase 3/3: unpacking and configuring [$(elapsed)]"
# Progress while dpkg works: one line every 30 s with the number of packages configured so far.
( while sleep 30; do
    u=$(grep -c '^Unpacking ' "$LOG" 2>/dev/null || true)
    n=$(grep -c '^Setting up ' "$LOG" 2>/dev/null || true)
    echo "[install_deps]   ... $u packages unpacked, $n set up [$(elapsed)]"
  done ) &
TICKER=$!
trap 'kill $TICKER 2>/dev/null || true' EXIT
run_apt install install -y --no-install-recommends "${missing[@]}"
kill "$TICKER" 2>/dev/null || true
say "done: $(grep -c '^Setting up ' "$LOG" || true) packages set up in $(elapsed)"
rm -f "$LOG"
