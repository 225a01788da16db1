#!/bin/sh
# check_bgp.sh [-f ipv4|ipv6] [-n NEIGHBOR] [-s VTY_SOCKET_DIR] [-t TIMEOUT] [-u MIN_UPTIME]
#
# Health check for `announce: bgp` (docs/bgp.md): OK when FRR's bgpd has its sessions
# Established (every neighbour of the address family, default ipv4, or only NEIGHBOR):
# use -f ipv6 for IPv6 VIPs; CRITICAL otherwise. A
# node whose own route cannot reach the router must not become MASTER: track this
# check with weight 0 (FAULT while it fails), and a restarted node stays out until its
# session is up instead of taking the VIP into a blackhole. A session counts once it
# has been up MIN_UPTIME seconds (default 2): a margin for the first UPDATEs of a new
# session to be exchanged before this node takes the VIP. Reads
# `vtysh -c 'show bgp summary json'` (run as a user in the frrvty group, or root);
# parses it with python3, which the vrrpd package already depends on. vtysh's asides
# before the JSON (a member of frrvty other than frr is told on stderr that vtysh.conf
# cannot be read) are skipped.
#
# Exit codes: 0 OK; 2 CRITICAL (a session not Established, or bgpd unreachable);
# 3 UNKNOWN (usage, or vtysh missing).
# vrrpd and Keepalived count every non-zero exit as a failure.
# Example: command: /usr/share/vrrpd/scripts/check_bgp.sh -n 198.51.100.1 -t 1
set -u
usage() {
    echo "usage: $0 [-f ipv4|ipv6] [-n NEIGHBOR] [-s VTY_SOCKET_DIR] [-t TIMEOUT] [-u MIN_UPTIME]" >&2
    exit 3
}
family=ipv4 neighbor='' socket='' timeout=2 uptime=2
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case $1 in
        -f) family=$2 ;;
        -n) neighbor=$2 ;;
        -s) socket=$2 ;;
        -t) timeout=$2 ;;
        -u) uptime=$2 ;;
        *) usage ;;
    esac
    shift 2
done
case $timeout in '' | *[!0-9.]*) usage ;; esac
case $uptime in '' | *[!0-9.]*) usage ;; esac
case $family in ipv4 | ipv6) ;; *) usage ;; esac
command -v vtysh >/dev/null 2>&1 || {
    echo "BGP UNKNOWN: vtysh not found (apt-get install frr)"
    exit 3
}
if [ -n "$socket" ]; then
    out=$(timeout "$timeout" vtysh --vty_socket "$socket" -c 'show bgp summary json' 2>&1)
else
    out=$(timeout "$timeout" vtysh -c 'show bgp summary json' 2>&1)
fi || {
    echo "BGP CRITICAL: vtysh failed: $out" | head -n 1
    exit 2
}
# shellcheck disable=SC2016
printf '%s' "$out" | python3 -c '
import json, sys
want, least, family = sys.argv[1], float(sys.argv[2]) * 1000, sys.argv[3]
text = sys.stdin.read()
try:
    summary = json.JSONDecoder().raw_decode(text, max(text.find("{"), 0))[0]
    peers = summary[family + "Unicast"]["peers"]
except (ValueError, KeyError, TypeError):
    print("BGP CRITICAL: no %s unicast BGP instance" % family.replace("ip", "IP"))
    sys.exit(2)
if want:
    peers = {k: v for k, v in peers.items() if k == want}
    if not peers:
        print(f"BGP CRITICAL: no neighbour {want}")
        sys.exit(2)
down = sorted(
    k
    for k, v in peers.items()
    if v.get("state") != "Established" or v.get("peerUptimeMsec", 0) < least
)
names = ", ".join(down) or "no neighbour"
if not peers or down:
    print("BGP CRITICAL: not Established (or up less than %gs): %s" % (least / 1000, names))
    sys.exit(2)
print(f"BGP OK: {len(peers)} session(s) Established")
' "$neighbor" "$uptime" "$family"
