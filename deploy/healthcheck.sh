#!/bin/bash
# The container's health check: GET a path (default /healthz) of the local seatd and
# succeed on 200. Plain bash (/dev/tcp), so the runtime image needs no curl.
# Usage: seatd-healthcheck [PATH]; SEATD_HEALTH_PORT overrides the port (default 8080).
set -u
port="${SEATD_HEALTH_PORT:-8080}"
path="${1:-/healthz}"
exec 3<>"/dev/tcp/127.0.0.1/${port}" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$path" >&3 || exit 1
IFS= read -r -t 5 status_line <&3 || exit 1
[[ $status_line == HTTP/1.?" 200 "* ]]
