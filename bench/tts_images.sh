#!/usr/bin/env bash
# The two sonos-bridge images side by side: size, build time, and the bridge's resident
# memory idle and after announcements spoken by Piper (piper variant) or espeak-ng (slim).
#
#   bash bench/tts_images.sh          (make bench-stack)
#
# Same setup as tests/e2e/run.sh (local base images, wheelhouse, fake speakers, the real
# broker image); each variant runs with TTS_ENGINES=piper,gtts,espeak (the default), where
# slim leaves piper out and, with no internet here, gTTS fails once and rests. Images get
# their own tags; everything else is removed at the end.
# Environment: BENCH_SETTLE (seconds after healthy before the idle reading, default 10),
# E2E_SPEAKER_NET (loopback /24 of the fake speakers, default 127.0.78: away from e2e's).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
E2E_WORK=$(mktemp -d /tmp/mhv-tts-images.XXXXXX)
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"

SETTLE=${BENCH_SETTLE:-10}
E2E_SPEAKER_NET=${E2E_SPEAKER_NET:-127.0.78}
# Own tags: the e2e run's images may be in use by a run at the same time.
E2E_IDLE_IMAGE=mqtt-home-voice-bench/idle-reporter:unused
FAKE_PID=""
STARTED=0

trap bench_cleanup EXIT
trap 'exit 1' INT TERM

# RSS in MB of the bridge's Python process (host pid from `docker top`).
bridge_rss() {
    docker top "$(container_of sonos_bridge)" -eo pid,rss,args 2>/dev/null |
        awk 'NR > 1 && $3 ~ /python/ { printf "%.1f", $2 / 1024; exit }'
}

# announce <id> <text>: publish and wait for its `played` result.
announce() {
    local out
    out=$(mosquitto_sub -h 127.0.0.1 -p "$E2E_MQTT_PORT" -u homeassistant -P "$E2E_HA_PW" \
        -t sonos/result -C 1 -W 60 -F '%p' &
        sleep 0.5
        mosquitto_pub -h 127.0.0.1 -p "$E2E_MQTT_PORT" -u homeassistant -P "$E2E_HA_PW" -q 1 \
            -t sonos/tts/Kitchen -m "{\"text\": \"$2\", \"id\": \"$1\"}"
        wait)
    grep -q '"played"' <<<"$out" || say "announcement $1 not played: $out"
    sed -n 's/.*"latency_ms": *\([0-9]*\).*/\1/p' <<<"$out"
}

measure_variant() {
    local variant=$1 started
    E2E_VARIANT=$variant
    E2E_SONOS_IMAGE="mqtt-home-voice-bench/sonos-bridge:$variant"
    E2E_PROJECT="mhvtts$variant$$"
    write_env_file
    started=$(now)
    compose build sonos_bridge >"$E2E_WORK/build.log" 2>&1 ||
        die "build of $variant failed: $(tail -n 20 "$E2E_WORK/build.log")"
    local built
    built=$(elapsed "$started")
    STARTED=1
    compose up -d mosquitto sonos_bridge >"$E2E_WORK/up.log" 2>&1 || die "up failed: $(tail -n 5 "$E2E_WORK/up.log")"
    wait_healthy 120 mosquitto sonos_bridge || die "$variant not healthy"
    sleep "$SETTLE"
    local idle first second
    idle=$(bridge_rss)
    first=$(announce "$variant-1" "Dinner is ready")
    second=$(announce "$variant-2" "The washing machine has finished and the laundry is ready to hang up.")
    printf '%-6s image %4s MB, built in %5s s; bridge RSS idle %6s MB, after two announcements %6s MB (latency %s ms, %s ms)\n' \
        "$variant" "$(image_size_mb "$E2E_SONOS_IMAGE")" "$built" "$idle" "$(bridge_rss)" \
        "$first" "$second"
    compose down -v --remove-orphans -t 10 >/dev/null 2>&1
    STARTED=0
}

ensure_docker || die "no Docker engine"
detect_compose || die "no compose"
build_base_images || die "base images failed"
build_wheelhouse || die "wheelhouse failed"
E2E_TTS_ENGINES=piper,gtts,espeak
e2e_configure
start_fake_speakers
fake_rc=$?
FAKE_PID=$E2E_FAKE_PID
((fake_rc == 0)) || die "fake speakers did not start"
for variant in slim piper; do measure_variant "$variant"; done
