#!/bin/sh
# check_haproxy.sh -b BACKEND [-m MIN_UP] [-s SOCKET] [-t TIMEOUT]
#
# Health check in the monitoring-plugins manner for a node in front of HAProxy: asks
# HAProxy's stats socket (`show stat`) how many servers of BACKEND are UP (a server
# without health checks, "no check", counts as up: HAProxy sends it traffic).
#   -b BACKEND  the backend's name in haproxy.cfg
#   -m MIN_UP   how many servers must be up (default 1)
#   -s SOCKET   HAProxy's stats socket (default /run/haproxy/admin.sock, Debian's);
#               the check's user must be able to connect to it (haproxy.cfg's
#               `stats socket ... mode`/`group`, or scripts.NAME.user)
#   -t TIMEOUT  seconds to wait for HAProxy (default 2)
# Needs python3 (a dependency of vrrpd) to talk to the UNIX socket; nothing else.
#
# Exit codes: 0 OK (at least MIN_UP up); 1 WARNING (some up, fewer than MIN_UP);
# 2 CRITICAL (none up, or HAProxy does not answer: it is down); 3 UNKNOWN (usage,
# or no backend of that name). vrrpd and Keepalived count every non-zero exit as a
# failure.
# Example: command: /usr/share/vrrpd/scripts/check_haproxy.sh -b web -m 2
set -u
usage() {
    echo "usage: $0 -b BACKEND [-m MIN_UP] [-s SOCKET] [-t TIMEOUT]" >&2
    exit 3
}
backend='' min=1 socket=/run/haproxy/admin.sock timeout=2
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case $1 in
        -b) backend=$2 ;;
        -m) min=$2 ;;
        -s) socket=$2 ;;
        -t) timeout=$2 ;;
        *) usage ;;
    esac
    shift 2
done
[ -n "$backend" ] || usage
case $min in '' | *[!0-9]*) usage ;; esac
case $timeout in '' | *[!0-9.]*) usage ;; esac
# HAProxy answers one command and closes the connection.
stats=$(python3 -c '
import socket, sys
try:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(float(sys.argv[2]))
        sock.connect(sys.argv[1])
        sock.sendall(b"show stat\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
except OSError as error:
    sys.exit(f"{sys.argv[1]}: {error.strerror or error}")
sys.stdout.write(b"".join(chunks).decode(errors="replace"))
' "$socket" "$timeout" 2>&1) || {
    echo "HAPROXY CRITICAL: no answer from HAProxy: $stats"
    exit 2
}
# CSV under a "# pxname,svname,..." header; the proxy's own rows are FRONTEND/BACKEND.
counts=$(printf '%s\n' "$stats" | awk -F, -v b="$backend" '
    BEGIN { col = 18 }
    /^# / { sub(/^# /, ""); for (i = 1; i <= NF; i++) if ($i == "status") col = i; next }
    $1 == b { seen = 1 }
    $1 == b && $2 != "FRONTEND" && $2 != "BACKEND" {
        total++
        if ($col ~ /^UP/ || $col == "no check") { up++ }
    }
    END { if (seen) print up + 0, total + 0 }')
if [ -z "$counts" ]; then
    echo "HAPROXY UNKNOWN: HAProxy has no backend named $backend"
    exit 3
fi
up=${counts% *}
total=${counts#* }
if [ "$up" -ge "$min" ]; then
    echo "HAPROXY OK: $up of $total servers up in $backend (at least $min wanted)"
    exit 0
fi
if [ "$up" -gt 0 ]; then
    echo "HAPROXY WARNING: only $up of $total servers up in $backend (at least $min wanted)"
    exit 1
fi
echo "HAPROXY CRITICAL: no server up in $backend ($total configured)"
exit 2
