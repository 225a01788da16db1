#!/bin/sh
# check_file.sh PATH
#
# Maintenance switch: fails while PATH exists, so `touch PATH` drains the node
# (its priority drops, or it goes to FAULT with weight 0) and `rm PATH` brings it back.
#
# Exit codes: 0 OK (no maintenance file); 2 CRITICAL (maintenance file present);
# 3 UNKNOWN (usage), as the monitoring plugins and the other check_*.sh. One line on
# stdout says why.
set -u
if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 PATH" >&2
    exit 3
fi
if [ -e "$1" ]; then
    echo "FILE CRITICAL: maintenance file $1 present"
    exit 2
fi
echo "FILE OK: no maintenance file $1"
exit 0
