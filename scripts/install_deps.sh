#!/usr/bin/env bash
# Installs the system packages mutrain builds and runs with (Debian 12 / Ubuntu 24.04, apt), using
# sudo when not root. Only missing packages are installed; Node's npm is added only when no npm exists
# (a NodeSource nodejs already ships one and conflicts with Debian's npm package).
# Usage: bash scripts/install_deps.sh [--bench | --fuzz]
#   --bench adds python3-torch (bench/ comparisons); --fuzz adds clang, its OpenMP and libFuzzer
#   runtimes (scripts/test_fuzz.sh).
set -euo pipefail

say() { echo "[install_deps] $*"; }

PKGS=(build-essential cmake pkg-config git
      openmpi-bin libopenmpi-dev libhdf5-dev hdf5-tools libyaml-cpp-dev libopenblas-dev zlib1g-dev
      libgtest-dev libgmock-dev libbenchmark-dev
      python3 python3-h5py python3-numpy python3-matplotlib python3-pytest)
[[ "${1:-}" == "--bench" ]] && PKGS+=(python3-torch)
if [[ "${1:-}" == "--fuzz" ]]; then
  # Debian 12 and Ubuntu 24.04 name libFuzzer's runtime libclang-rt-dev (a versioned package behind).
  PKGS+=(clang libomp-dev libclang-rt-dev)
fi
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} == 0 )); then
  say "all packages present"
  exit 0
fi

SUDO=""
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "[install_deps] error: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
say "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
APT=(-o DPkg::Lock::Timeout=900)
$SUDO apt-get "${APT[@]}" update -qq
$SUDO -E apt-get "${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
say "done"
