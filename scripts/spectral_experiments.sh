#!/usr/bin/env bash
# The spectral-condition experiment of docs/spectral.md (issue 20): the byte-level GPT of
# configs/spectral_gpt.yaml at widths 128, 256, 512, 1024 (one seed each, 200 steps, statistics
# every 5 steps), four variants:
#   spectral_sp_adamw         standard parametrization, AdamW everywhere, lr 0.004 at every width
#                             (the lr tuned at width 128-256 by docs/mup.md's SP sweep; 0.008, the
#                             best at 128, diverges at 1024)
#   spectral_mup_muon         µP, Muon with update-level control (adjust_lr: spectral)
#   spectral_mup_muon_rescale + weight control rescale (||W||_2 <= sqrt(d_out/d_in) after each step)
#   spectral_mup_muon_retract + weight control retract (W <- sqrt(d_out/d_in) msign(W))
# About 35 minutes on 2 cores. Then the report:
#   /usr/bin/python3 tools/spectral_report.py OUT/sweeps/spectral_sp_adamw \
#       OUT/sweeps/spectral_mup_muon OUT/sweeps/spectral_mup_muon_rescale \
#       OUT/sweeps/spectral_mup_muon_retract --out OUT/spectral.png
#   bash scripts/spectral_experiments.sh [OUT] [WIDTHS]     (defaults runs/spectral, 128,256,512,1024)
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
M="${MUTRAIN:-$SRC/build/mutrain}"
OUT="${1:-runs/spectral}"
WIDTHS="${2:-128,256,512,1024}"
cd "$SRC"
C=(configs/spectral_gpt.yaml --widths "$WIDTHS" --out "$OUT")
# init: normal (N(0, 1/fan_in)) as docs/spectral.md measured it, before sp's default became torch
SP=(--set parametrization.type=sp --set parametrization.init=normal
    --set parametrization.attn_scale=inv_sqrt_d
    --set parametrization.attn_mult=1 --set parametrization.input_mult=1
    --set parametrization.output_mult=1 --set parametrization.lr_mult.input=1
    --set parametrization.lr_mult.output=1 --set parametrization.lr_mult.vector=1
    --set parametrization.init_std_mult.input=1 --set parametrization.init_std_mult.hidden=1
    --set optimizer.groups.hidden=adamw --set optimizer.adamw.lr=0.004)
"$M" sweep "${C[@]}" --set name=spectral_sp_adamw "${SP[@]}"
"$M" sweep "${C[@]}" --set name=spectral_mup_muon
"$M" sweep "${C[@]}" --set name=spectral_mup_muon_rescale --set optimizer.muon.weight_control=rescale
"$M" sweep "${C[@]}" --set name=spectral_mup_muon_retract --set optimizer.muon.weight_control=retract
S="$OUT/sweeps"
/usr/bin/python3 tools/spectral_report.py "$S/spectral_sp_adamw" "$S/spectral_mup_muon" \
  "$S/spectral_mup_muon_rescale" "$S/spectral_mup_muon_retract" --out "$OUT/spectral.png"
