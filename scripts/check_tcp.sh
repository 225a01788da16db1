#!/bin/sh
# check_tcp.sh -H HOST -p PORT [-t TIMEOUT]
# check_tcp.sh HOST PORT [TIMEOUT]          (the older positional form)
#
# Health check in the monitoring-plugins manner: OK as soon as a TCP connection to
# HOST:PORT opens (then closed at once: a server that keeps it open, like an HTTP
# port waiting for a request, does not hold the check), CRITICAL when it is refused
# or does not open within TIMEOUT seconds (default 2; fractions allowed). HOST may
# be a name, an IPv4 or an IPv6 address. Needs bash (its /dev/tcp) and timeout
# (coreutils), both on every Debian system.
#
# Exit codes: 0 OK; 2 CRITICAL (refused, unreachable or timed out); 3 UNKNOWN (usage,
# a port outside 1..65535 included).
# vrrpd and Keepalived count every non-zero exit as a failure.
# Example: command: /usr/share/vrrpd/scripts/check_tcp.sh -H 127.0.0.1 -p 6379 -t 1
set -u
usage() {
    echo "usage: $0 -H HOST -p PORT [-t TIMEOUT]  (or: $0 HOST PORT [TIMEOUT])" >&2
    exit 3
}
host='' port='' timeout=2
case ${1-} in
    -*)
        while [ $# -gt 0 ]; do
            [ $# -ge 2 ] || usage
            case $1 in
                -H) host=$2 ;;
                -p) port=$2 ;;
                -t) timeout=$2 ;;
                *) usage ;;
            esac
            shift 2
        done
        ;;
    *)
        if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi
        host=$1 port=$2 timeout=${3:-2}
        ;;
esac
[ -n "$host" ] || usage
case $port in '' | *[!0-9]*) usage ;; esac
# a port no connection can use (0, or beyond 65535) is a usage error, not a dead service
if [ "${#port}" -gt 5 ] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then usage; fi
case $timeout in '' | *[!0-9.]*) usage ;; esac
# bash opens the connection and exits at once, which closes it; $0 and $1 are bash's.
# shellcheck disable=SC2016
if timeout "$timeout" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null; then
    echo "TCP OK: $host:$port accepted the connection"
    exit 0
fi
echo "TCP CRITICAL: cannot connect to $host:$port within ${timeout}s"
exit 2
