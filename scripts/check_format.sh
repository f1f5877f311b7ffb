#!/usr/bin/env bash
# clang-format check (CI, .ci/run): every tracked C++ source must equal its formatting by the
# committed .clang-format. Prints the files that differ and exits 1 if any; fix with
#   clang-format -i <file>   (or: bash scripts/check_format.sh --fix)
set -uo pipefail
cd "$(dirname "$0")/.."
CF="${CLANG_FORMAT:-clang-format}"
command -v "$CF" > /dev/null || { echo "SKIP: $CF not installed"; exit 77; }
mapfile -t files < <(git ls-files '*.h' '*.cpp' '*.cu' '*.cpp.in')
if [[ "${1:-}" == --fix ]]; then
  "$CF" -i "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! "$CF" --dry-run --Werror "$f" > /dev/null 2>&1; then
    echo "not formatted: $f"
    bad=$((bad + 1))
  fi
done
echo "check_format: $bad of ${#files[@]} files differ from .clang-format ($("$CF" --version | head -1))"
((bad == 0))
