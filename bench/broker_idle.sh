#!/usr/bin/env bash
# What an idle stack's brokers write to disk and to their logs per hour, in Docker, with
# the health checks Compose runs (issue 20). Starts only the broker services of
# docker-compose.yml, as it is at a git revision, under a project of its own on loopback
# ports, leaves them idle, and reads each mosquitto process's write_bytes (/proc/<pid>/io)
# and log lines; then removes everything it started.
#
#   bash bench/broker_idle.sh [REV] [SECONDS]     e.g. REV=HEAD~3 for before issue 20
#
# Environment: MOSQUITTO_IMAGE (default: the e2e's local image, else eclipse-mosquitto:2).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REV=${1:-HEAD}
SECONDS_IDLE=${2:-120}
WORK=$(mktemp -d /tmp/broker-idle.XXXXXX)
PROJECT="brokeridle$$"
IMAGE=${MOSQUITTO_IMAGE:-$(docker images -q mqtt-home-voice-e2e/mosquitto:bookworm-1 | grep -q . &&
    echo mqtt-home-voice-e2e/mosquitto:bookworm-1 || echo eclipse-mosquitto:2)}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'; }

cat >"$WORK/.env" <<EOF
MOSQUITTO_IMAGE=$IMAGE
MQTT_BIND=127.0.0.1
MQTT_PORT=$(free_port)
MQTT_QUEUE_PORT=$(free_port)
EOF
git -C "$ROOT" archive "$REV" docker-compose.yml docker-compose.services.yml mosquitto |
    tar -x -C "$WORK"
compose() { docker compose --project-directory "$WORK" -p "$PROJECT" -f "$WORK/docker-compose.yml" "$@"; }
cleanup() { compose down -v -t 10 >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

brokers=$(compose config --services | grep '^mosquitto' | tr '\n' ' ')
# shellcheck disable=SC2086
compose up -d $brokers >"$WORK/up.log" 2>&1 || { tail -n 20 "$WORK/up.log" >&2; exit 1; }

# write_bytes <service>: of its mosquitto process, read from the host through docker top.
write_bytes() {
    local pid
    pid=$(docker top "$(compose ps -q "$1")" -eo pid,comm | awk '$2 == "mosquitto" { print $1 }')
    sed -n 's/^write_bytes: //p' "/proc/$pid/io"
}

deadline=$(($(date +%s) + 90))
for service in $brokers; do
    until [[ "$(docker inspect -f '{{.State.Health.Status}}' "$(compose ps -q "$service")")" == healthy ]]; do
        (($(date +%s) < deadline)) || { echo "$service not healthy" >&2; exit 1; }
        sleep 1
    done
done
sleep 5  # the first saves after the start
declare -A before lines
for service in $brokers; do
    before[$service]=$(write_bytes "$service")
    lines[$service]=$(compose logs --no-color "$service" 2>&1 | wc -l)
done
sleep "$SECONDS_IDLE"
echo "$REV ($(git -C "$ROOT" log -1 --format=%h "$REV")), brokers idle for $SECONDS_IDLE s," \
    "Docker's health checks running:"
for service in $brokers; do
    written=$(($(write_bytes "$service") - before[$service]))
    logged=$(($(compose logs --no-color "$service" 2>&1 | wc -l) - lines[$service]))
    awk -v s="$service" -v w="$written" -v l="$logged" -v t="$SECONDS_IDLE" 'BEGIN {
        printf "  %-16s %8.2f MB/h written, %6.0f log lines/h\n", s, w * 3600 / t / 1e6, l * 3600 / t }'
done
