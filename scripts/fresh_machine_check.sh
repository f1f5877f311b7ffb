#!/usr/bin/env bash
# The fresh-machine check (run by .ci/run): both README commands on a bare Debian 12, as a new user
# would run them. debootstrap makes a minbase bookworm root with git and ca-certificates only; the
# commit under test is cloned into it, and inside it:
#   root phase  (bare root A): README command 1 as root (shortened with --set train.steps=N),
#                              the analysis package pip-installed into a venv loading the quickstart
#                              run's metrics (scripts/check_analysis_package.sh),
#                              then README command 2 as root: 0 failed, 0 skipped but labels cuda, multihost;
#   sudo phase  (bare root B, a copy of A before anything was installed): a user with passwordless
#                              sudo runs README command 1, then the SLURM test (ctest -L slurm).
# Each phase starts from the bare root, so both install paths (apt-get as root, through sudo) run.
# /proc, /dev, /dev/pts and /sys are bind-mounted into each root and unmounted at the end whatever
# happens; processes left inside a root are killed first. The whole check is bounded in time.
#
# Usage: sudo bash scripts/fresh_machine_check.sh [--phase root|sudo|all]
# Environment: MT_FRESH_DIR (parent folder, default /var/tmp), MT_FRESH_KEEP=1 (keep the roots),
#   MT_FRESH_TIMEOUT (seconds for the whole check, default 3000), MT_FRESH_STEPS (quickstart steps,
#   default 60), MT_FRESH_MIRROR (Debian mirror, default: the host's first apt URI),
#   MT_FRESH_BARE=DIR (for development: copy this untouched debootstrap result instead of running
#   debootstrap; CI never sets it).
# Exit: 0 passed, 1 failed (the failing command's last lines printed), 77 cannot run here (not root,
#   no debootstrap); a bad option exits 2.
set -uo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
PHASE=all
while (($#)); do
  case "$1" in
    --phase) PHASE="${2:-}"; shift 2 ;;
    *) echo "[fresh] error: unknown option '$1' (expected --phase root|sudo|all)" >&2; exit 2 ;;
  esac
done
[[ $PHASE == root || $PHASE == sudo || $PHASE == all ]] \
  || { echo "[fresh] error: --phase must be root, sudo or all" >&2; exit 2; }

say() { echo "[fresh] $*"; }
T0=$SECONDS
elapsed() { echo "$((SECONDS - T0)) s"; }
LIMIT="${MT_FRESH_TIMEOUT:-3000}"
STEPS="${MT_FRESH_STEPS:-60}"

if [[ $(id -u) != 0 ]]; then
  echo "SKIP: the fresh-machine check needs root (debootstrap, chroot, mounts)"
  exit 77
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "SKIP: debootstrap is not installed (bash scripts/install_deps.sh --test installs it)"
  exit 77
fi

# The host's Debian mirror (its apt sources) unless told otherwise.
mirror="${MT_FRESH_MIRROR:-}"
if [[ -z $mirror ]]; then
  mirror="$(grep -hoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
            2>/dev/null | grep -v security | head -n 1 | awk '{print $2}')"
  mirror="${mirror:-http://deb.debian.org/debian}"
fi

# The commit under test: HEAD of this checkout (CI runs in a clean clone of main).
REV="$(git -C "$SRC" rev-parse HEAD)" || { echo "[fresh] error: $SRC is not a git checkout" >&2; exit 1; }
if [[ -n "$(git -C "$SRC" status --porcelain --untracked-files=no)" ]]; then
  say "note: uncommitted changes in $SRC are not part of the check (it clones commit ${REV:0:12})"
fi

WORK="$(mktemp -d "${MT_FRESH_DIR:-/var/tmp}/mt-fresh.XXXXXX")"
chmod 755 "$WORK"
ROOTS=()
FAILED=0

# Everything mounted under ROOT, deepest first.
mounts_under() { awk -v r="$1" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/self/mounts | sort -r; }

kill_inside() {  # processes whose root directory is inside $1 (daemons left by the tests)
  local root="$1" p r
  for p in /proc/[0-9]*; do
    r="$(readlink "$p/root" 2>/dev/null)" || continue
    [[ $r == "$root" || $r == "$root"/* ]] && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  return 0
}

unmount_all() {
  local root="$1" m
  kill_inside "$root"
  sleep 0.5
  for m in $(mounts_under "$root"); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || say "warning: could not unmount $m"
  done
}

cleanup() {
  local root
  for root in "${ROOTS[@]+"${ROOTS[@]}"}"; do unmount_all "$root"; done
  if [[ ${MT_FRESH_KEEP:-0} == 1 ]]; then
    say "kept $WORK"
  else
    for root in "${ROOTS[@]+"${ROOTS[@]}"}"; do
      if [[ -n "$(mounts_under "$root")" ]]; then
        say "warning: $root still has mounts; not removing $WORK"
        return
      fi
    done
    rm -rf --one-file-system "$WORK"
  fi
}
trap cleanup EXIT
trap 'say "interrupted"; exit 1' INT TERM

# run_logged NAME SECONDS COMMAND...: runs COMMAND with its output in $WORK/NAME.log and a line
# every 60 s; on failure prints the log's last 40 lines and counts the failure.
run_logged() {
  local name="$1" limit="$2" rc start=$SECONDS; shift 2
  local left=$((LIMIT - (SECONDS - T0)))
  ((left < limit)) && limit=$left
  if ((limit <= 0)); then
    say "FAIL: $name not started: the check's time limit ($LIMIT s) is spent"
    FAILED=$((FAILED + 1)); return 1
  fi
  say "$name: starting (limit $limit s) [$(elapsed)]"
  ( while sleep 60; do
      echo "[fresh]   ... $name running for $((SECONDS - start)) s; last line: $(tail -n 1 "$WORK/$name.log" 2>/dev/null | cut -c1-150)"
    done ) &
  local ticker=$!
  timeout --kill-after=20 "$limit" bash -c '"$@"' bash "$@" > "$WORK/$name.log" 2>&1
  rc=$?
  kill "$ticker" 2>/dev/null; wait "$ticker" 2>/dev/null
  if ((rc != 0)); then
    ((rc == 124)) && say "FAIL: $name timed out after $limit s" || say "FAIL: $name exited $rc"
    echo "----- last 40 lines of $name.log"
    tail -n 40 "$WORK/$name.log"
    echo "-----"
    FAILED=$((FAILED + 1))
    return 1
  fi
  say "$name: ok in $((SECONDS - start)) s"
}

# in_root ROOT USER COMMAND: runs COMMAND with bash inside ROOT as USER, with a clean environment
# (a new machine's: no CI variables, no CA bundle paths of the host).
in_root() {
  local root="$1" user="$2" cmd="$3" home=/root
  [[ $user == root ]] || home="/home/$user"
  chroot "$root" /usr/sbin/runuser -u "$user" -- /usr/bin/env -i HOME="$home" USER="$user" \
    LOGNAME="$user" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 TERM=dumb /bin/bash -c "cd && $cmd"
}

export -f in_root  # run_logged runs it under timeout, in a new bash

mount_root() {
  local root="$1"
  # --rbind: /dev brings /dev/pts and /dev/shm (Open MPI's shared memory), /sys the cgroup
  # mounts slurmd needs; rslave so that unmounting here never propagates to the host.
  mount -t proc proc "$root/proc" &&
    mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" &&
    mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"
}

# 1. The bare root: minbase bookworm + git + ca-certificates, the host's apt sources and the extra
#    CA certificates of this network (without them npm fails with SELF_SIGNED_CERT_IN_CHAIN).
BARE="$WORK/bare"
ROOTS+=("$BARE")
if [[ -n ${MT_FRESH_BARE:-} ]]; then
  cp -a "$MT_FRESH_BARE" "$BARE" || { say "FAIL: cannot copy MT_FRESH_BARE=$MT_FRESH_BARE"; exit 1; }
  say "bare root copied from $MT_FRESH_BARE (MT_FRESH_BARE)"
else
  run_logged debootstrap 900 debootstrap --variant=minbase --include=git,ca-certificates bookworm \
    "$BARE" "$mirror" || exit 1
fi
if [[ -d /etc/apt/sources.list.d && -n "$(ls /etc/apt/sources.list.d/*.sources 2>/dev/null)" ]]; then
  cp /etc/apt/sources.list.d/*.sources "$BARE/etc/apt/sources.list.d/" && rm -f "$BARE/etc/apt/sources.list"
fi
cp -L /etc/resolv.conf "$BARE/etc/resolv.conf" 2>/dev/null || true
# debootstrap writes no /etc/hosts (the installer, cloud images and container runtimes do).
[[ -e $BARE/etc/hosts ]] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$BARE/etc/hosts"
# As Debian's container images do: dpkg without an fsync per file (minutes faster, same result).
echo force-unsafe-io > "$BARE/etc/dpkg/dpkg.cfg.d/mt-fresh-speedup"
if [[ -n "$(ls /usr/local/share/ca-certificates/ 2>/dev/null)" ]]; then
  cp -r /usr/local/share/ca-certificates/. "$BARE/usr/local/share/ca-certificates/"
  chroot "$BARE" update-ca-certificates >/dev/null 2>&1 || say "warning: update-ca-certificates failed"
fi
git clone -q --no-hardlinks "$SRC" "$WORK/src.git" 2>/dev/null || git clone -q "$SRC" "$WORK/src.git"
git -C "$WORK/src.git" checkout -q "$REV" || { say "FAIL: commit $REV not in the clone"; exit 1; }
say "bare root ready ($(du -sh "$BARE" | cut -f1)), commit ${REV:0:12} [$(elapsed)]"

# A root of its own for a phase: a copy of the bare root, mounted, with the checkout in HOME.
# Downloaded .deb files are shared between the phases (one download).
mkdir -p "$WORK/apt-archives/partial"
new_root() {
  local name="$1" user="$2" root="$WORK/$1" home
  cp -a "$BARE" "$root" || return 1
  ROOTS+=("$root")
  mount --bind "$WORK/apt-archives" "$root/var/cache/apt/archives" || return 1
  mount_root "$root" || { say "FAIL: could not mount /proc, /dev, /dev/pts, /sys in $root"; return 1; }
  home=/root
  if [[ $user != root ]]; then
    home="/home/$user"
    chroot "$root" useradd -m -s /bin/bash "$user" || return 1
  fi
  cp -a "$WORK/src.git" "$root$home/mutrain"
  chroot "$root" chown -R "$user:" "$home/mutrain"
}

# The ctest summary of a command-2 log: 0 failed, and nothing skipped but tests labelled cuda.
check_ctest_summary() {
  local log="$1" line skipped
  line="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1)"
  [[ -n $line ]] || { say "FAIL: no ctest summary in $log"; return 1; }
  say "command 2: $line"
  [[ $line == *" 0 tests failed "* ]] || { say "FAIL: command 2 had failures"; return 1; }
  # cuda: no GPU here; multihost: the bare root is a chroot, where `ip netns exec` cannot remount
  # /sys (tests/multihost/netns_hosts.sh skips with that reason)
  skipped="$(grep -E '^ *[0-9]+ - .* \(Skipped\)' "$log" | grep -v '\bcuda\|multihost' || true)"
  if [[ -n $skipped ]]; then
    say "FAIL: tests skipped on the bare root (only cuda and multihost tests may skip):"
    echo "$skipped"
    return 1
  fi
  say "command 2: nothing skipped but cuda and multihost tests"
}

if [[ $PHASE == root || $PHASE == all ]]; then
  if new_root as-root root; then
    # Command 1 shortened through its documented pass-through arguments.
    if run_logged root-command1 1800 in_root "$WORK/as-root" root \
         "cd mutrain && bash scripts/quickstart.sh --set train.steps=$STEPS --set train.eval_every=0"; then
      grep -E '^\[train\] (final validation over [0-9]|outputs)' "$WORK/root-command1.log" | tail -n 2
      # The analysis package as docs/analysis.md installs it: a venv with --system-site-packages
      # (Debian's numpy, h5py, pandas, matplotlib), pip install from the clone offline, then
      # `import mutrain_analysis` loads the quickstart run's metrics into a DataFrame.
      run_logged root-analysis 600 in_root "$WORK/as-root" root \
        "cd mutrain && bash scripts/check_analysis_package.sh runs/quickstart" \
        && grep -E '^mutrain_analysis ' "$WORK/root-analysis.log"
      run_logged root-command2 2400 in_root "$WORK/as-root" root "cd mutrain && bash scripts/test.sh" \
        ; check_ctest_summary "$WORK/root-command2.log" || FAILED=$((FAILED + 1))
    fi
    unmount_all "$WORK/as-root"
  else
    say "FAIL: could not make the root phase's root"; FAILED=$((FAILED + 1))
  fi
fi

if [[ $PHASE == sudo || $PHASE == all ]]; then
  if new_root as-user mt; then
    # The harness (not the README) gives the user sudo; everything else is the README's.
    if run_logged sudo-setup 600 in_root "$WORK/as-user" root \
         "apt-get -o Dpkg::Use-Pty=0 update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sudo >/dev/null && echo 'mt ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/mt && chmod 440 /etc/sudoers.d/mt" \
       && run_logged sudo-command1 1800 in_root "$WORK/as-user" mt \
         "cd mutrain && bash scripts/quickstart.sh --set train.steps=$STEPS --set train.eval_every=0"; then
      grep -E '^\[train\] (final validation over [0-9]|outputs)' "$WORK/sudo-command1.log" | tail -n 2
      run_logged sudo-slurm 900 in_root "$WORK/as-user" mt "cd mutrain/build && ctest --output-on-failure -L slurm"
      if ! grep -qE '^100% tests passed, 0 tests failed out of [1-9]' "$WORK/sudo-slurm.log" \
         || grep -q '(Skipped)' "$WORK/sudo-slurm.log"; then
        say "FAIL: the SLURM test did not pass (or skipped) as the sudo user"; FAILED=$((FAILED + 1))
      fi
    fi
    unmount_all "$WORK/as-user"
  else
    say "FAIL: could not make the sudo phase's root"; FAILED=$((FAILED + 1))
  fi
fi

if ((FAILED > 0)); then
  say "$FAILED failure(s); total $(elapsed)"
  exit 1
fi
say "passed: phase $PHASE in $(elapsed)"
