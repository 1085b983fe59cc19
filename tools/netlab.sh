#!/usr/bin/env bash
# The network lab: several "hosts" (network namespaces) joined by a bridge that lives in a
# namespace of its own, so nothing we send can leave the machine. Each host hN has eth0 with
# 10.99.0.N/24 and fd99::N/64; optional real kernel packet loss with nftables on the group port.
#
#   netlab.sh check                         exit 0 if the lab can run here, else print why, exit 1
#   netlab.sh up LAB N [LOSS%] [PORT]       create LAB-sw and LAB-h1..LAB-hN (loss on udp dport PORT)
#   netlab.sh loss LAB HOST PCT PORT        set (PCT>0) or clear (PCT=0) loss on one host
#   netlab.sh exec LAB HOST CMD...          run CMD inside host HOST (a number)
#   netlab.sh down LAB                      kill what runs in LAB, delete its namespaces
#   netlab.sh run [-n N] [-loss P] [-port PORT] -- CMD...
#                                           up, run CMD with NETLAB=LAB in its environment, down
#                                           (always, even when CMD fails or is interrupted)
# Needs root, iproute2 and nftables (only for loss). Host addresses: 10.99.0.N, fd99::N.
set -euo pipefail

die() { echo "netlab: $*" >&2; exit 1; }

check() {
  [ "$(id -u)" = 0 ] || { echo "netlab: needs root (ip netns)"; return 1; }
  command -v ip >/dev/null || { echo "netlab: iproute2 (ip) is not installed"; return 1; }
  command -v nft >/dev/null || { echo "netlab: nftables (nft) is not installed"; return 1; }
  local probe="netlab-probe-$$"
  if ! ip netns add "$probe" 2>/dev/null; then echo "netlab: cannot create network namespaces here"; return 1; fi
  ip netns del "$probe"
  return 0
}

set_loss() { # LAB HOST PCT PORT
  local ns="$1-h$2" pct="$3" port="$4"
  ip netns exec "$ns" nft delete table inet netlab 2>/dev/null || true
  [ "$pct" -gt 0 ] || return 0
  # Drop PCT% of the group's UDP datagrams arriving at this host, independently per host.
  ip netns exec "$ns" nft -f - <<EOF
table inet netlab {
  chain input {
    type filter hook input priority 0; policy accept;
    udp dport $port numgen random mod 100 < $pct counter drop
  }
}
EOF
}

up() { # LAB N [LOSS] [PORT]
  local lab="$1" n="$2" loss="${3:-0}" port="${4:-8421}"
  [ "$n" -ge 1 ] && [ "$n" -le 200 ] || die "number of hosts must be 1-200"
  local sw="$lab-sw"
  ip netns add "$sw"
  ip -n "$sw" link set lo up
  ip -n "$sw" link add sw type bridge
  # No IGMP/MLD snooping: every port of the bridge sees every multicast datagram.
  ip -n "$sw" link set sw type bridge mcast_snooping 0
  ip -n "$sw" link set sw up
  for i in $(seq 1 "$n"); do
    local h="$lab-h$i"
    ip netns add "$h"
    ip -n "$sw" link add "v$i" type veth peer name eth0 netns "$h"
    ip -n "$sw" link set "v$i" master sw up
    ip -n "$h" link set lo up
    ip -n "$h" addr add "10.99.0.$i/24" dev eth0
    ip -n "$h" addr add "fd99::$i/64" dev eth0 nodad
    ip -n "$h" link set eth0 up
    ip -n "$h" route add 224.0.0.0/4 dev eth0
    set_loss "$lab" "$i" "$loss" "$port"
  done
}

down() { # LAB
  local lab="$1" ns pids
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^${lab}-(sw|h[0-9]+)$" || true); do
    # Programs still running in a host would keep its namespace alive, unnamed: end them first.
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
}

cmd="${1:-}"
shift || true
case "$cmd" in
  check) check ;;
  up) [ $# -ge 2 ] || die "usage: up LAB N [LOSS%] [PORT]"; up "$@" ;;
  loss) [ $# -eq 4 ] || die "usage: loss LAB HOST PCT PORT"; set_loss "$@" ;;
  exec) [ $# -ge 3 ] || die "usage: exec LAB HOST CMD..."; lab="$1" host="$2"; shift 2; exec ip netns exec "$lab-h$host" "$@" ;;
  down) [ $# -eq 1 ] || die "usage: down LAB"; down "$1" ;;
  run)
    n=3 loss=0 port=8421
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
      case "$1" in
        -n) n="$2"; shift 2 ;;
        -loss) loss="$2"; shift 2 ;;
        -port) port="$2"; shift 2 ;;
        *) die "unknown option $1" ;;
      esac
    done
    [ "${1:-}" = "--" ] && shift
    [ $# -ge 1 ] || die "usage: run [-n N] [-loss P] [-port PORT] -- CMD..."
    check >/dev/null || { check; exit 1; }
    lab="netlab$$"
    trap 'down "$lab"' EXIT
    trap 'exit 130' INT TERM
    up "$lab" "$n" "$loss" "$port"
    NETLAB="$lab" "$@"
    ;;
  *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; [ -z "$cmd" ] || exit 2 ;;
esac
