#!/usr/bin/env bash
# The analysis package installed with pip into a fresh venv (scripts/check_analysis_package.sh, the
# commands of docs/analysis.md and the fresh-machine check) loads a tiny real run's metrics.
# usage: analysis_package.sh <mutrain binary> <source dir>
source "$(dirname "$0")/../cli/common.inc"
make_text "$TMP/text"
make_config "$TMP/tiny.yaml"
"$MUTRAIN" train "$TMP/tiny.yaml" --out "$TMP/runs" > "$TMP/train.log" 2>&1 ||
  { fail "tiny run failed: $(tail -3 "$TMP/train.log")"; finish; }
bash "$SRC/scripts/check_analysis_package.sh" "$TMP/runs/tiny"
rc=$?
[[ $rc == 77 ]] && exit 77
[[ $rc == 0 ]] || fail "scripts/check_analysis_package.sh exited $rc"
finish
