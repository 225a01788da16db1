#!/bin/sh
# check_http.sh -H HOST [-I ADDRESS] [-p PORT] [-u URI] [-t TIMEOUT] [-e EXPECT]
#               [-w SECONDS] [-S] [-k] [--sni NAME]
# check_http.sh URL [EXPECTED_STATUS] [TIMEOUT]        (the older positional form)
#
# Health check in the monitoring-plugins manner: GET http(s)://HOST:PORT/URI, sending
# HOST as the Host header, and compare the status with EXPECT (default 200).
#   -H HOST     the virtual host: Host header, and where to connect unless -I
#   -I ADDRESS  connect to ADDRESS instead (HOST still the Host header and TLS name)
#   -p PORT     default 80, or 443 with -S
#   -u URI      default /
#   -t TIMEOUT  seconds for the whole request (default 2; fractions allowed)
#   -e EXPECT   the status that is healthy (default 200)
#   -w SECONDS  WARNING when the answer is right but slower than this
#   -S          https; the certificate must be valid for the TLS name unless -k
#   -k          accept any certificate (self-signed, expired, another name)
#   --sni NAME  the TLS server name (SNI, and the name the certificate must match)
# Needs curl (a Recommends of the vrrpd package).
#
# Exit codes: 0 OK; 1 WARNING (right status, slower than -w); 2 CRITICAL (wrong
# status, no answer, TLS failure); 3 UNKNOWN (usage, a -p outside 1..65535, or curl
# missing).
# vrrpd and Keepalived count every non-zero exit as a failure.
# Example: command: /usr/share/vrrpd/scripts/check_http.sh -H 127.0.0.1 -u /health -t 1
set -u
usage() {
    echo "usage: $0 -H HOST [-I ADDRESS] [-p PORT] [-u URI] [-t TIMEOUT] [-e EXPECT]" \
        "[-w SECONDS] [-S] [-k] [--sni NAME]  (or: $0 URL [EXPECTED_STATUS] [TIMEOUT])" >&2
    exit 3
}
bracket() {
    case $1 in *:*) echo "[$1]" ;; *) echo "$1" ;; esac
}
host='' address='' port='' uri=/ timeout=2 expected=200 warning='' tls='' insecure='' sni=''
url=''
case ${1-} in
    '' | -*)
        while [ $# -gt 0 ]; do
            case $1 in
                -S) tls=1; shift; continue ;;
                -k) insecure=1; shift; continue ;;
            esac
            [ $# -ge 2 ] || usage
            case $1 in
                -H) host=$2 ;;
                -I) address=$2 ;;
                -p) port=$2 ;;
                -u) uri=$2 ;;
                -t) timeout=$2 ;;
                -e) expected=$2 ;;
                -w) warning=$2 ;;
                --sni) sni=$2 ;;
                *) usage ;;
            esac
            shift 2
        done
        [ -n "$host" ] || usage
        ;;
    *)
        if [ $# -gt 3 ]; then usage; fi
        url=$1 expected=${2:-200} timeout=${3:-2}
        ;;
esac
case $timeout in '' | *[!0-9.]*) usage ;; esac
case $expected in '' | *[!0-9]*) usage ;; esac
case $warning in *[!0-9.]*) usage ;; esac
command -v curl >/dev/null 2>&1 || {
    echo "HTTP UNKNOWN: curl is missing (apt-get install curl)"
    exit 3
}
set -- --silent --output /dev/null --max-time "$timeout" \
    --write-out '%{http_code} %{time_total} %{errormsg}'
if [ -z "$url" ]; then
    case $port in
        '') if [ -n "$tls" ]; then port=443; else port=80; fi ;;
        *[!0-9]*) usage ;;
    esac
    # a port no connection can use is a usage error (UNKNOWN), not a dead service
    if [ "${#port}" -gt 5 ] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then usage; fi
    case $uri in /*) ;; *) uri=/$uri ;; esac
    scheme=http
    if [ -n "$tls" ]; then scheme=https; fi
    name=${sni:-$host}
    target=${address:-$host}
    # The URL names the TLS name (curl sends it as SNI and checks the certificate
    # against it); --connect-to sends the connection where it belongs; the Host
    # header is the virtual host.
    url="$scheme://$(bracket "$name"):$port$uri"
    shown=$(bracket "$host")
    case $scheme:$port in http:80 | https:443) ;; *) shown=$shown:$port ;; esac
    set -- "$@" --header "Host: $shown" \
        --connect-to "$(bracket "$name"):$port:$(bracket "$target"):$port"
fi
if [ -n "$insecure" ]; then set -- "$@" --insecure; fi
answer=$(curl "$@" "$url") || true
status=${answer%% *}
rest=${answer#* }
took=${rest%% *}
why=${rest#"$took"}
why=${why# }
if [ "$status" != "$expected" ]; then
    if [ -z "$status" ] || [ "$status" = 000 ]; then
        echo "HTTP CRITICAL: $url: no answer (${why:-nothing within ${timeout}s})"
    else
        echo "HTTP CRITICAL: $url answered $status, expected $expected"
    fi
    exit 2
fi
if [ -n "$warning" ] && awk -v t="$took" -v w="$warning" 'BEGIN { exit !(t > w) }'; then
    echo "HTTP WARNING: $url answered $status in ${took}s, slower than ${warning}s"
    exit 1
fi
echo "HTTP OK: $url answered $status in ${took}s"
exit 0
