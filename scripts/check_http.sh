#!/bin/sh
# check_http.sh URL [EXPECTED_STATUS] [TIMEOUT]
#
# Health check for vrrpd (or Keepalived's vrrp_script): succeeds when an HTTP GET
# of URL answers EXPECTED_STATUS (default 200) within TIMEOUT seconds (default 2).
#
# Exit codes: 0 healthy; 1 wrong status or no answer; 2 usage error.
# Example: command: /usr/share/vrrpd/scripts/check_http.sh http://127.0.0.1/health 200 1
set -u
if [ $# -lt 1 ] || [ $# -gt 3 ]; then
    echo "usage: $0 URL [EXPECTED_STATUS] [TIMEOUT]" >&2
    exit 2
fi
url=$1
expected=${2:-200}
timeout=${3:-2}
status=$(curl --silent --output /dev/null --max-time "$timeout" --write-out '%{http_code}' "$url")
if [ "$status" = "$expected" ]; then
    exit 0
fi
echo "$url answered ${status:-nothing}, expected $expected" >&2
exit 1
