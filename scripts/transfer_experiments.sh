#!/usr/bin/env bash
# The µTransfer experiments of docs/mup.md (issue 19), end to end: (a) the MNIST MLP, widths
# 128..2048; (b) the byte-level GPT on SOTU, widths 128..1024, AdamW and Muon on the hidden
# matrices; (c) depth transfer on the GPT. Each: the standard parametrization with its lr tuned at
# every width (2 seeds), and µP with every per-role hyperparameter tuned by random search at the
# base width and transferred (2 seeds per width). The base-width tuning has three stages, and
# transfer takes the best point of all three (mean over 2 seeds): a wide random search of the lr and
# every per-role multiplier, the lr alone on a grid (multipliers 1), and a narrow random search
# (every multiplier within 2x of 1, the lr within 2x of stage 2's best). About 3 hours on 2 cores.
#   bash scripts/transfer_experiments.sh [OUT]     (default runs/transfer)
# then the reports (printed by the end of this script):
#   python3 tools/transfer.py --compare OUT/sweeps/mlp_sp OUT/sweeps/mlp_mup_transfer ...
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
M="${MUTRAIN:-$SRC/build/mutrain}"
OUT="${1:-runs/transfer}"
cd "$SRC"
S="$OUT/sweeps"
# init: normal (N(0, 1/fan_in)) as docs/mup.md measured it, before sp's default became init: torch
SP=(--set parametrization.type=sp --set parametrization.attn_scale=inv_sqrt_d
    --set parametrization.init=normal)
# Per-role hyperparameters searched at the base width (docs/mup.md "Per-role hyperparameters").
ROLES=(--sample parametrization.lr_mult.output=log:0.1:10
       --sample parametrization.lr_mult.vector=log:0.1:10
       --sample parametrization.input_mult=log:0.2:5
       --sample parametrization.output_mult=log:0.2:5
       --sample parametrization.init_std_mult.input=log:0.3:3
       --sample parametrization.init_std_mult.hidden=log:0.3:3)

best() {  # best DIR_GLOB: the lr with the lowest mean val_loss over the runs matching the glob
  /usr/bin/python3 - "$1" <<'PY'
import collections, glob, math, os, re, sys, yaml
d = collections.defaultdict(list)
for run in glob.glob(sys.argv[1]):  # a run without a finished summary counts as diverged
    steps = yaml.safe_load(open(os.path.join(run, "config.yaml")))["train"]["steps"]
    f = os.path.join(run, "summary.yaml")
    s = yaml.safe_load(open(f)) if os.path.exists(f) else {}
    ok = s.get("steps_done") == steps and math.isfinite(s.get("val_loss", math.inf))
    d[re.search(r"(?:^|_)lr([^_]+)_", os.path.basename(run)).group(1)].append(s["val_loss"] if ok else math.inf)
print(min(d, key=lambda k: sum(d[k]) / len(d[k])))
PY
}
half() { /usr/bin/python3 -c "print($1 / 2)"; }
twice() { /usr/bin/python3 -c "print($1 * 2)"; }
# Stage 2 of the µP tuning: every multiplier within 2x of 1, around the best lr of stage 1.
NARROW=()
for k in lr_mult.input lr_mult.output lr_mult.vector input_mult output_mult init_std_mult.input \
         init_std_mult.hidden; do
  NARROW+=(--sample "parametrization.$k=log:0.5:2")
done

# (a) MNIST MLP (configs/transfer_mlp.yaml: depth 3, AdamW, constant lr, 1000 steps of 64).
# (the lrs far above a width's optimum are left out at 1024 and 2048, where runs are longest)
MLP_SP=(configs/transfer_mlp.yaml --set name=mlp_sp "${SP[@]}" --out "$OUT" --grid seed=0,1)
"$M" sweep "${MLP_SP[@]}" --widths 128,256,512 \
  --grid optimizer.adamw.lr=0.0000625,0.000125,0.00025,0.0005,0.001,0.002
"$M" sweep "${MLP_SP[@]}" --widths 1024 --grid optimizer.adamw.lr=0.0000625,0.000125,0.00025,0.0005,0.001
"$M" sweep "${MLP_SP[@]}" --widths 2048 --grid optimizer.adamw.lr=0.0000625,0.000125,0.00025,0.0005
"$M" sweep configs/transfer_mlp.yaml --set name=mlp_mup_search --out "$OUT" --trials 48 \
  --sample optimizer.adamw.lr=log:3e-4:1e-2 --sample parametrization.lr_mult.input=log:0.03:3 \
  "${ROLES[@]}" --grid seed=0,1
"$M" sweep configs/transfer_mlp.yaml --set name=mlp_mup_lr --out "$OUT" \
  --grid optimizer.adamw.lr=0.00025,0.0005,0.001,0.002,0.004,0.008 --grid seed=0,1
B=$(best "$S/mlp_mup_lr/lr*_seed*")
"$M" sweep configs/transfer_mlp.yaml --set name=mlp_mup_narrow --out "$OUT" --trials 16 --search-seed 1 \
  --sample optimizer.adamw.lr=log:$(half "$B"):$(twice "$B") "${NARROW[@]}" --grid seed=0,1
"$M" transfer "$S/mlp_mup_narrow" "$S/mlp_mup_lr" "$S/mlp_mup_search" --name mlp_mup_transfer \
  --out "$OUT" --widths 128,256,512,1024,2048 --grid seed=0,1

# (b) GPT (configs/transfer_gpt.yaml: depth 2, 4 heads, context 64, 200 steps of 16, bf16).
# (at width 1024 the lrs past 0.004 were left out: the loss rises steeply from 0.002; 0.0007 added
# between the two best)
"$M" sweep configs/transfer_gpt.yaml --set name=gpt_adamw_sp "${SP[@]}" --out "$OUT" \
  --widths 128,256,512 --grid optimizer.adamw.lr=0.0005,0.001,0.002,0.004,0.008,0.016 \
  --grid seed=0,1
"$M" sweep configs/transfer_gpt.yaml --set name=gpt_adamw_sp "${SP[@]}" --out "$OUT" \
  --widths 1024 --grid optimizer.adamw.lr=0.0005,0.0007,0.001,0.002,0.004 --grid seed=0,1
GPT_ROLES=(--sample optimizer.adamw.lr=log:1e-3:3e-2 --sample parametrization.lr_mult.input=log:0.1:10
           "${ROLES[@]}" --sample parametrization.query_zero_init=choice:true,false)
QZ=(--sample parametrization.query_zero_init=choice:true,false)
val() {  # val BEST_YAML KEY: a dotted key of a config (1 when absent: a multiplier's default)
  /usr/bin/python3 -c "
import sys, yaml
v = yaml.safe_load(open(sys.argv[1]))
for k in sys.argv[2].split('.'):
    v = v.get(k, 1) if isinstance(v, dict) else v
print(v)" "$1" "$2"
}
around() { echo "log:$(half "$1"):$(twice "$1")"; }
"$M" sweep configs/transfer_gpt.yaml --set name=gpt_adamw_mup_search --out "$OUT" --trials 32 \
  "${GPT_ROLES[@]}" --grid seed=0,1
# stage 1: the lr with attention 1/d_head (attn_mult 1) and with 1/sqrt(d_head) at the base width
# (attn_mult sqrt(32))
"$M" sweep configs/transfer_gpt.yaml --set name=gpt_adamw_mup_lr --out "$OUT" \
  --grid parametrization.attn_mult=1,5.657 --grid optimizer.adamw.lr=0.002,0.004,0.008,0.016,0.032 \
  --grid seed=0,1
"$M" transfer "$S/gpt_adamw_mup_lr"
B1="$S/gpt_adamw_mup_lr/best.yaml"
"$M" sweep configs/transfer_gpt.yaml --set name=gpt_adamw_mup_narrow --out "$OUT" --trials 16 \
  --search-seed 1 --sample optimizer.adamw.lr=$(around "$(val "$B1" optimizer.adamw.lr)") \
  --sample parametrization.attn_mult=$(around "$(val "$B1" parametrization.attn_mult)") \
  "${NARROW[@]}" "${QZ[@]}" --grid seed=0,1
"$M" transfer "$S/gpt_adamw_mup_narrow" "$S/gpt_adamw_mup_lr" "$S/gpt_adamw_mup_search" \
  --name gpt_adamw_mup_transfer --out "$OUT" --widths 128,256,512,1024 --grid seed=0,1
A=$(val "$S/gpt_adamw_mup_narrow/best.yaml" optimizer.adamw.lr)
MUON=(--set optimizer.groups.hidden=muon)
"$M" sweep configs/transfer_gpt.yaml --set name=gpt_muon_mup_search "${MUON[@]}" --out "$OUT" \
  --trials 32 --sample optimizer.muon.lr=log:0.005:0.2 "${GPT_ROLES[@]}" --grid seed=0,1
"$M" sweep configs/transfer_gpt.yaml --set name=gpt_muon_mup_lr "${MUON[@]}" --set optimizer.adamw.lr="$A" \
  --out "$OUT" --grid parametrization.attn_mult=1,5.657 --grid optimizer.muon.lr=0.01,0.02,0.04,0.08 \
  --grid seed=0,1
"$M" transfer "$S/gpt_muon_mup_lr" "$S/gpt_muon_mup_search"
B1="$S/gpt_muon_mup_lr/best.yaml"
"$M" sweep configs/transfer_gpt.yaml --set name=gpt_muon_mup_narrow "${MUON[@]}" --out "$OUT" --trials 16 \
  --search-seed 1 --sample optimizer.muon.lr=$(around "$(val "$B1" optimizer.muon.lr)") \
  --sample optimizer.adamw.lr=$(around "$(val "$B1" optimizer.adamw.lr)") \
  --sample parametrization.attn_mult=$(around "$(val "$B1" parametrization.attn_mult)") \
  "${NARROW[@]}" "${QZ[@]}" --grid seed=0,1
"$M" transfer "$S/gpt_muon_mup_narrow" "$S/gpt_muon_mup_lr" "$S/gpt_muon_mup_search" \
  --name gpt_muon_mup_transfer --out "$OUT" --widths 128,256,512,1024 --grid seed=0,1
# SP with Muon: per width, AdamW (embeddings, readout, vectors) at SP-AdamW's tuned lr of that
# width and the Muon lr on a grid (at 1024, to fit these machines: the best at 512 and half of it).
mkdir -p "$S/gpt_muon_sp"
for W in 128 256 512 1024; do
  GRID=0.01,0.02,0.04,0.08
  if [[ $W == 1024 ]]; then
    B=$(best "$S/gpt_muon_sp_w512/width512_lr*_seed*")
    GRID=$(/usr/bin/python3 -c "b=$B; print(','.join(repr(x) for x in (b/2, b)))")
  fi
  "$M" sweep configs/transfer_gpt.yaml --set name=gpt_muon_sp_w$W "${SP[@]}" \
    --set optimizer.groups.hidden=muon --set optimizer.adamw.lr="$(best "$S/gpt_adamw_sp/width${W}_lr*_seed*")" \
    --out "$OUT" --widths $W --grid optimizer.muon.lr=$GRID --grid seed=0,1
  ln -sfn "$(realpath "$S/gpt_muon_sp_w$W")"/* "$S/gpt_muon_sp/"
done

# (c) Depth transfer (configs/transfer_gpt_depth.yaml: width 128, CompleteP with base depth 2,
# against µP in width only).
for A in 1 0; do
  "$M" sweep configs/transfer_gpt_depth.yaml --set name=gpt_depth_alpha$A \
    --set parametrization.depth_alpha=$A --out "$OUT" --grid model.depth=2,4,8 \
    --grid optimizer.adamw.lr=0.002,0.004,0.008,0.016,0.032 --grid seed=0,1
done

T="/usr/bin/python3 tools/transfer.py"
$T --compare "$S/mlp_sp" "$S/mlp_mup_transfer"
$T --compare "$S/gpt_adamw_sp" "$S/gpt_adamw_mup_transfer"
$T --compare "$S/gpt_muon_sp" "$S/gpt_muon_mup_transfer"
$T "$S/gpt_depth_alpha1" --across depth
$T "$S/gpt_depth_alpha0" --across depth
