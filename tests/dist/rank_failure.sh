#!/usr/bin/env bash
# A rank failure ends every rank within seconds with the reason printed once, never a hang:
# a config error seen by all ranks, bad input seen by one rank only, and a rank killed mid-run.
source "$(dirname "$0")/../cli/common.inc"
MPIRUN="$3"
make_text "$TMP/text"
C="$TMP/good.yaml"
make_config "$C"
cd "$TMP"
MPI=("$MPIRUN" --oversubscribe)

# 1. the same config error on every rank: exit 2, one message
out="$(timeout 60 "${MPI[@]}" -np 2 "$MUTRAIN" train "$C" --set train.steps=abc 2>&1)"
rc=$?
[[ $rc == 2 ]] || fail "config error under mpirun: exit $rc, expected 2: $out"
n=$(grep -c "^\[config\] .*train.steps" <<<"$out")
[[ $n == 1 ]] || fail "config error printed $n times, expected once: $out"

# 2. bad input on rank 1 only (its data directory is missing); rank 0 waits in a collective
cp "$C" bad.yaml && sed -i "s#path: $TMP/text#path: $TMP/missing#" bad.yaml
start=$SECONDS
out="$(timeout 60 "${MPI[@]}" -np 2 bash -c \
  "if [ \"\$OMPI_COMM_WORLD_RANK\" = 1 ]; then exec $MUTRAIN train bad.yaml; else exec $MUTRAIN train $C --set train.steps=100000; fi" 2>&1)"
rc=$?
(( SECONDS - start < 30 )) || fail "one failing rank took $((SECONDS - start)) s to end the run"
[[ $rc != 0 && $rc != 124 ]] || fail "one failing rank: exit $rc (124 = hang until timeout)"
n=$(grep -c "^\[data\] .*install_data.sh" <<<"$out")
[[ $n == 1 ]] || fail "data error printed $n times, expected once: $out"

# 3. a rank killed mid-run (SIGKILL): mpirun ends the others
timeout 120 "${MPI[@]}" -np 4 "$MUTRAIN" train "$C" --set train.steps=10000000 --set train.log_every=1 \
  --set name=killme --out "$TMP/runs" > kill.log 2>&1 &
launcher=$!
for _ in $(seq 1 300); do grep -q "^step" kill.log 2>/dev/null && break; sleep 0.1; done
grep -q "^step" kill.log || fail "the 4-rank run never logged a step: $(tail -5 kill.log)"
victim="$(pgrep -P "$(pgrep -P $launcher -f mpirun || echo $launcher)" -f mutrain | sed -n 2p)"
[[ -n "$victim" ]] || victim="$(pgrep -f "name=killme" | grep -v "^$launcher$" | tail -1)"
t0=$(date +%s.%N)
kill -9 "$victim"
wait $launcher
rc=$?
took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "killed rank: every rank gone after ${took} s"
# issue 7: every rank exits within 10 s of one rank's death
awk -v t="$took" 'BEGIN { exit !(t < 10) }' || fail "killed rank: the others took ${took} s to end (limit 10 s)"
[[ $rc != 0 && $rc != 124 ]] || fail "killed rank: exit $rc (124 = hang until timeout)"
sleep 1
left=$(pgrep -f "name=killme" | wc -l)
[[ $left == 0 ]] || fail "$left mutrain processes still alive after a rank was killed"
# 4. a rank that stops answering (SIGSTOP: alive, its connections open, as a host cut off from
#    the network): dist.timeout_s ends every rank, with the reason once
timeout 120 "${MPI[@]}" -np 2 "$MUTRAIN" train "$C" --set train.steps=10000000 --set train.log_every=1 \
  --set name=stopme --set dist.timeout_s=3 --out "$TMP/runs" > stop.log 2>&1 &
launcher=$!
for _ in $(seq 1 300); do grep -q "^step" stop.log 2>/dev/null && break; sleep 0.1; done
victim="$(pgrep -f "^$MUTRAIN train .*name=stopme" | sed -n 2p)"
[[ -n "$victim" ]] || fail "stopped rank: no second rank found: $(tail -3 stop.log)"
t0=$SECONDS
kill -STOP "$victim"
wait $launcher
rc=$?
took=$((SECONDS - t0))
echo "stopped rank: every rank gone after ${took} s"
((took <= 20)) || fail "stopped rank: the run took ${took} s to end (dist.timeout_s 3)"
[[ $rc != 0 && $rc != 124 ]] || fail "stopped rank: exit $rc (124 = hang until timeout)"
n=$(grep -c "^\[dist\] rank .* is gone" stop.log)
[[ $n == 1 ]] || fail "stopped rank: the reason was printed $n times, expected once: $(tail -5 stop.log)"
kill -9 "$victim" 2>/dev/null
finish
