# Issue 20's checks of tests/e2e/run.sh (source it, do not run it): the stack runs two
# brokers, the household broker (service mosquitto: what Home Assistant and every other
# client use; saves every 30 minutes) bridged to the queue broker (service mosquitto_queue:
# where the services connect; saves after every change). Uses run.sh's helpers (tts,
# long_tts, wait_results, ...), so it is only sourced there.
# shellcheck shell=bash

# broker_io <service>: bytes the broker process of that container has written to storage,
# read on the host (docker top gives host pids): inside the container root may not read
# the io of a process that runs as another user.
broker_io() {
    local pid
    pid=$(docker top "$(container_of "$1")" -eo pid,comm | awk '$2 == "mosquitto" { print $1 }')
    [[ -n "$pid" ]] || { echo "no mosquitto process in $1" >&2; return 1; }
    sed -n 's/^write_bytes: //p' "/proc/$pid/io"
}

# last_health_start <service>: when Docker started its latest health check.
last_health_start() {
    docker inspect -f '{{with .State.Health}}{{range .Log}}{{.Start}}{{"\n"}}{{end}}{{end}}' \
        "$(container_of "$1")" | awk 'NF { last = $0 } END { print last }'
}

# wait_health_checks <service> <count>: returns after that many new health checks ran.
wait_health_checks() {
    local last now count=0 deadline=$(($(date +%s) + 60))
    last=$(last_health_start "$1")
    while ((count < $2)); do
        (($(date +%s) < deadline)) || { echo "fewer than $2 health checks of $1 in 60 s" >&2; return 1; }
        sleep 0.5
        now=$(last_health_start "$1")
        if [[ "$now" != "$last" ]]; then
            count=$((count + 1))
            last=$now
        fi
    done
    echo "$count"
}

# The household broker (the one that acknowledges Home Assistant's requests) dies while the
# stack's queue is busy: a long announcement plays on Kitchen and five requests wait behind
# it or play on Office. Those five were acknowledged by the household broker and handed to
# the queue broker: each is played exactly once, the services never notice (no reconnect,
# no restart), and the answers reach Home Assistant through the restarted household broker.
check_household_sigkill_while_busy() {
    local started restarts bridge_restarts plays ids=() i speaker twice connects_before
    started=$(now)
    restarts=$(restart_count mosquitto)
    bridge_restarts=$(restart_count sonos_bridge)
    connects_before=$(compose logs --no-color sonos_bridge 2>&1 | grep -c "Connected to" || true)
    fake Kitchen radio '{"volume": 20}' >/dev/null || return 1
    plays=$(plays_of Kitchen) || return 1
    long_tts Kitchen busy-long || return 1
    until_playing Kitchen "$plays" || return 1
    for i in 1 2 3 4 5; do
        speaker=Kitchen
        ((i % 2)) && speaker=Office
        ids+=("busy-$i")
        tts "$speaker" "busy-$i" "Behind the long one, number $i" || return 1
    done
    kill_broker_process || { echo "no mosquitto process to kill" >&2; return 1; }
    wait_restarted mosquitto "$restarts" || return 1
    wait_results 120 busy-long "${ids[@]}" || return 1
    twice=$(answers_per_id busy-long "${ids[@]}")
    [[ -z "$twice" ]] || { echo "answered more than once: $twice" >&2; return 1; }
    (($(restart_count sonos_bridge) == bridge_restarts)) ||
        { echo "the Sonos bridge was restarted" >&2; return 1; }
    (($(compose logs --no-color sonos_bridge 2>&1 | grep -c "Connected to" || true) == connects_before)) ||
        { echo "the Sonos bridge had to reconnect" >&2; return 1; }
    wait_fake 30 Kitchen "$MUSIC_BACK" || return 1
    echo "the long one and ${#ids[@]} behind it played once each; the bridge kept its" \
        "connection to the queue broker; $(elapsed "$started") s"
}

# An idle stack: Docker's health checks of both brokers neither make them save nor log.
check_quiet_health() {
    local since household_before queue_before household_after queue_after logged checks
    since=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
    household_before=$(broker_io mosquitto) || return 1
    queue_before=$(broker_io mosquitto_queue) || return 1
    checks=$(wait_health_checks mosquitto 3) || return 1
    household_after=$(broker_io mosquitto) || return 1
    queue_after=$(broker_io mosquitto_queue) || return 1
    logged=$(compose logs --no-color --since "$since" mosquitto mosquitto_queue 2>&1 | grep -c . || true)
    if ((household_after != household_before || logged != 0)); then
        echo "during $checks health checks the household broker wrote" \
            "$((household_after - household_before)) bytes; $logged log lines:" \
            "$(compose logs --no-color --since "$since" mosquitto mosquitto_queue 2>&1 | head -n 5)" >&2
        return 1
    fi
    echo "$checks health checks: household broker wrote 0 bytes, queue broker" \
        "$((queue_after - queue_before)) bytes, no log line"
}
