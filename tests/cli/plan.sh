#!/bin/bash
# `mutrain plan`: one row per rank count with the ShardPlan's numbers, the traffic of the step
# model (checked here against the ring formula), and bad options refused with exit 2.
source "$(dirname "$0")/common.inc"
make_text "$TMP/text"
make_config "$TMP/tiny.yaml"
cd "$TMP"
out="$("$MUTRAIN" plan tiny.yaml --ranks 1,2,3 --bandwidth 1 --latency 100 2>/dev/null)" ||
  fail "plan failed: $out"
grep -q "^ *ranks .*sequential *overlap-rs *overlap$" <<<"$out" || fail "no table header: $out"
row() { awk -v p="$1" '$1 == p' <<<"$out"; }
[[ -n "$(row 1)" && -n "$(row 2)" ]] || fail "rows for 1 and 2 ranks missing: $out"
grep -q "global batch 4 does not split over 3 ranks" <<<"$out" || fail "3 ranks should be refused for batch 4: $out"
# 1 rank: no traffic, sequential = fwd+bwd + update
read -r _ _ _ fb up _ _ rs ag xr ar seq ovr ovl <<<"$(row 1)"
awk -v rs="$rs" -v ag="$ag" -v s="$seq" -v f="$fb" -v u="$up" -v o="$ovl" -v r="$ovr" \
  -v xr="$xr" 'BEGIN { exit !(rs == 0 && ag == 0 && xr == 0 && (s - f - u) < 0.02 && (s - f - u) > -0.02 && s == o && s == r) }' ||
  fail "1-rank row wrong: $(row 1)"
# 2 ranks at 1 Gbit/s, 100 us: each ring moves half the gradients once: 100 us + (4 N / 2) / 125 MB/s
n=$(awk '/^plan:/ {print $3}' <<<"$out")
read -r _ g _ _ _ _ _ rs _ <<<"$(row 2)"
[[ "$g" == 2 ]] || fail "2 ranks without --shard-group should be one group of 2: $(row 2)"
awk -v rs="$rs" -v n="$n" 'BEGIN { want = 1e3 * (1e-4 + 4 * n / 2 / 1.25e8); d = rs - want;
  exit !(d < 0.01 && d > -0.01) }' || fail "reduce-scatter $rs ms is not the ring formula for $n parameters"
# Shard groups of 2 at 4 ranks: the reduce-scatter over 2 ranks (one round of half the gradients),
# the owned half all-reduced across the 2 groups (2 rounds of a quarter)
out="$("$MUTRAIN" plan tiny.yaml --ranks 2,4 --rows-per-rank 1 --bandwidth 1 --latency 100 \
  --shard-group 2 2>/dev/null)" || fail "plan --shard-group failed: $out"
[[ $(row 4 | awk '{print $2}' | tr '\n' ' ') == "4 2 " ]] || fail "4 ranks: one group, then groups of 2 expected: $(row 4)"
read -r _ g _ _ _ _ _ rs _ xr _ <<<"$(row 4 | awk '$2 == 2')"
awk -v rs="$rs" -v xr="$xr" -v n="$n" 'BEGIN { b = 4 * n / 1.25e8;
  r = 1e3 * (1e-4 + b / 2); x = 1e3 * 2 * (1e-4 + b / 4);
  exit !(rs - r < 0.01 && r - rs < 0.01 && xr - x < 0.01 && x - xr < 0.01) }' ||
  fail "groups of 2 at 4 ranks: reduce-scatter $rs ms, cross reduce $xr ms, not the ring formulas"
out="$("$MUTRAIN" plan tiny.yaml --ranks 4 --rows-per-rank 1 --shard-group auto 2>/dev/null)" ||
  fail "plan --shard-group auto failed: $out"
groups="$(row 4 | awk '{print $2}' | tr '\n' ' ')"
[[ $groups == "4 " || $groups == "4 1 " || $groups == "4 2 " ]] ||
  fail "auto: one group, then at most one other divisor of 4 expected: $(row 4)"
expect_exit 2 "--shard-group" -- "$MUTRAIN" plan tiny.yaml --shard-group 0
expect_exit 2 "--ranks" -- "$MUTRAIN" plan tiny.yaml --ranks 0,2
expect_exit 2 "--bandwidth" -- "$MUTRAIN" plan tiny.yaml --bandwidth fast
expect_exit 2 "unknown option" -- "$MUTRAIN" plan tiny.yaml --nodes 2
finish
