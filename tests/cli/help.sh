#!/usr/bin/env bash
# The command line (CLI11, apps/cli_app.cpp): `mutrain CMD --help` and `-h` for every command print
# that command's usage and options (exit 0, stdout); `mutrain help CMD` prints the same; `mutrain
# --version` is `mutrain version`; no command is a usage on stderr with exit 2; options given
# twice, --grid/--widths in command-line order, typed options refused with [cli] and exit 2
# before anything runs; the bash completion script completes commands and each command's options.
source "$(dirname "$0")/common.inc"
make_text "$TMP/text"
C="$TMP/good.yaml"
make_config "$C"
cd "$TMP"

# command -> options its help must list (declared in apps/cli_*.cpp)
declare -A OPTS=(
  [train]="--set --out --resume --allow-change --allow-binary-change --expect-binary"
  [inspect]="--config"
  [submit]="--nodes --tasks-per-node --cpus-per-task --gpus-per-task --signal-seconds --time --partition --set --out --overcommit --sweep --allow-binary-change --dry-run"
  [coord-check]="--widths --depths --steps --seeds --set --out"
  [sweep]="--grid --widths --set --out --sample --trials --search-seed"
  [transfer]="--metric --name --widths --grid --set --out --allow-mixed-revisions"
  [plan]="--ranks --bandwidth --latency --rows-per-rank --shared-cores --shard-group --group-bandwidth --group-latency --set"
  [version]="" [help]="" [completion]=""
)
for cmd in "${!OPTS[@]}"; do
  for flag in --help -h; do
    out="$("$MUTRAIN" "$cmd" "$flag" 2>"$TMP/err")"
    rc=$?
    [[ $rc == 0 ]] || fail "mutrain $cmd $flag -> exit $rc: $(cat "$TMP/err")"
    [[ ! -s $TMP/err ]] || fail "mutrain $cmd $flag wrote to stderr: $(cat "$TMP/err")"
    grep -q "^Usage: mutrain $cmd \[OPTIONS\]" <<<"$out" || fail "mutrain $cmd $flag: no usage line: $out"
    for opt in ${OPTS[$cmd]}; do
      grep -qE -- "^  $opt( |$)" <<<"$out" || fail "mutrain $cmd $flag does not list $opt"
    done
  done
  [[ "$("$MUTRAIN" help "$cmd")" == "$("$MUTRAIN" "$cmd" --help)" ]] ||
    fail "mutrain help $cmd differs from mutrain $cmd --help"
  grep -qE "^  $cmd +[a-zµ]" <<<"$("$MUTRAIN" help)" || fail "mutrain help does not list $cmd"
done
# defaults are shown where an option has one
grep -qE -- '--steps INT=10' <<<"$("$MUTRAIN" coord-check --help)" || fail "coord-check --help: no default of --steps"
grep -qE -- '--out DIR=runs' <<<"$("$MUTRAIN" train --help)" || fail "train --help: no default of --out"

[[ "$("$MUTRAIN" --version)" == "$("$MUTRAIN" version)" ]] || fail "--version differs from version"
grep -q '^mutrain [0-9]' <<<"$("$MUTRAIN" --version)" || fail "--version prints no version line"
out="$("$MUTRAIN" 2>&1 >/dev/null)"
rc=$?
[[ $rc == 2 ]] || fail "mutrain without a command -> exit $rc, expected 2"
grep -q "^Usage: mutrain" <<<"$out" || fail "mutrain without a command: no usage on stderr: $out"
[[ -z "$("$MUTRAIN" 2>/dev/null)" ]] || fail "mutrain without a command wrote to stdout"

expect_exit 2 "^\[cli\] unknown command 'trian'; known: .*train" -- "$MUTRAIN" trian "$C"
expect_exit 2 "^\[cli\] unknown option '--bogus' for sweep; known: --grid, --widths" -- "$MUTRAIN" sweep "$C" --bogus
expect_exit 2 "^\[cli\] unexpected argument 'two.yaml': train takes CONFIG" -- "$MUTRAIN" train "$C" two.yaml
expect_exit 2 "^\[cli\] unknown option '--bogus'; mutrain takes a command" -- "$MUTRAIN" --bogus
expect_exit 2 "^\[cli\] no command 'nope'" -- "$MUTRAIN" help nope
expect_exit 2 "^\[cli\] --steps takes a positive integer, got '0'" -- "$MUTRAIN" coord-check "$C" --widths 16 --steps 0
expect_exit 2 "^\[cli\] --seeds takes a positive integer, got 'two'" -- "$MUTRAIN" coord-check "$C" --widths 16 --seeds two
expect_exit 2 "^\[cli\] --widths takes positive integers separated by commas, got '16,x'" -- "$MUTRAIN" sweep "$C" --widths 16,x
expect_exit 2 "^\[cli\] --metric takes val_loss, val_accuracy or train_loss, got 'loss'" -- "$MUTRAIN" transfer "$TMP" --metric loss
expect_exit 2 "^\[cli\] --nodes takes an integer >= 1, got '0'" -- "$MUTRAIN" submit "$C" --dry-run --nodes 0
expect_exit 2 "^\[cli\] --time needs a SLURM time" -- "$MUTRAIN" submit "$C" --dry-run --time 1h
expect_exit 2 "^\[cli\] --search-seed takes a non-negative integer, got '-1'" -- "$MUTRAIN" sweep "$C" --grid seed=1 --search-seed -1
expect_exit 2 "^\[cli\] CONFIG is required" -- "$MUTRAIN" sweep --grid seed=1
[[ ! -e runs ]] || fail "a refused command line created runs/"

# --grid and --widths axes in command-line order (a refused point name shows it, nothing written)
expect_exit 2 "^\[sweep\] grid point 2 would be named 'width16_lr1/2'" -- \
  "$MUTRAIN" sweep "$C" --widths 16 --grid optimizer.muon.lr=0.02,1/2 --out "$TMP/o"
expect_exit 2 "^\[sweep\] grid point 2 would be named 'lr1/2_width16'" -- \
  "$MUTRAIN" sweep "$C" --grid optimizer.muon.lr=0.02,1/2 --widths 16 --out "$TMP/o"
[[ ! -e $TMP/o ]] || fail "a refused sweep wrote $TMP/o"
# an option given twice: the last counts; --set accumulates
"$MUTRAIN" train "$C" --out "$TMP/first" --out "$TMP/runs" --set train.steps=2 --set name=twice \
  > train.log 2>&1 || fail "train with repeated options failed: $(tail -3 train.log)"
[[ -f $TMP/runs/twice/metrics.h5 && ! -e $TMP/first ]] || fail "--out given twice: the last should count"
grep -q 'steps: 2' "$TMP/runs/twice/config.yaml" || fail "--set train.steps=2 not applied"

# bash completion made from the same declarations
"$MUTRAIN" completion > completion.bash || fail "mutrain completion failed"
complete_words() {  # complete_words WORD...: what completing the last word offers
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mutrain; printf "%s\n" "${COMPREPLY[@]}"' \
    bash "$TMP/completion.bash" "$@"
}
[[ "$(complete_words mutrain sw)" == sweep ]] || fail "completion of 'sw': $(complete_words mutrain sw)"
[[ "$(complete_words mutrain coord-check "$C" --st)" == --steps ]] ||
  fail "completion of coord-check --st: $(complete_words mutrain coord-check "$C" --st)"
[[ "$(complete_words mutrain sweep --gr)" == --grid ]] || fail "completion of sweep --gr"
grep -qx -- --allow-binary-change <<<"$(complete_words mutrain train --allow)" || fail "completion of train --allow"
finish
