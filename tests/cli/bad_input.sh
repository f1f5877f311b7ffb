#!/usr/bin/env bash
# Bad input gets a "[component] message" naming the problem and exit code 2, never a crash.
source "$(dirname "$0")/common.inc"
make_text "$TMP/text"
C="$TMP/good.yaml"
make_config "$C"
cd "$TMP"

expect_exit 2 '^\[config\] .*no/such.yaml' -- "$MUTRAIN" train no/such.yaml
expect_exit 2 '^\[cli\] unknown option' -- "$MUTRAIN" train "$C" --bogus
expect_exit 2 '^\[cli\] .*CONFIG' -- "$MUTRAIN" train
expect_exit 2 '^\[cli\] unknown command' -- "$MUTRAIN" trian "$C"
# unknown key, with its path and file line
cp "$C" k.yaml && echo "trian: {steps: 3}" >> k.yaml
expect_exit 2 "^\[config\] unknown key 'trian'.*line 10" -- "$MUTRAIN" train k.yaml
expect_exit 2 "^\[config\] .*model.widht" -- "$MUTRAIN" train "$C" --set model.widht=32
# wrong type
expect_exit 2 "^\[config\] .*train.steps" -- "$MUTRAIN" train "$C" --set train.steps=many
expect_exit 2 "^\[config\] .*model.width" -- "$MUTRAIN" train "$C" --set model.width=[1,2]
# unknown model / optimizer / dataset list the known names
expect_exit 2 "^\[model\] unknown 'gtp'.*known: .*gpt.*mlp" -- "$MUTRAIN" train "$C" --set model.name=gtp
expect_exit 2 "^\[optimizer\] unknown 'muonn'.*known: adamw, muon, sgd" -- "$MUTRAIN" train "$C" --set optimizer.groups.hidden=muonn
expect_exit 2 "^\[data\] unknown 'txt'.*known:.*text" -- "$MUTRAIN" train "$C" --set data.name=txt
# missing data says how to install it
expect_exit 2 "^\[data\] .*install_data.sh" -- "$MUTRAIN" train "$C" --set data.path=$TMP/nowhere
expect_exit 2 "^\[data\] .*install_data.sh" -- "$MUTRAIN" train "$C" --set data.name=mnist --set model.name=mlp --set data.path=$TMP/nowhere
# out-of-range values
expect_exit 2 "^\[config\] .*optimizer.muon.lr" -- "$MUTRAIN" train "$C" --set optimizer.muon.lr=-0.1
expect_exit 2 "^\[config\] .*optimizer.adamw.lr" -- "$MUTRAIN" train "$C" --set optimizer.adamw.lr=-1
expect_exit 2 "^\[config\] .*train.batch_size" -- "$MUTRAIN" train "$C" --set train.batch_size=0
expect_exit 2 "^\[config\] .*model.heads" -- "$MUTRAIN" train "$C" --set model.heads=3
expect_exit 2 "^\[config\] .*schedule.name" -- "$MUTRAIN" train "$C" --set schedule.name=cosin
# malformed YAML
printf 'model: {name: gpt\n' > broken.yaml
expect_exit 2 "^\[config\] " -- "$MUTRAIN" train broken.yaml
[[ ! -e runs ]] || fail "a failed start created run outputs"
finish
