#!/usr/bin/env bash
# Numbers of the Compose stack: seconds from `up -d` to all healthy, image sizes, and each
# container's resident memory and CPU a minute after the start (after one announcement).
#
#   bash bench/stack_bench.sh          (make bench)
#
# Same setup as tests/e2e/run.sh (local base images, wheelhouse, fake speakers, no
# registry), its own project name; everything is removed at the end.
# Goals: all healthy within 15 s of `up -d` on built images; each Python service under
# 60 MB resident.
# Environment: BENCH_SETTLE (seconds after up before measuring memory, default 60),
# BENCH_ROUNDS (up/down rounds for the time to healthy, default 3).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
E2E_WORK=$(mktemp -d /tmp/mhv-bench.XXXXXX)
E2E_PROJECT=${E2E_PROJECT:-mhvbench$$}
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

SETTLE=${BENCH_SETTLE:-60}
ROUNDS=${BENCH_ROUNDS:-3}
STARTED=0
FAKE_PID=""
GOALS_MISSED=0

trap bench_cleanup EXIT
trap 'exit 1' INT TERM

ensure_docker || die "no Docker engine"
detect_compose || die "no compose"
build_base_images || die "base images failed"
build_wheelhouse || die "wheelhouse failed"
e2e_configure
build_stack_images || die "image build failed"
start_fake_speakers
fake_rc=$?
FAKE_PID=$E2E_FAKE_PID
((fake_rc == 0)) || die "fake speakers did not start"
echo active >"$E2E_WORK/idle-state/idle-state"

echo "== images"
printf '%-44s %6s MB\n' "$E2E_SONOS_IMAGE" "$(image_size_mb "$E2E_SONOS_IMAGE")"
printf '%-44s %6s MB\n' "$E2E_IDLE_IMAGE" "$(image_size_mb "$E2E_IDLE_IMAGE")"
printf '%-44s %6s MB\n' "$MOSQUITTO_TAG (test broker base)" "$(image_size_mb "$MOSQUITTO_TAG")"
printf '%-44s %6s MB\n' "$AUDIO_TAG (bridge base)" "$(image_size_mb "$AUDIO_TAG")"
printf '%-44s %6s MB\n' "$PYTHON_TAG (reporter base)" "$(image_size_mb "$PYTHON_TAG")"

echo "== seconds from 'up -d' to all four healthy (fresh volumes, then restarts with volumes)"
STARTED=1
worst=0
for ((round = 1; round <= ROUNDS; round++)); do
    t0=$(now)
    compose up -d >"$E2E_WORK/up.log" 2>&1 || die "up failed: $(tail -n 5 "$E2E_WORK/up.log")"
    if ! wait_healthy 120 mosquitto mosquitto_queue sonos_bridge idle_reporter; then
        die "not healthy within 120 s (round $round)"
    fi
    took=$(elapsed "$t0")
    printf 'round %d: %s s\n' "$round" "$took"
    worst=$(awk -v a="$worst" -v b="$took" 'BEGIN { print (b > a) ? b : a }')
    if ((round < ROUNDS)); then
        compose down -t 10 >/dev/null 2>&1
    fi
done
up_at=$t0
goal=$(awk -v w="$worst" 'BEGIN { print (w <= 15) ? "met" : "MISSED" }')
[[ $goal == met ]] || GOALS_MISSED=1
echo "worst: $worst s (goal 15 s: $goal)"

# One announcement, so the bridge's memory includes a synthesis and a playback.
E2E_HA_PW=$(stack_ha_password) || die "make ha-password failed"
mosquitto_pub -h 127.0.0.1 -p "$E2E_MQTT_PORT" -u homeassistant -P "$E2E_HA_PW" -q 1 \
    -t sonos/tts/Kitchen -m 'Benchmark announcement' || say "TTS publish failed"
remaining=$(awk -v s="$SETTLE" -v t="$(elapsed "$up_at")" 'BEGIN { r = s - t; print (r > 0) ? int(r + 0.5) : 0 }')
say "settling ${remaining} s before measuring memory"
sleep "$remaining"

echo "== a minute after 'up -d': resident memory per process (RSS, of it anonymous), CPU"
for service in mosquitto mosquitto_queue sonos_bridge idle_reporter; do
    id=$(container_of "$service")
    stats=$(docker stats --no-stream --format 'cgroup {{.MemUsage}}, cpu {{.CPUPerc}}' "$id" 2>/dev/null)
    echo "$service ($stats)"
    main_rss=""
    total=0
    # docker top prints host pids: /proc/<pid>/status tells anonymous from file-backed pages.
    while read -r pid rss args; do
        anon=$(awk '/^RssAnon:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null)
        printf '    %6.1f MB (anon %5s MB)  %s\n' "$(awk -v r="$rss" 'BEGIN { print r / 1024 }')" \
            "${anon:-?}" "${args:0:100}"
        total=$((total + rss))
        if [[ -z "$main_rss" && "$args" == *python* ]]; then
            main_rss=$(awk -v r="$rss" 'BEGIN { printf "%.1f", r / 1024 }')
        fi
    done < <(docker top "$id" -eo pid,rss,args 2>/dev/null | awk 'NR > 1')
    printf '    total %.1f MB' "$(awk -v r="$total" 'BEGIN { print r / 1024 }')"
    if [[ -n "$main_rss" ]]; then
        verdict=$(awk -v r="$main_rss" 'BEGIN { print (r < 60) ? "met" : "MISSED" }')
        [[ $verdict == met ]] || GOALS_MISSED=1
        printf '; Python service %s MB (goal < 60 MB: %s)' "$main_rss" "$verdict"
    fi
    echo
done

echo "== health check cost (duration of the last checks)"
for service in mosquitto mosquitto_queue sonos_bridge idle_reporter; do
    id=$(container_of "$service")
    durations=$(docker inspect -f '{{range .State.Health.Log}}{{.End.Sub .Start}} {{end}}' "$id")
    interval=$(docker inspect -f '{{if .Config.Healthcheck}}{{.Config.Healthcheck.Interval}}{{end}}' "$id")
    printf '%-14s every %s: %s\n' "$service" "${interval:-?}" "$durations"
done

if ((GOALS_MISSED)); then
    echo "goals: some MISSED"
else
    echo "goals: all met"
fi
