#!/bin/sh
# check_tcp.sh HOST PORT [TIMEOUT]
#
# Health check: succeeds when a TCP connection to HOST:PORT opens within TIMEOUT
# seconds (default 2). Uses curl's telnet:// handler, so nothing else is needed:
# curl reports how long the connection took to open, 0 when it never opened.
#
# Exit codes: 0 connected; 1 refused or timed out; 2 usage error.
set -u
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 HOST PORT [TIMEOUT]" >&2
    exit 2
fi
host=$1
port=$2
timeout=${3:-2}
case $host in
    *:*) target="[$host]" ;;
    *) target=$host ;;
esac
connect=$(curl --silent --output /dev/null --max-time "$timeout" --connect-timeout "$timeout" \
    --write-out '%{time_connect}' "telnet://$target:$port" </dev/null 2>/dev/null)
if awk -v t="${connect:-0}" 'BEGIN { exit !(t > 0) }'; then
    exit 0
fi
echo "cannot connect to $host:$port within ${timeout}s" >&2
exit 1
