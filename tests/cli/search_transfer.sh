#!/bin/bash
# Random search (`mutrain sweep --sample ... --trials N`), its SLURM twin (`mutrain submit --sweep`
# with sample:/trials:) and `mutrain transfer`: the trials' values reach the runs' configs, are
# the same draws in both and on a rerun, and transfer picks the point with the lowest mean
# validation loss over seeds (computed here from the runs' summary.yaml files) and trains it at
# other widths.
source "$(dirname "$0")/common.inc"
command -v python3 >/dev/null && python3 -c "import yaml" 2>/dev/null \
  || skip "python3 with yaml (python3-yaml) is needed to read the runs' configs"
make_text "$TMP/text"
make_config "$TMP/base.yaml"
cd "$TMP"
SAMPLES=(--sample optimizer.adamw.lr=log:1e-3:3e-2 --sample parametrization.input_mult=choice:0.5,1,2)
"$MUTRAIN" sweep base.yaml --set name=search --set parametrization.type=mup --out runs --trials 3 \
  "${SAMPLES[@]}" --grid seed=1,2 > search.log 2>&1 || fail "the random search failed: $(tail -3 search.log)"
for t in 000 001 002; do
  for s in 1 2; do
    [[ -f runs/sweeps/search/trial${t}_seed$s/summary.yaml ]] || fail "trial${t}_seed$s did not run"
  done
done
[[ $(wc -l < runs/sweeps/search/trials.tsv) == 4 ]] || fail "trials.tsv should hold a header and 3 trials"

# Every run's config holds its trial's values; the three trials differ.
python3 - "$TMP/runs/sweeps/search" <<'PY' || fail "trial values do not reach the runs' configs"
import csv, os, sys, yaml
d = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(d, "trials.tsv")), delimiter="\t"))
assert [r["trial"] for r in rows] == ["trial000", "trial001", "trial002"], rows
lrs = set()
for r in rows:
    lr = float(r["optimizer.adamw.lr"])
    assert 1e-3 <= lr <= 3e-2, lr
    assert r["parametrization.input_mult"] in ("0.5", "1", "2"), r
    lrs.add(lr)
    for s in (1, 2):
        c = yaml.safe_load(open(os.path.join(d, f"{r['trial']}_seed{s}", "config.yaml")))
        assert c["seed"] == s, c["seed"]
        assert c["optimizer"]["adamw"]["lr"] == lr, (c["optimizer"]["adamw"]["lr"], lr)
        assert float(c["parametrization"]["input_mult"]) == float(r["parametrization.input_mult"])
assert len(lrs) == 3, lrs
PY

# The same draws on a rerun with more trials (the first three unchanged), other draws with another
# search seed.
"$MUTRAIN" sweep base.yaml --set name=more --set train.steps=1 --set schedule.name=constant \
  --out runs --trials 5 "${SAMPLES[@]}" --grid seed=1 > more.log 2>&1 || fail "rerun failed"
[[ "$(head -4 runs/sweeps/more/trials.tsv)" == "$(cat runs/sweeps/search/trials.tsv)" ]] \
  || fail "5 trials do not start with the same 3 draws"
"$MUTRAIN" sweep base.yaml --set name=other --set train.steps=1 --out runs --trials 3 \
  --search-seed 9 "${SAMPLES[@]}" --grid seed=1 > other.log 2>&1 || fail "search seed 9 failed"
[[ "$(cut -f2 runs/sweeps/other/trials.tsv)" != "$(cut -f2 runs/sweeps/search/trials.tsv)" ]] \
  || fail "another search seed drew the same learning rates"

# The SLURM twin draws the same trials.
cat > spec.yaml <<YAML
base: $TMP/base.yaml
name: search_slurm
sample: {optimizer.adamw.lr: "log:1e-3:3e-2", parametrization.input_mult: "choice:0.5,1,2"}
trials: 3
grid: {seed: [1, 2]}
YAML
"$MUTRAIN" submit spec.yaml --sweep --dry-run --out runs > submit.log 2>&1 || fail "submit --sweep failed: $(tail -3 submit.log)"
[[ $(wc -l < runs/sweeps/search_slurm/list.txt) == 6 ]] || fail "submit should write 6 configs"
python3 - "$TMP/runs" <<'PY' || fail "submit --sweep drew other trial values than sweep"
import csv, os, sys, yaml
d = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(d, "sweeps", "search", "trials.tsv")), delimiter="\t"))
listed = open(os.path.join(d, "sweeps", "search_slurm", "list.txt")).read().split()
for i in range(6):  # trial slowest, seed fastest; frozen in each run's folder
    frozen = os.path.join(d, f"search_slurm_{i:03d}", "submitted.yaml")
    assert listed[i] == frozen, (listed[i], frozen)
    c = yaml.safe_load(open(frozen))
    r = rows[i // 2]
    assert c["optimizer"]["adamw"]["lr"] == float(r["optimizer.adamw.lr"]), (i, c, r)
    assert float(c["parametrization"]["input_mult"]) == float(r["parametrization.input_mult"])
    assert c["seed"] == 1 + i % 2
PY

# transfer: the best trial by mean val_loss over the two seeds, computed here.
BEST=$(python3 - "$TMP/runs/sweeps/search" <<'PY'
import os, sys, yaml
d = sys.argv[1]
means = {}
for t in ("trial000", "trial001", "trial002"):
    v = [yaml.safe_load(open(os.path.join(d, f"{t}_seed{s}", "summary.yaml")))["val_loss"] for s in (1, 2)]
    means[t] = sum(v) / 2
print(min(means, key=means.get))
PY
)
"$MUTRAIN" transfer runs/sweeps/search --out runs --widths 16,32 --grid seed=1,2 > transfer.log 2>&1 \
  || fail "transfer failed: $(tail -3 transfer.log)"
grep -q "^best: $BEST " transfer.log || fail "transfer did not pick $BEST: $(grep best: transfer.log)"
python3 - "$TMP/runs/sweeps" "$BEST" <<'PY' || fail "the transferred runs do not carry the best trial's values"
import os, sys, yaml
d, best = sys.argv[1], sys.argv[2]
won = yaml.safe_load(open(os.path.join(d, "search", f"{best}_seed1", "config.yaml")))
b = yaml.safe_load(open(os.path.join(d, "search", "best.yaml")))
assert b["optimizer"] == won["optimizer"] and b["parametrization"] == won["parametrization"], b
for w in (16, 32):
    for s in (1, 2):
        run = os.path.join(d, "search_transfer", f"width{w}_seed{s}")
        c = yaml.safe_load(open(os.path.join(run, "config.yaml")))
        assert c["model"]["width"] == w and c["seed"] == s, c
        assert c["optimizer"]["adamw"]["lr"] == won["optimizer"]["adamw"]["lr"]
        assert c["parametrization"]["input_mult"] == won["parametrization"]["input_mult"]
        assert yaml.safe_load(open(os.path.join(run, "summary.yaml")))["steps_done"] == 4
PY

# Several sweep folders: ranked together (the one-step runs of 'more' all lose), best.yaml in the
# first.
"$MUTRAIN" transfer runs/sweeps/more runs/sweeps/search > multi.log 2>&1 || fail "transfer over two folders failed"
grep -q "^best: $BEST " multi.log || fail "transfer over two folders did not pick $BEST: $(grep best: multi.log)"
grep -q "runs/sweeps/search/${BEST}_seed" runs/sweeps/more/best.yaml || fail "best.yaml does not name the winning run"

# The SLURM array's runs (named search_slurm_000 ...) group by setting too: trained here one by
# one, as the array's tasks would, transfer picks the same trial's values.
while read -r cfg; do
  "$MUTRAIN" train "$cfg" --out slurm_runs > /dev/null 2>&1 || fail "training $cfg failed"
done < runs/sweeps/search_slurm/list.txt
"$MUTRAIN" transfer slurm_runs > slurm_transfer.log 2>&1 || fail "transfer on the array's runs failed"
python3 - "$TMP" "$BEST" <<'PY' || fail "transfer on the array's runs picked another setting"
import os, sys, yaml
d, best = sys.argv[1], sys.argv[2]
won = yaml.safe_load(open(os.path.join(d, "runs/sweeps/search", f"{best}_seed1", "config.yaml")))
b = yaml.safe_load(open(os.path.join(d, "slurm_runs", "best.yaml")))
assert b["optimizer"]["adamw"]["lr"] == won["optimizer"]["adamw"]["lr"], (b["optimizer"], won["optimizer"])
assert b["parametrization"]["input_mult"] == won["parametrization"]["input_mult"]
PY
grep -qE "^ +1 +search_slurm_0[0-9]+ .* 2 " slurm_transfer.log || fail "the best point should average 2 seeds: $(cat slurm_transfer.log)"

# Bad input: exit 2 with the component and the problem named, nothing trained.
expect_exit 2 "needs --trials" -- "$MUTRAIN" sweep base.yaml --out bad --sample optimizer.adamw.lr=log:1e-3:1e-2
expect_exit 2 "\[sweep\].*optimizer.adamw.lr.*LO < HI" -- "$MUTRAIN" sweep base.yaml --out bad --trials 2 --sample optimizer.adamw.lr=log:1e-2:1e-3
expect_exit 2 "\[sweep\].*distribution 'gauss'" -- "$MUTRAIN" sweep base.yaml --out bad --trials 2 --sample optimizer.adamw.lr=gauss:0:1
expect_exit 2 "--trials takes" -- "$MUTRAIN" sweep base.yaml --out bad --trials 0 --sample optimizer.adamw.lr=log:1e-3:1e-2
expect_exit 2 "\[transfer\] no sweep folder" -- "$MUTRAIN" transfer runs/sweeps/nothing
mkdir -p runs/sweeps/unfinished/trial000_seed1 && cp runs/sweeps/search/trial000_seed1/config.yaml runs/sweeps/unfinished/trial000_seed1/
expect_exit 2 "\[transfer\] no finished runs" -- "$MUTRAIN" transfer runs/sweeps/unfinished
[[ ! -e bad ]] || fail "a refused sweep wrote into its output folder"
finish
