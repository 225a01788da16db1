#!/bin/sh
# notify_log.sh [INSTANCE|GROUP NAME STATE PRIORITY]
#
# Notify hook: appends one JSON line per transition to $VRRPD_NOTIFY_LOG
# (default /var/log/vrrpd/transitions.jsonl). Works as vrrpd's `any` hook (which
# passes Keepalived's arguments) and reads vrrpd's VRRPD_* environment.
#
# Exit codes: 0 written; 1 the log could not be written.
set -u
log=${VRRPD_NOTIFY_LOG:-/var/log/vrrpd/transitions.jsonl}
kind=${1:-INSTANCE}
name=${2:-${VRRPD_INSTANCE:-}}
state=${3:-${VRRPD_STATE:-}}
priority=${4:-${VRRPD_PRIORITY:-}}
# JSON-escape backslashes and double quotes in free text.
escape() {
    printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
}
mkdir -p "$(dirname "$log")" 2>/dev/null
printf '{"time":"%s","sequence":"%s","type":"%s","name":"%s","state":"%s","priority":"%s","vrid":"%s","interface":"%s","vips":"%s","reason":"%s"}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(escape "${VRRPD_SEQUENCE:-}")" "$(escape "$kind")" "$(escape "$name")" "$(escape "$state")" \
    "$(escape "$priority")" "$(escape "${VRRPD_VRID:-}")" "$(escape "${VRRPD_INTERFACE:-}")" \
    "$(escape "${VRRPD_VIPS:-}")" "$(escape "${VRRPD_REASON:-}")" >>"$log" || exit 1
exit 0
