#!/bin/sh
# check_file.sh PATH
#
# Maintenance switch: fails while PATH exists, so `touch PATH` drains the node
# (its priority drops, or it goes to FAULT with weight 0) and `rm PATH` brings it back.
#
# Exit codes: 0 no maintenance file; 1 maintenance file present; 2 usage error.
set -u
if [ $# -ne 1 ]; then
    echo "usage: $0 PATH" >&2
    exit 2
fi
if [ -e "$1" ]; then
    echo "maintenance file $1 present" >&2
    exit 1
fi
exit 0
