#!/bin/sh
# check_process.sh NAME
#
# Health check: succeeds while at least one process whose name is exactly NAME
# runs (as pidof matches it, e.g. nginx, haproxy).
#
# Exit codes: 0 running; 1 not running; 2 usage error.
set -u
if [ $# -ne 1 ]; then
    echo "usage: $0 NAME" >&2
    exit 2
fi
if pidof "$1" >/dev/null 2>&1; then
    exit 0
fi
echo "no process named $1" >&2
exit 1
