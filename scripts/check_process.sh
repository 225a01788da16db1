#!/bin/sh
# check_process.sh NAME
#
# Health check: succeeds while at least one process whose name is exactly NAME
# runs (as pidof matches it, e.g. nginx, haproxy).
#
# Exit codes: 0 OK (running); 2 CRITICAL (not running); 3 UNKNOWN (usage), as the
# monitoring plugins and the other check_*.sh. One line on stdout says why.
set -u
if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 NAME" >&2
    exit 3
fi
if pidof "$1" >/dev/null 2>&1; then
    echo "PROCESS OK: $1 runs"
    exit 0
fi
echo "PROCESS CRITICAL: no process named $1"
exit 2
