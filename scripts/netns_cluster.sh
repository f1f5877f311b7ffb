#!/usr/bin/env bash
# Several "hosts" on one machine as Linux network namespaces, for real multi-host MPI runs over
# TCP (docs/scaling.md "Multi-host runs on one machine"). Needs root (or sudo) and iproute2.
#
#   scripts/netns_cluster.sh up N [RATE DELAY]   namespaces mthost1..N, 10.77.0.1..N on a bridge
#                                                 (mtbr0, 10.77.0.254 in the root namespace); each
#                                                 host's link shaped by netem (default 1gbit, 0.5ms
#                                                 each way; tbf, rate only, where the kernel has no
#                                                 netem); prints the hosts
#   scripts/netns_cluster.sh down                 removes every mthost namespace and the bridge
#   scripts/netns_cluster.sh agent HOST CMD...    Open MPI's rsh launch agent: runs CMD inside the
#                                                 namespace whose address is HOST
#   scripts/netns_cluster.sh link HOST up|down    takes a host's link down (a failed host) or up
#   scripts/netns_cluster.sh mpirun NP ARGS...    mpirun across the hosts (NP ranks, round robin),
#                                                 TCP only (no shared memory between "hosts");
#                                                 waiting ranks yield the CPU (the "hosts" share
#                                                 this machine's cores: busy-polling ranks would
#                                                 take them from the ranks still computing)
set -uo pipefail
SELF="$(realpath "$0")"
SUDO=""
[[ $(id -u) == 0 ]] || SUDO="sudo -n"
NET=10.77.0
BR=mtbr0

hosts() { ip netns list 2>/dev/null | awk '/^mthost[0-9]+/ {print $1}' | sort -V; }

case "${1:-}" in
  up)
    n="${2:?usage: netns_cluster.sh up N [RATE DELAY]}"
    rate="${3:-1gbit}"
    delay="${4:-0.5ms}"
    "$SELF" down >/dev/null 2>&1
    $SUDO ip link add "$BR" type bridge || exit 1
    $SUDO ip addr add "$NET.254/24" dev "$BR"
    $SUDO ip link set "$BR" up
    for i in $(seq 1 "$n"); do
      ns="mthost$i"
      $SUDO ip netns add "$ns" || exit 1
      $SUDO ip link add "mtv$i" type veth peer name eth0 netns "$ns" || exit 1
      $SUDO ip link set "mtv$i" master "$BR" up
      $SUDO ip -n "$ns" addr add "$NET.$i/24" dev eth0
      $SUDO ip -n "$ns" link set eth0 up
      $SUDO ip -n "$ns" link set lo up
      # the host's outgoing traffic shaped (both directions are: every byte leaves some host):
      # netem (rate and delay) where the kernel has it, else tbf (rate only)
      if ! $SUDO ip netns exec "$ns" tc qdisc add dev eth0 root netem rate "$rate" delay "$delay" \
        2>/dev/null; then
        $SUDO ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate "$rate" burst 256kb \
          latency 100ms || echo "[netns] tc unavailable: $ns unshaped" >&2
        ((i == 1)) && echo "[netns] no netem in this kernel: links shaped to $rate, no added delay" >&2
      fi
      echo "$NET.$i"
    done
    ;;
  down)
    for ns in $(hosts); do
      # processes left in a host (an orted whose launcher could not reach it) go with it
      pids="$($SUDO ip netns pids "$ns" 2>/dev/null)"
      [[ -n $pids ]] && $SUDO kill -9 $pids 2>/dev/null
      $SUDO ip netns del "$ns"
    done
    for link in $(ip -o link show 2>/dev/null | awk -F': ' '$2 ~ /^mtv[0-9]+@/ {sub(/@.*/, "", $2); print $2}'); do
      $SUDO ip link del "$link" 2>/dev/null
    done
    $SUDO ip link del "$BR" 2>/dev/null
    true
    ;;
  agent)
    # Open MPI runs: AGENT [options] HOST COMMAND...; skip ssh-style options it may pass
    shift
    while [[ ${1:-} == -* ]]; do shift; done
    host="$1"
    shift
    i="${host##*.}"
    [[ $host == "$NET".* && -n $i ]] || { echo "[netns] unknown host '$host'" >&2; exit 1; }
    exec $SUDO ip netns exec "mthost$i" /bin/sh -c "$*"
    ;;
  link)
    host="${2:?}"
    i="${host##*.}"
    $SUDO ip link set "mtv$i" "${3:?up|down}"
    ;;
  mpirun)
    np="${2:?usage: netns_cluster.sh mpirun NP ARGS...}"
    shift 2
    list=""
    for ns in $(hosts); do list+="${list:+,}$NET.${ns#mthost}:64"; done
    [[ -n $list ]] || { echo "[netns] no hosts: run 'netns_cluster.sh up N' first" >&2; exit 1; }
    exec env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
      mpirun --mca plm_rsh_agent "$SELF agent" --mca btl tcp,self --mca pml ob1 --mca rtc ^hwloc \
      --mca mpi_yield_when_idle 1 \
      --mca btl_tcp_if_include "$NET.0/24" --mca oob_tcp_if_include "$NET.0/24" \
      --host "$list" --map-by node -np "$np" "$@"
    ;;
  *)
    sed -n '2,16p' "$SELF"
    exit 2
    ;;
esac
