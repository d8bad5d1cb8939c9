#!/usr/bin/env bash
# End-to-end test of the Compose stack on a machine with Docker and no container registry.
#
#   bash tests/e2e/run.sh          (make e2e)
#
# 1. starts dockerd when no engine answers;
# 2. builds local base images with debootstrap + docker import (cached by tag);
# 3. builds a wheelhouse with the host's Python 3.11 and the stack's images from both;
# 4. starts the stack (own project name, free ports) and fake Sonos speakers on loopback
#    addresses, and checks through the real broker with mosquitto_pub/mosquitto_sub:
#    health and start order, a TTS request played and answered, a request naming the
#    image's Piper voice spoken by Piper (not with E2E_VARIANT=slim), the idle reporter's
#    retained discovery and state, no request lost across a broker restart, requests
#    queued for a killed bridge played after its restart, retained messages kept across
#    `down` + `up`; the zero-edit start (no password given: generated, each service reads
#    only its own, `make ha-password`, none in the logs, kept across `down` + `up`),
#    `sonos-bridge doctor`, and the two services against a separately started broker
#    with users of its own (docker-compose.own-broker.yml);
#    chaos: the broker process SIGKILLed while 20 requests stream in, the bridge's process
#    SIGKILLed mid-announcement, a speaker that vanishes mid-announcement; an S2 speaker
#    that gets its announcement as an audio clip over its untouched music;
# 5. tears everything down (also on failure or Ctrl-C). The last line is `N passed, N failed`.
#
# Needs: docker.io, the compose v2 plugin (`make compose-v2`; or E2E_COMPOSE=docker-compose
# for v1.29), debootstrap,
# mosquitto-clients, and the project's venv (.venv, Python 3.11) for the wheelhouse and the
# fake speakers.
# Environment: E2E_KEEP=1 keeps the stack and work dir for a look afterwards;
# E2E_KEEP_DOCKERD=1 leaves a dockerd started here running; E2E_COMPOSE, E2E_PYTHON,
# E2E_SPEAKER_NET (default 127.0.77), E2E_DEBIAN_MIRROR, E2E_VARIANT (the bridge image:
# auto, piper or slim), E2E_TTS_ENGINES (default espeak,piper).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
E2E_WORK=$(mktemp -d /tmp/mhv-e2e.XXXXXX)
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/lan.sh
source "$ROOT/tests/e2e/lan.sh"
# shellcheck source=tests/e2e/durable.sh
source "$ROOT/tests/e2e/durable.sh"

# pass, fail, check and abort (and the PASSED/FAILED counts) come from lib.sh.
STACK_STARTED=0
FAKE_PID=""
RESULTS_PID=""
SUITE_STARTED=$(now)

dump_logs() {
    say "---- logs of the stack (last 40 lines each) ----"
    local service
    for service in mosquitto mosquitto_queue sonos_bridge idle_reporter; do
        echo "---- $service ----" >&2
        compose logs --no-color --tail=40 "$service" >&2 2>&1 || true
    done
    if [[ -f "$E2E_WORK/speakers.log" ]]; then
        echo "---- fake speakers ----" >&2
        tail -n 30 "$E2E_WORK/speakers.log" >&2
    fi
}

stop_pid() {
    local pid=$1
    [[ -n "$pid" ]] || return 0
    kill "$pid" 2>/dev/null || return 0
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

# The results collector is a loop around mosquitto_sub: a signal to the loop alone would
# leave mosquitto_sub running, an orphan still holding the e2e lock's file descriptor (every
# later `flock /tmp/e2e.lock make e2e` then waits forever). The loop first, then its child.
stop_collector() {
    [[ -n "$RESULTS_PID" ]] || return 0
    local children
    children=$(pgrep -P "$RESULTS_PID" || true)
    disown "$RESULTS_PID" 2>/dev/null || true # no "Killed" line from bash
    kill -9 "$RESULTS_PID" 2>/dev/null || true
    # shellcheck disable=SC2086 # one pid per word
    [[ -z "$children" ]] || kill $children 2>/dev/null || true
}

teardown() {
    local rc=$?
    trap - EXIT INT TERM
    if ((FAILED > 0 && STACK_STARTED)); then
        dump_logs
    fi
    stop_collector
    [[ -n "${E2E_KEEP:-}" ]] || cleanup_own_broker
    stop_pid "$FAKE_PID"
    if [[ -n "${E2E_KEEP:-}" ]]; then
        say "E2E_KEEP set: stack '$E2E_PROJECT' and $E2E_WORK are left in place"
    else
        if ((STACK_STARTED)); then
            compose down -v --remove-orphans -t 10 >"$E2E_WORK/down.log" 2>&1 ||
                { say "compose down failed:"; tail -n 20 "$E2E_WORK/down.log" >&2; }
        fi
        remove_run_images
        stop_own_docker
        rm -rf "$E2E_WORK"
    fi
    if ((FAILED == 0 && rc != 0)); then
        FAILED=1
    fi
    say "finished in $(elapsed "$SUITE_STARTED") s"
    echo "$PASSED passed, $FAILED failed"
    if ((FAILED > 0)); then exit 1; fi
    exit 0
}
trap teardown EXIT
trap 'fail interrupted "signal received"; exit 1' INT TERM

# ---------------------------------------------------------------- MQTT from the host
# As Home Assistant: may publish requests and read everything.
pub() {
    mosquitto_pub -h 127.0.0.1 -p "$E2E_MQTT_PORT" -u homeassistant -P "$E2E_HA_PW" -q 1 "$@"
}

sub() {
    mosquitto_sub -h 127.0.0.1 -p "$E2E_MQTT_PORT" -u homeassistant -P "$E2E_HA_PW" "$@"
}

# Publish, retrying while the broker is unreachable (a client's job during a restart):
# a request counts as sent once the broker acknowledged it (QoS 1).
pub_retry() {
    local deadline=$(($(date +%s) + 40))
    until pub "$@" 2>/dev/null; do
        (($(date +%s) < deadline)) || return 1
        sleep 0.3
    done
}

# Every result of the bridge, collected by a persistent session (QoS 1, fixed client id)
# so results published while this subscriber reconnects are queued for it, not lost. It
# also receives the fences (below) on its own topic, in the same file.
FENCE_TOPIC="reply/e2e-fence"
# The subscriber runs in the background of the loop so that stopping the loop (teardown's
# TERM) stops it too: an orphaned subscriber would live on with the run's file descriptors,
# among them the lock of `flock /tmp/e2e.lock make e2e`, and block every later run.
start_results_collector() {
    (
        subscriber=""
        trap '[[ -n "$subscriber" ]] && kill "$subscriber" 2>/dev/null; exit 0' TERM
        while :; do
            # mosquitto_sub itself (not through `sub`, whose subshell would be what `$!` names).
            mosquitto_sub -h 127.0.0.1 -p "$E2E_MQTT_PORT" -u homeassistant -P "$E2E_HA_PW" \
                -c -i "e2e-results-$E2E_PROJECT" -q 1 -t 'sonos/result' -t "$FENCE_TOPIC" \
                >>"$E2E_WORK/results.jsonl" 2>>"$E2E_WORK/results.err" &
            subscriber=$!
            wait "$subscriber"
            sleep 0.5  # before reconnecting, while the broker restarts
        done
    ) &
    RESULTS_PID=$!
}

# fence: returns once the results collector has received a marker published now, so every
# result the broker routed to it before is in results.jsonl (Mosquitto delivers a
# subscriber's messages in order). The marker goes to `reply/`, which Home Assistant's
# user may write, and is published again each second until it arrives: the first fence
# also confirms that the collector's subscription is in place.
FENCES=0
fence() {
    FENCES=$((FENCES + 1))
    local token="fence-$FENCES-$RANDOM" deadline=$(($(date +%s) + 30)) tries
    until grep -qF "\"$token\"" "$E2E_WORK/results.jsonl" 2>/dev/null; do
        (($(date +%s) < deadline)) || { echo "the results collector never got $token" >&2; return 1; }
        pub_retry -t "$FENCE_TOPIC" -m "{\"e2e_fence\": \"$token\"}" || return 1
        for tries in {1..20}; do
            grep -qF "\"$token\"" "$E2E_WORK/results.jsonl" 2>/dev/null && return 0
            sleep 0.05
        done
    done
}

# new_results <line count before>: the results that arrived since, fences left out.
new_results() {
    tail -n +"$(($1 + 1))" "$E2E_WORK/results.jsonl" | grep -vF '"e2e_fence"' || true
}

# result_field <id> <field>: that field of the (latest) result with that id, or nothing;
# the field `line` is its line number in results.jsonl.
result_field() {
    "$(e2e_python)" - "$E2E_WORK/results.jsonl" "$1" "$2" <<'EOF'
import json, sys
found = ""
with open(sys.argv[1], encoding="utf-8", errors="replace") as results:
    for number, line in enumerate(results, 1):
        try:
            result = json.loads(line)
        except ValueError:
            continue
        if isinstance(result, dict) and result.get("id") == sys.argv[2]:
            found = number if sys.argv[3] == "line" else result.get(sys.argv[3], "")
print(found)
EOF
}

# result_status <id>: the status of the (latest) result with that id, or nothing.
result_status() { result_field "$1" status; }

# wait_results <timeout-s> <id...>: 0 when every id has a `played` result; else prints
# what is missing.
wait_results() {
    local timeout=$1
    shift
    local deadline=$(($(date +%s) + timeout)) id missing status final
    while :; do
        missing=()
        final=0
        for id in "$@"; do
            status=$(result_status "$id")
            [[ "$status" == played ]] || missing+=("$id")
            # One result per request: a failed or expired one will not turn into played.
            [[ "$status" == failed || "$status" == expired ]] && final=1
        done
        ((${#missing[@]} == 0)) && return 0
        ((final)) && break
        (($(date +%s) < deadline)) || break
        sleep 0.5
    done
    local detail=()
    for id in "${missing[@]}"; do detail+=("$id=$(result_status "$id" | sed 's/^$/none/')"); done
    echo "no 'played' result for: ${detail[*]}" >&2
    # The reason of a failure, as the bridge reported it.
    for id in "${missing[@]}"; do grep -F "\"$id\"" "$E2E_WORK/results.jsonl" | tail -n1 >&2; done
    return 1
}

# tts <speaker> <id> <text>: a JSON request with an id for its result.
tts() {
    pub_retry -t "sonos/tts/$1" -m "{\"text\": \"$3\", \"id\": \"$2\"}"
}

speaker_fetches() {
    grep -c "$1 fetched .*bytes" "$E2E_WORK/speakers.log" 2>/dev/null || true
}

# ---------------------------------------------------------------- checks
# Whether compose started the services only once the broker was healthy. Uses the
# broker's health log as it was right after `up -d` returned (Docker keeps only the last
# five checks), saved in $E2E_WORK/broker-health.log as "<exit code> <end, ns>" lines.
check_health_and_order() {
    local healthy_ns service id start start_ns
    healthy_ns=$(awk '$1 == 0 { print $2; exit }' "$E2E_WORK/broker-health.log")
    [[ -n "$healthy_ns" ]] || { echo "no passing broker health check on record" >&2; return 1; }
    for service in sonos_bridge idle_reporter; do
        id=$(container_of "$service")
        start=$(docker inspect -f '{{.State.StartedAt}}' "$id")
        start_ns=$(date -d "$start" +%s%N)
        if ((start_ns < healthy_ns)); then
            echo "$service started $(((healthy_ns - start_ns) / 1000000)) ms before the broker was healthy" >&2
            return 1
        fi
        printf '%s started %d ms after. ' "$service" $(((start_ns - healthy_ns) / 1000000))
    done
}

check_non_root() {
    local service uid
    for service in sonos_bridge idle_reporter; do
        uid=$(docker exec "$(container_of "$service")" id -u 2>&1) || { echo "$uid" >&2; return 1; }
        [[ "$uid" == 1000 ]] || { echo "$service runs as uid $uid, not 1000" >&2; return 1; }
    done
    echo "uid 1000"
}

check_plain_tts() {
    local before_results before_fetches
    before_results=$(wc -l <"$E2E_WORK/results.jsonl")
    before_fetches=$(speaker_fetches Kitchen)
    pub -t sonos/tts/Kitchen -m 'Hello' || { echo "publish failed" >&2; return 1; }
    local deadline=$(($(date +%s) + 30)) line
    while (($(date +%s) < deadline)); do
        line=$(new_results "$before_results" | head -n1)
        if [[ -n "$line" && "$line" != *'"played"'* ]]; then
            echo "the bridge answered: $line" >&2
            return 1
        fi
        if [[ -n "$line" ]] && (($(speaker_fetches Kitchen) > before_fetches)); then
            grep -q 'Kitchen' <<<"$line" || { echo "result names no Kitchen: $line" >&2; return 1; }
            echo "$line"
            return 0
        fi
        sleep 0.3
    done
    echo "no 'played' result and Kitchen fetch within 30 s; results: $(new_results "$before_results" | head -c 400)" >&2
    return 1
}

check_json_tts() {
    if ! tts Kitchen json-1 'First' || ! tts Office json-2 'Second'; then
        echo "publish failed" >&2
        return 1
    fi
    wait_results 60 json-1 json-2 || return 1
    (($(speaker_fetches Office) > 0)) || { echo "Office never fetched a clip" >&2; return 1; }
    echo "Kitchen and Office"
}

# A request naming the image's Piper voice is spoken by Piper in the container (as the
# unprivileged user, from the packaged voice), although espeak comes first in TTS_ENGINES.
check_piper_voice() {
    pub_retry -t sonos/tts/Kitchen \
        -m '{"text": "Dinner is ready", "id": "piper-voice", "voice": "en_US-joe-medium"}' ||
        { echo "publish failed" >&2; return 1; }
    wait_results 60 piper-voice || return 1
    local log
    log=$(compose logs --no-color sonos_bridge 2>&1)
    grep -q "Loaded Piper voice en_US-joe-medium" <<<"$log" || {
        echo "the bridge did not load the Piper voice; its log says:" \
            "$(grep -i -e piper -e voice -e warning -e error <<<"$log" | tail -n 8)" >&2
        return 1
    }
    echo "played with en_US-joe-medium"
}

check_idle_retained() {
    local out state configs
    # A fresh subscriber receives retained messages only.
    out=$(sub -v --retained-only -W 3 -t 'homeassistant/+/idle_reporter/#' -t 'idle/e2e-desktop/#' 2>/dev/null)
    configs=$(grep -c '^homeassistant/[^ ]*/config ' <<<"$out" || true)
    state=$(awk '$1 == "idle/e2e-desktop/state" { print $2 }' <<<"$out")
    if ((configs < 1)); then
        echo "no retained discovery config under homeassistant/+/idle_reporter/; got: $(head -c 300 <<<"$out")" >&2
        return 1
    fi
    grep -q 'e2e-desktop' <<<"$out" || { echo "discovery does not name the host e2e-desktop" >&2; return 1; }
    if [[ "$state" != active && "$state" != idle ]]; then
        echo "retained idle/e2e-desktop/state is '${state:-missing}'" >&2
        return 1
    fi
    echo "$configs discovery configs, state=$state"
}

# wait_retained <topic> <expected> <timeout-s>
wait_retained() {
    local deadline=$(($(date +%s) + $3)) got=""
    while (($(date +%s) < deadline)); do
        got=$(sub --retained-only -W 2 -C 1 -t "$1" 2>/dev/null || true)
        [[ "$got" == "$2" ]] && return 0
        sleep 0.5
    done
    echo "$1 is '${got:-nothing}', expected '$2'" >&2
    return 1
}

check_idle_follows_file() {
    echo idle >"$E2E_WORK/idle-state/idle-state"
    wait_retained idle/e2e-desktop/state idle 15 || return 1
    echo active >"$E2E_WORK/idle-state/idle-state"
    wait_retained idle/e2e-desktop/state active 15 || return 1
    echo "idle -> active followed"
}

check_broker_restart() {
    local broker ids=() i publisher sent="$E2E_WORK/broker-restart.sent" at_restart
    broker=$(container_of mosquitto)
    for i in 1 2 3 4 5 6 7 8; do ids+=("broker-restart-$i"); done
    : >"$sent"
    (
        for id in "${ids[@]}"; do
            tts Kitchen "$id" "Request $id" || { echo "could not publish $id" >&2; exit 1; }
            echo "$id" >>"$sent"
            sleep 0.4
        done
    ) 2>"$E2E_WORK/publisher.err" &
    publisher=$!
    at_restart=$(wait_in_flight "$sent" 2 "${#ids[@]}") || return 1
    docker restart -t 10 "$broker" >/dev/null || { echo "docker restart failed" >&2; return 1; }
    wait "$publisher" || { cat "$E2E_WORK/publisher.err" >&2; return 1; }
    wait_healthy 60 mosquitto sonos_bridge idle_reporter ||
        { echo "stack not healthy again after the broker restart" >&2; return 1; }
    wait_results 90 "${ids[@]}" || return 1
    echo "${#ids[@]} requests across the restart ($at_restart sent before it), all played"
}

check_bridge_kill() {
    local bridge ids=(bridge-down-1 bridge-down-2 bridge-down-3) id early=""
    bridge=$(container_of sonos_bridge)
    docker kill "$bridge" >/dev/null || { echo "docker kill failed" >&2; return 1; }
    # The broker publishes the bridge's last will when its connection drops.
    wait_retained sonos/status offline 15 || return 1
    for id in "${ids[@]}"; do tts Kitchen "$id" "While you were away $id" || return 1; done
    # Whatever the broker routed to the collector by now has arrived: no result may be there.
    fence || return 1
    for id in "${ids[@]}"; do
        [[ -z "$(result_status "$id")" ]] || early+=" $id"
    done
    [[ -z "$early" ]] || { echo "results for$early while the bridge was down?" >&2; return 1; }
    # `unless-stopped` does not restart a container killed with `docker kill`: start it.
    [[ "$(docker inspect -f '{{.State.Running}}' "$bridge")" == true ]] ||
        docker start "$bridge" >/dev/null || { echo "docker start failed" >&2; return 1; }
    wait_healthy 60 sonos_bridge || { echo "bridge not healthy after its restart" >&2; return 1; }
    wait_results 90 "${ids[@]}" || return 1
    wait_retained sonos/status online 15 || return 1
    echo "${#ids[@]} requests queued while down, played after the restart"
}

check_down_up_keeps_retained() {
    local value="kept-$RANDOM$RANDOM"
    pub -r -t reply/e2e-persist -m "$value" || { echo "retained publish failed" >&2; return 1; }
    compose down -t 15 >"$E2E_WORK/down1.log" 2>&1 || { tail -n 20 "$E2E_WORK/down1.log" >&2; return 1; }
    local started
    started=$(now)
    compose up -d >"$E2E_WORK/up2.log" 2>&1 || { tail -n 20 "$E2E_WORK/up2.log" >&2; return 1; }
    wait_healthy 90 mosquitto sonos_bridge idle_reporter ||
        { echo "stack not healthy after down + up" >&2; return 1; }
    local healthy_s
    healthy_s=$(elapsed "$started")
    wait_retained reply/e2e-persist "$value" 10 || return 1
    tts Kitchen after-down-up "Back again" || return 1
    wait_results 60 after-down-up || return 1
    echo "retained message kept, healthy again ${healthy_s} s after up, TTS works"
}

# ---------------------------------------------------------------- zero-edit start, own broker
# Issue 11: the stack starts with no .env, the broker generates the passwords, each
# service reads only its own; the two services also run against a broker of one's own.
# Kept apart from the checks above so other additions merge cleanly.

check_zero_edit_passwords() {
    local printed sonos_pw idle_pw idle mounts pw
    printed=$(stack_ha_password | wc -l)
    [[ "$printed" == 1 && ${#E2E_HA_PW} -ge 32 ]] ||
        { echo "make ha-password printed $printed lines, ${#E2E_HA_PW} characters" >&2; return 1; }
    if mosquitto_sub -h 127.0.0.1 -p "$E2E_MQTT_PORT" -t '#' -C 1 -W 3 >/dev/null 2>&1; then
        echo "an anonymous client was let in" >&2
        return 1
    fi
    sonos_pw=$(docker exec "$(container_of sonos_bridge)" cat /credentials/password) || return 1
    idle=$(container_of idle_reporter)
    idle_pw=$(docker exec "$idle" cat /credentials/password) || return 1
    [[ -n "$sonos_pw" && -n "$idle_pw" && "$sonos_pw" != "$idle_pw" ]] ||
        { echo "the services do not each have a password of their own" >&2; return 1; }
    mounts=$(docker inspect -f '{{range .Mounts}}{{.Name}}:{{.RW}} {{end}}' "$idle")
    [[ "$mounts" != *sonos-credentials* && "$mounts" == *idle-credentials:false* ]] ||
        { echo "idle reporter mounts: $mounts" >&2; return 1; }
    for pw in "$E2E_HA_PW" "$sonos_pw" "$idle_pw"; do
        if compose logs --no-color 2>&1 | grep -qF -- "$pw"; then
            echo "a password appears in the logs" >&2
            return 1
        fi
    done
    echo "make ha-password: one line; anonymous refused; each service reads only its own" \
        "password (read-only); none in the logs; broker on port $E2E_MQTT_PORT, not 1883"
}

check_passwords_kept() {
    local now_pw
    now_pw=$(stack_ha_password) || return 1
    [[ "$now_pw" == "$E2E_HA_PW" ]] || { echo "the generated password changed" >&2; return 1; }
    echo "same generated password after down + up"
}

check_doctor() {
    local out
    out=$(compose exec -T sonos_bridge sonos-bridge doctor 2>/dev/null) ||
        { echo "doctor failed: $out" >&2; return 1; }
    # Four checks (3 speakers, the clip URL), then one mode line per speaker: only Den is S2.
    [[ $(grep -c '^ok ' <<<"$out") == 7 ]] || { echo "doctor said: $out" >&2; return 1; }
    grep -q '^ok    mode Den (.*): clip (model One, S2, key ok' <<<"$out" &&
        [[ $(grep -c '^ok    mode .*: takeover (' <<<"$out") == 2 ]] ||
        { echo "doctor's mode lines: $out" >&2; return 1; }
    echo "3 speakers and the clip URL ok; Den plays clips, Kitchen and Office take over"
}

# Named before the checks run: `check` runs each one in a subshell, so names set inside
# check_own_broker would never reach the teardown, and its containers would be left behind.
own_broker_names() {
    OWN_DIR="$E2E_WORK/own-broker"
    OWN_BROKER="${E2E_PROJECT}ownbroker"
    OWN_PROJECT="${E2E_PROJECT}own"
}

compose_own() {
    E2E_OWN_NETWORK="$OWN_BROKER" "${COMPOSE[@]}" --env-file "$OWN_DIR/own.env" -p "$OWN_PROJECT" \
        -f "$ROOT/docker-compose.own-broker.yml" -f "$E2E_DIR/compose.e2e.yml" \
        -f "$E2E_DIR/compose.e2e-own-broker.yml" "$@"
}

cleanup_own_broker() {
    [[ -n "${OWN_DIR:-}" && -d "$OWN_DIR" ]] || return 0  # the check did not start it
    [[ -f "$OWN_DIR/own.env" ]] && compose_own down -v -t 10 >/dev/null 2>&1
    docker rm -f "$OWN_BROKER" >/dev/null 2>&1 || true
    docker network rm "$OWN_BROKER" >/dev/null 2>&1 || true
    rm -rf "$OWN_DIR"
}

# A Mosquitto of the user's own, in a container: its own password file with the two users
# docs/configuration.md says to add (and an admin), and the ACL blocks it says to copy.
start_own_broker() {
    OWN_SONOS_PW="own-sonos-$RANDOM$RANDOM"
    OWN_IDLE_PW="own-idle-$RANDOM$RANDOM"
    OWN_ADMIN_PW="own-admin-$RANDOM$RANDOM"
    mkdir -p "$OWN_DIR/conf"
    awk '/^user / { keep = ($2 == "sonos_bridge" || $2 == "idle_reporter") } keep' \
        "$ROOT/mosquitto/config/acl" >"$OWN_DIR/conf/acl"
    printf 'user admin\ntopic readwrite #\n' >>"$OWN_DIR/conf/acl"
    printf 'listener 1883\nallow_anonymous false\npassword_file /conf/passwd\nacl_file /conf/acl\n' \
        >"$OWN_DIR/conf/mosquitto.conf"
    : >"$OWN_DIR/conf/passwd"
    mosquitto_passwd -b "$OWN_DIR/conf/passwd" sonos_bridge "$OWN_SONOS_PW" &&
        mosquitto_passwd -b "$OWN_DIR/conf/passwd" idle_reporter "$OWN_IDLE_PW" &&
        mosquitto_passwd -b "$OWN_DIR/conf/passwd" admin "$OWN_ADMIN_PW" || return 1
    chmod -R a+rX "$OWN_DIR/conf"
    docker network create "$OWN_BROKER" >/dev/null || return 1
    docker run -d --name "$OWN_BROKER" --network "$OWN_BROKER" -v "$OWN_DIR/conf:/conf:ro" \
        "$MOSQUITTO_TAG" mosquitto -c /conf/mosquitto.conf >/dev/null || return 1
    OWN_IP=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$OWN_BROKER")
    local deadline=$(($(date +%s) + 20))
    until mosquitto_pub -h "$OWN_IP" -u admin -P "$OWN_ADMIN_PW" -t e2e/ping -n 2>/dev/null; do
        (($(date +%s) < deadline)) || { echo "own broker did not answer" >&2; return 1; }
        sleep 0.2
    done
}

own_healthy() {
    local deadline=$(($(date +%s) + 90)) service id all
    while (($(date +%s) < deadline)); do
        all=1
        for service in sonos_bridge idle_reporter; do
            id=$(compose_own ps -q "$service" 2>/dev/null | head -n1)
            [[ -n "$id" && "$(docker inspect -f '{{.State.Health.Status}}' "$id")" == healthy ]] ||
                all=0
        done
        ((all)) && return 0
        sleep 0.3
    done
    return 1
}

check_own_broker() {
    start_own_broker || return 1
    # The stack's own bridge still holds its HTTP_PORT on the host network.
    grep -v -e '^MQTT_PORT=' -e '^MQTT_BIND=' -e '^HTTP_PORT=' "$E2E_ENV_FILE" >"$OWN_DIR/own.env"
    cat >>"$OWN_DIR/own.env" <<EOF
MQTT_HOST=$OWN_IP
MQTT_SONOS_PASSWORD=$OWN_SONOS_PW
MQTT_IDLE_PASSWORD=$OWN_IDLE_PW
HTTP_PORT=$(free_port)
IDLE_HOST_NAME=own-desktop
EOF
    local started
    started=$(now)
    compose_own up -d --no-build >"$OWN_DIR/up.log" 2>&1 || { tail -n 20 "$OWN_DIR/up.log" >&2; return 1; }
    own_healthy || { compose_own logs --no-color --tail 20 >&2; return 1; }
    local healthy_s result state
    healthy_s=$(elapsed "$started")
    # A persistent session whose subscription the broker acknowledged (-E) before the
    # request: the result is queued for it even if the waiter below connects after it.
    mosquitto_sub -h "$OWN_IP" -u admin -P "$OWN_ADMIN_PW" -q 1 -c -i e2e-own-result \
        -t sonos/result -E || { echo "cannot subscribe to sonos/result" >&2; return 1; }
    mosquitto_sub -h "$OWN_IP" -u admin -P "$OWN_ADMIN_PW" -q 1 -c -i e2e-own-result \
        -t sonos/result -C 1 -W 60 >"$OWN_DIR/result.json" 2>&1 &
    local waiter=$!
    mosquitto_pub -h "$OWN_IP" -u admin -P "$OWN_ADMIN_PW" -q 1 -t sonos/tts/Kitchen \
        -m '{"text": "Through your own broker", "id": "own-broker"}' || return 1
    wait "$waiter"
    result=$(cat "$OWN_DIR/result.json")
    [[ "$result" == *'"own-broker"'*'"played"'* ]] || { echo "result: ${result:-none}" >&2; return 1; }
    state=$(mosquitto_sub -h "$OWN_IP" -u admin -P "$OWN_ADMIN_PW" -t idle/own-desktop/state \
        --retained-only -C 1 -W 5 2>/dev/null)
    [[ "$state" == active || "$state" == idle ]] || { echo "idle state: ${state:-none}" >&2; return 1; }
    echo "both healthy ${healthy_s} s after up; TTS played; idle state $state"
}

# ---------------------------------------------------------------- chaos: durable delivery
# Kept apart from the checks above (the durable-delivery work owns this part).

# kill_process <service> <command>: SIGKILL the service's process inside its container, as
# a crash or the OOM killer would. `docker kill` would count as the user's stop, and
# `restart: unless-stopped` would leave the container down.
kill_process() {
    docker exec "$(container_of "$1")" sh -c \
        'for p in /proc/[0-9]*; do
             [ "$(cat "$p/comm" 2>/dev/null)" = "$1" ] && kill -9 "${p#/proc/}" && exit 0
         done
         exit 1' sh "$2"
}

kill_broker_process() { kill_process mosquitto mosquitto; }

# wait_in_flight <sent-file> <at least> <of>: prints how many requests the publisher has
# had acknowledged (one id a line in <sent-file>) once that is at least <at least> and
# fewer than <of>: the stream is under way and still going, the moment to hit the broker.
wait_in_flight() {
    local deadline=$(($(date +%s) + 30)) count=0
    while (($(date +%s) < deadline)); do
        count=$(wc -l <"$1")
        ((count >= $3)) && { echo "all $3 requests were sent before the fault: too late" >&2; return 1; }
        ((count >= $2)) && { echo "$count"; return 0; }
        sleep 0.05
    done
    echo "only $count of $3 requests sent within 30 s" >&2
    return 1
}

restart_count() { docker inspect -f '{{.RestartCount}}' "$(container_of "$1")"; }

# wait_restarted <service> <count before>: 0 once the restart policy restarted it and it is
# healthy again.
wait_restarted() {
    local deadline=$(($(date +%s) + 60))
    until (($(restart_count "$1") > $2)); do
        (($(date +%s) < deadline)) || { echo "the restart policy did not restart $1" >&2; return 1; }
        sleep 0.2
    done
    wait_healthy 90 "$1" || { echo "$1 not healthy after its restart" >&2; return 1; }
}

# announcements_played: clips the fake speakers fetched and played, all speakers.
announcements_played() {
    grep -c " fetched .*bytes" "$E2E_WORK/speakers.log" 2>/dev/null || true
}

# answers_per_id <id...>: "<id>=<number of different results>" for each id that has not
# exactly one (a replayed announcement answers again, with its own latency).
answers_per_id() {
    "$(e2e_python)" - "$E2E_WORK/results.jsonl" "$@" <<'EOF'
import json, sys
answers = {request_id: set() for request_id in sys.argv[2:]}
with open(sys.argv[1], encoding="utf-8", errors="replace") as results:
    for line in results:
        try:
            result = json.loads(line)
        except ValueError:
            continue
        if isinstance(result, dict) and result.get("id") in answers:
            answers[result["id"]].add(line.strip())
print(" ".join(f"{i}={len(a)}" for i, a in answers.items() if len(a) != 1))
EOF
}

check_broker_sigkill_under_load() {
    local ids=() i publisher restarts played_before played twice started at_kill
    local sent="$E2E_WORK/chaos.sent"
    started=$(now)
    restarts=$(restart_count mosquitto)
    played_before=$(announcements_played)
    for i in $(seq 1 20); do ids+=("chaos-$i"); done
    : >"$sent"
    (
        for i in "${!ids[@]}"; do
            speaker=Kitchen
            ((i % 2)) && speaker=Office
            tts "$speaker" "${ids[$i]}" "Chaos request ${ids[$i]}" ||
                { echo "could not publish ${ids[$i]}" >&2; exit 1; }
            echo "${ids[$i]}" >>"$sent"
            sleep 0.15
        done
    ) 2>"$E2E_WORK/chaos-publisher.err" &
    publisher=$!
    at_kill=$(wait_in_flight "$sent" 5 "${#ids[@]}") || return 1
    kill_broker_process || { echo "no mosquitto process to kill" >&2; return 1; }
    wait "$publisher" || { cat "$E2E_WORK/chaos-publisher.err" >&2; return 1; }
    wait_restarted mosquitto "$restarts" || return 1
    wait_healthy 90 mosquitto sonos_bridge idle_reporter ||
        { echo "stack not healthy again after the broker was killed" >&2; return 1; }
    wait_results 120 "${ids[@]}" || return 1
    twice=$(answers_per_id "${ids[@]}")
    [[ -z "$twice" ]] || { echo "answered more than once: $twice" >&2; return 1; }
    played=$(($(announcements_played) - played_before))
    ((played == ${#ids[@]})) ||
        { echo "$played announcements played for ${#ids[@]} requests" >&2; return 1; }
    echo "${#ids[@]} of ${#ids[@]} played once (the broker killed after $at_kill were sent);" \
        "the restart policy restarted the broker; $(elapsed "$started") s"
}

speaker_ip() {
    local kitchen office
    IFS=, read -r kitchen office <<<"$E2E_SONOS_HOSTS"
    case $1 in
        Kitchen) echo "$kitchen" ;;
        Office) echo "$office" ;;
        Den) echo "$E2E_CLIP_SPEAKER" ;;
        *) echo "no fake speaker $1" >&2; return 1 ;;
    esac
}

# fake <speaker> <control> [<json>]: a fake speaker's test control (testkit/fakes/speaker/):
# `state` prints its state as JSON; `radio`, `vanish` and `return` are POSTed.
fake() {
    local ip
    ip=$(speaker_ip "$1") || return 1
    "$(e2e_python)" - "$ip" "$2" "${3:-}" <<'EOF'
import sys, urllib.request
ip, control, body = sys.argv[1:]
data = None if control == "state" else (body or "{}").encode()
with urllib.request.urlopen(f"http://{ip}:1400/fake/{control}", data, timeout=5) as answer:
    print(answer.read().decode())
EOF
}

# wait_fake <timeout-s> <speaker> <condition>: 0 once the Python condition holds for `s`,
# the speaker's state (/fake/state); else prints what the state was.
wait_fake() {
    local ip
    ip=$(speaker_ip "$2") || return 1
    "$(e2e_python)" - "$1" "$ip" "$3" <<'EOF'
import json, sys, time, urllib.request
timeout, ip, condition = float(sys.argv[1]), sys.argv[2], sys.argv[3]
deadline = time.monotonic() + timeout
while True:
    with urllib.request.urlopen(f"http://{ip}:1400/fake/state", timeout=5) as answer:
        s = json.load(answer)
    if eval(condition, {"s": s}):
        sys.exit(0)
    if time.monotonic() > deadline:
        s.pop("action_times", None)
        print(f"not within {timeout:g} s: {condition}; state: {json.dumps(s)[:600]}", file=sys.stderr)
        sys.exit(1)
    time.sleep(0.1)
EOF
}

plays_of() {
    fake "$1" state | "$(e2e_python)" -c 'import json, sys; print(len(json.load(sys.stdin)["plays"]))'
}

# expect_plays <speaker> <plays before> <n>: 0 when the speaker played exactly n clips since.
expect_plays() {
    local played
    played=$(plays_of "$1") || return 1
    ((played - $2 == $3)) || { echo "$1 played $((played - $2)) clips, not $3" >&2; return 1; }
}

# About 21 s of speech, 4.2 s on the fake speakers (E2E_SPEAKER_SPEED 0.2): long enough to
# act while it plays.
LONG_TEXT=$(printf 'This announcement is long enough to keep the speaker busy for a while. %.0s' {1..6})
MUSIC_BACK='s["uri"].startswith("x-sonosapi-stream:") and s["state"] == "PLAYING" and s["volume"] == 20'

# long_tts <speaker> <id>: the long announcement at volume 45 (over music at 20).
long_tts() {
    pub_retry -t "sonos/tts/$1" -m "{\"text\": \"$LONG_TEXT\", \"id\": \"$2\", \"volume\": 45}"
}

# until_playing <speaker> <plays before>: the speaker plays a clip it had not before.
until_playing() {
    wait_fake 30 "$1" "len(s['plays']) > $2 and s['state'] == 'PLAYING' and s['uri'].startswith('http')"
}

# The bridge's process dies (SIGKILL) while the long announcement plays on Kitchen, one
# request waits behind it, and one for Office has just been answered: its acknowledgement
# waits for the long one's (in arrival order), so the broker resends it too.
check_bridge_sigkill_mid_announcement() {
    local started restarts plays office_plays ids=(sigkill-long sigkill-queued sigkill-office) twice
    started=$(now)
    restarts=$(restart_count sonos_bridge)
    fake Kitchen radio '{"volume": 20}' >/dev/null || return 1
    plays=$(plays_of Kitchen) || return 1
    office_plays=$(plays_of Office) || return 1
    long_tts Kitchen sigkill-long || return 1
    tts Kitchen sigkill-queued "Waiting behind the long one" || return 1
    tts Office sigkill-office "Meanwhile in the office" || return 1
    wait_results 30 sigkill-office || return 1
    until_playing Kitchen "$plays" || return 1
    kill_process sonos_bridge sonos-bridge || { echo "no sonos-bridge process to kill" >&2; return 1; }
    wait_restarted sonos_bridge "$restarts" || return 1
    wait_results 90 "${ids[@]}" || return 1
    twice=$(answers_per_id "${ids[@]}")
    [[ -z "$twice" ]] || { echo "answered more than once: $twice" >&2; return 1; }
    # The long one, cut by the kill, again in full, then the one behind it; Office's request,
    # resent by the broker after the restart, answered but not played again.
    expect_plays Kitchen "$plays" 3 || return 1
    expect_plays Office "$office_plays" 1 || return 1
    wait_fake 30 Kitchen "$MUSIC_BACK" || return 1
    echo "the restart policy restarted the bridge; ${#ids[@]} of ${#ids[@]} played once," \
        "the interrupted one again in full, Office's once; Kitchen back on its radio at" \
        "volume 20;" \
        "$(elapsed "$started") s"
}

# wait_answered <timeout-s> <id>: 0 once the request has a result, whatever it says.
wait_answered() {
    local deadline=$(($(date +%s) + $1))
    until [[ -n "$(result_status "$2")" ]]; do
        (($(date +%s) < deadline)) || { echo "no result for $2 within $1 s" >&2; return 1; }
        sleep 0.3
    done
}

# While Kitchen is off the network: its request fails in time and names it, Office plays
# on without waiting for it.
kitchen_away() {
    local plays=$1 error latency timeout_ms clip_ms office
    tts Office vanish-office-1 "The office carries on" || return 1
    tts Office vanish-office-2 "Still in the office" || return 1
    wait_results 60 vanish-office-1 vanish-office-2 || return 1
    wait_answered 60 vanish-lost || return 1
    error=$(result_field vanish-lost error)
    [[ "$(result_status vanish-lost)" == failed && "$error" == *Kitchen* ]] ||
        { echo "vanish-lost answered $(result_status vanish-lost): ${error:-no error}" >&2; return 1; }
    latency=$(result_field vanish-lost latency_ms)
    timeout_ms=$(docker exec "$(container_of sonos_bridge)" python -c 'import os
from sonos_bridge.settings import SonosSettings as S
print(int(float(os.environ.get("SONOS_TIMEOUT") or S.model_fields["sonos_timeout"].default) * 1000))')
    clip_ms=$(fake Kitchen state | "$(e2e_python)" -c "import json, sys
print(int(json.load(sys.stdin)['plays'][$plays]['duration'] * ${E2E_SPEAKER_SPEED:-0.2} * 1000))")
    ((latency <= timeout_ms + clip_ms)) || {
        echo "failed after $latency ms, more than SONOS_TIMEOUT $timeout_ms + the clip $clip_ms" >&2
        return 1
    }
    for office in vanish-office-1 vanish-office-2; do
        (($(result_field "$office" line) < $(result_field vanish-lost line))) ||
            { echo "$office was answered after Kitchen's failure: held up" >&2; return 1; }
    done
    echo "failed naming Kitchen after $latency ms (bound $((timeout_ms + clip_ms)) ms);" \
        "Office played in $(result_field vanish-office-1 latency_ms) and" \
        "$(result_field vanish-office-2 latency_ms) ms meanwhile"
}

check_speaker_vanishes_mid_announcement() {
    local started plays office_plays away rc twice
    local ids=(vanish-lost vanish-office-1 vanish-office-2 vanish-back)
    started=$(now)
    fake Kitchen radio '{"volume": 20}' >/dev/null || return 1
    plays=$(plays_of Kitchen) || return 1
    office_plays=$(plays_of Office) || return 1
    long_tts Kitchen vanish-lost || return 1
    until_playing Kitchen "$plays" || return 1
    fake Kitchen vanish >/dev/null || return 1
    away=$(kitchen_away "$plays")
    rc=$?
    fake Kitchen return >/dev/null || return 1  # also after a failure: later checks need it
    ((rc == 0)) || return 1
    tts Kitchen vanish-back "Welcome back" || return 1
    wait_results 60 vanish-back || return 1
    wait_fake 30 Kitchen "$MUSIC_BACK" || return 1
    fence || return 1
    twice=$(answers_per_id "${ids[@]}")
    [[ -z "$twice" ]] || { echo "not answered exactly once: $twice" >&2; return 1; }
    # Kitchen: the lost one (fetched before it vanished) and the one once back; Office: two.
    expect_plays Kitchen "$plays" 2 || return 1
    expect_plays Office "$office_plays" 2 || return 1
    echo "$away; played once back, its radio restored; $(elapsed "$started") s"
}

# ---------------------------------------------------------------- clip mode
# Issue 9: the S2 fake speaker Den gets its announcement from the bridge in its container
# (host network) as an audio clip over TLS on port 1443, fetched from the bridge's audio
# server, and its radio plays on untouched: no transport, volume or mute call reached it.
check_clip_mode() {
    fake Den radio '{"volume": 20}' >/dev/null || { echo "cannot start Den's radio" >&2; return 1; }
    pub_retry -t sonos/tts/Den -m '{"text": "Dinner is ready", "id": "clip-den", "volume": 35}' ||
        { echo "publish failed" >&2; return 1; }
    wait_results 60 clip-den || return 1
    fake Den state | "$(e2e_python)" -c '
import json, sys
state = json.load(sys.stdin)
clips = [(c["statuses"], c["volume"], c["fetch"] and c["fetch"]["kind"]) for c in state["clips"]]
touching = {"SetAVTransportURI", "Play", "Pause", "Stop", "SetVolume", "SetMute"}
calls = {a: n for a, n in state["action_counts"].items() if a in touching}
music = (state["uri"].startswith("x-sonosapi-stream:"), state["state"], state["volume"])
if clips != [(["ACTIVE", "DONE"], 35, "mp3")] or calls or music != (True, "PLAYING", 20):
    sys.exit(f"clips {clips}, music calls {calls}, radio/state/volume {music}")
print("one clip ACTIVE -> DONE at volume 35; the radio still playing at 20, no transport calls")'
}

# ---------------------------------------------------------------- main
for tool in docker debootstrap mosquitto_pub mosquitto_sub; do
    command -v "$tool" >/dev/null 2>&1 || abort setup "$tool is not installed"
done
[[ $(id -u) == 0 ]] || abort setup "run as root (debootstrap, dockerd)"

ensure_docker || abort "docker engine" "no Docker engine"
detect_compose || abort setup "no compose"
say "base images (debootstrap on first use, then cached)"
build_base_images || abort "base images" "debootstrap/import failed"
pass "base images: $PYTHON_TAG, $AUDIO_TAG, $MOSQUITTO_TAG"
build_wheelhouse || abort wheelhouse "pip wheel failed"
e2e_configure
own_broker_names
say "project $E2E_PROJECT, MQTT port $E2E_MQTT_PORT, audio port $E2E_HTTP_PORT, speakers $E2E_SONOS_HOSTS"
build_stack_images || abort "stack images" "docker build failed"
pass "stack images: sonos-bridge $(image_size_mb "$E2E_SONOS_IMAGE") MB, idle-reporter $(image_size_mb "$E2E_IDLE_IMAGE") MB"

# Fake speakers on the host's loopback addresses; the bridge (host network) reaches them
# and they fetch the clips from its audio server like real players.
start_fake_speakers
fake_rc=$?
FAKE_PID=$E2E_FAKE_PID
((fake_rc == 0)) || abort "fake speakers" "did not start: $(tail -n 5 "$E2E_WORK/speakers.log")"

echo active >"$E2E_WORK/idle-state/idle-state"
touch "$E2E_WORK/results.jsonl"
STACK_STARTED=1
UP_STARTED=$(now)
compose up -d >"$E2E_WORK/up.log" 2>&1 || abort "compose up" "$(tail -n 20 "$E2E_WORK/up.log")"
UP_RETURNED=$(elapsed "$UP_STARTED")
docker inspect -f '{{range .State.Health.Log}}{{.ExitCode}} {{.End.UnixNano}}{{"\n"}}{{end}}' \
    "$(container_of mosquitto)" >"$E2E_WORK/broker-health.log" 2>&1
if wait_healthy 90 mosquitto sonos_bridge idle_reporter; then
    pass "all three services healthy $(elapsed "$UP_STARTED") s after 'up -d' (up returned after $UP_RETURNED s)"
else
    abort "stack healthy" "states: mosquitto=$(health_of mosquitto) sonos_bridge=$(health_of sonos_bridge) idle_reporter=$(health_of idle_reporter)"
fi
E2E_HA_PW=$(stack_ha_password) || abort "make ha-password" "printed nothing"
check "zero-edit start: generated passwords, each service only its own" check_zero_edit_passwords
check "start order: broker healthy before the services start" check_health_and_order
check "services run as the unprivileged user" check_non_root

start_results_collector
fence || abort "results collector" "its subscription was never confirmed"
check "TTS 'Hello' to sonos/tts/Kitchen played and answered" check_plain_tts
check "TTS JSON requests with ids to both speakers played" check_json_tts
if [[ "${E2E_VARIANT:-auto}" != slim ]]; then
    check "a request naming the Piper voice is spoken by Piper" check_piper_voice
fi
check "idle reporter: retained discovery and state" check_idle_retained
check "idle reporter follows the state file" check_idle_follows_file
check "LAN: a desktop's reporter refuses a foreign CA in one line" check_foreign_ca_refused
check "LAN: make add-desktop, a reporter on the host through the TLS port, remove-desktop" \
    check_desktop_over_tls
check "broker restart while publishing: no request lost" check_broker_restart
check "bridge killed: requests queued while down are played after its restart" check_bridge_kill
check "broker SIGKILLed while 20 requests stream in: all played, none twice" \
    check_broker_sigkill_under_load
check "bridge SIGKILLed mid-announcement: music back at its volume, nothing lost or twice" \
    check_bridge_sigkill_mid_announcement
check "a speaker vanishes mid-announcement: failed in time, the other speaker unaffected" \
    check_speaker_vanishes_mid_announcement
check "household broker SIGKILLed while the stack's queue is busy: all played once" \
    check_household_sigkill_while_busy
check "an idle stack: the brokers' health checks neither save nor log" check_quiet_health
check "down + up keeps retained messages (persistence volume)" check_down_up_keeps_retained
check "passwords kept across down + up" check_passwords_kept
check "sonos-bridge doctor in the container" check_doctor
check "clip mode: an S2 speaker gets an audio clip, its music untouched" check_clip_mode
check "the two services against your own broker (docker-compose.own-broker.yml)" check_own_broker
cleanup_own_broker
