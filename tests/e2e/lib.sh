# Shared helpers of tests/e2e/run.sh and bench/stack_bench.sh (source it, do not run it).
# Expects ROOT (the repository root) to be set and the caller to be in it.
# shellcheck shell=bash

E2E_DIR="$ROOT/tests/e2e"
# Relative to the build context (the repository root), as the WHEELHOUSE build arg wants.
E2E_WHEELHOUSE_REL="tests/e2e/.cache/wheelhouse"

# shellcheck source=tests/e2e/base_images.sh
source "$E2E_DIR/base_images.sh"

E2E_DOCKERD_PID=""
E2E_RUN_IMAGES=()  # the images this run tags (e2e_configure) and removes at its end

say() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Start a Docker engine when none answers (a fresh CI machine). Sets E2E_DOCKERD_PID when
# this process started it, so the caller can stop it again.
ensure_docker() {
    if docker info >/dev/null 2>&1; then
        return 0
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
        say "no Docker engine answers and dockerd is not installed (apt-get install docker.io)"
        return 1
    fi
    say "starting dockerd (log: $E2E_WORK/dockerd.log)"
    dockerd >"$E2E_WORK/dockerd.log" 2>&1 &
    E2E_DOCKERD_PID=$!
    local i
    for ((i = 0; i < 60; i++)); do
        if docker info >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$E2E_DOCKERD_PID" 2>/dev/null; then
            say "dockerd exited; last lines of its log:"
            tail -n 20 "$E2E_WORK/dockerd.log" >&2
            E2E_DOCKERD_PID=""
            return 1
        fi
        sleep 1
    done
    say "dockerd did not answer within 60 s"
    return 1
}

stop_own_docker() {
    if [[ -n "$E2E_DOCKERD_PID" && -z "${E2E_KEEP_DOCKERD:-}" ]]; then
        kill "$E2E_DOCKERD_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 30; i++)); do
            kill -0 "$E2E_DOCKERD_PID" 2>/dev/null || break
            sleep 1
        done
        E2E_DOCKERD_PID=""
    fi
}

# COMPOSE: `docker compose` (v2) when present, else `docker-compose` (v1.29).
# E2E_COMPOSE="docker-compose" forces one.
detect_compose() {
    if [[ -n "${E2E_COMPOSE:-}" ]]; then
        read -r -a COMPOSE <<<"$E2E_COMPOSE"
    elif docker compose version >/dev/null 2>&1; then
        COMPOSE=(docker compose)
    elif command -v docker-compose >/dev/null 2>&1; then
        COMPOSE=(docker-compose)
    else
        say "neither 'docker compose' nor 'docker-compose' is installed"
        return 1
    fi
    say "compose: ${COMPOSE[*]} ($("${COMPOSE[@]}" version --short 2>/dev/null || echo '?'))"
}

# The Python that builds the wheelhouse (and runs the fake speakers): the project's venv.
e2e_python() {
    if [[ -n "${E2E_PYTHON:-}" ]]; then
        echo "$E2E_PYTHON"
    elif [[ -x "$ROOT/.venv/bin/python" ]]; then
        echo "$ROOT/.venv/bin/python"
    else
        command -v python3
    fi
}

# Wheels of the distribution and all its dependencies for the images' Python (bookworm's
# 3.11): the wheelhouse must be made by a Python 3.11 so binary wheels (pydantic-core,
# lxml, ...) fit. The project's own wheel is rebuilt every time, the rest is reused.
build_wheelhouse() {
    local py
    py=$(e2e_python)
    if ! "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
        say "$py is not Python 3.11 (Debian bookworm's): its wheels would not fit the images"
        return 1
    fi
    mkdir -p "$ROOT/$E2E_WHEELHOUSE_REL"
    rm -f "$ROOT/$E2E_WHEELHOUSE_REL"/mqtt_home_voice-*.whl
    local started
    started=$(now)
    if ! "$py" -m pip wheel -q --disable-pip-version-check --find-links "$ROOT/$E2E_WHEELHOUSE_REL" \
        -w "$ROOT/$E2E_WHEELHOUSE_REL" "${ROOT}[sonos,piper,idle]" >"$E2E_WORK/pip-wheel.log" 2>&1; then
        say "pip wheel failed:"
        tail -n 30 "$E2E_WORK/pip-wheel.log" >&2
        return 1
    fi
    say "wheelhouse ready in $(elapsed "$started") s ($(find "$ROOT/$E2E_WHEELHOUSE_REL" -name '*.whl' | wc -l) wheels)"
}

# A TCP port nobody listens on right now.
free_port() {
    "$(e2e_python)" -c 'import socket
s = socket.socket()
s.bind(("", 0))
print(s.getsockname()[1])
s.close()'
}

# compose <args...>: the stack under test (project E2E_PROJECT, environment E2E_ENV_FILE).
compose() {
    "${COMPOSE[@]}" --env-file "$E2E_ENV_FILE" -p "$E2E_PROJECT" \
        -f "$ROOT/docker-compose.yml" -f "$E2E_DIR/compose.e2e.yml" "$@"
}

container_of() { compose ps -q "$1" 2>/dev/null | head -n1; }

# Home Assistant's password, as a user gets it: `make ha-password` (prints it alone on one
# line), run against the stack under test.
stack_ha_password() {
    make -s --no-print-directory -C "$ROOT" ha-password COMPOSE="${COMPOSE[*]} --env-file \
$E2E_ENV_FILE -p $E2E_PROJECT -f $ROOT/docker-compose.yml -f $E2E_DIR/compose.e2e.yml"
}

health_of() {
    local id
    id=$(container_of "$1")
    [[ -n "$id" ]] || { echo missing; return; }
    docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' \
        "$id" 2>/dev/null || echo missing
}

# wait_healthy <timeout-s> <service...>: 0 when all are healthy in time.
wait_healthy() {
    local timeout=$1
    shift
    local deadline service all
    deadline=$(($(date +%s) + timeout))
    while (($(date +%s) < deadline)); do
        all=1
        for service in "$@"; do
            [[ "$(health_of "$service")" == healthy ]] || { all=0; break; }
        done
        ((all)) && return 0
        sleep 0.2
    done
    return 1
}

# Write the environment file of the stack under test. Everything the stack reads is set
# here, so a developer's own .env never leaks in (--env-file replaces it). No password:
# the broker generates them, as on a user's first `docker compose up -d`.
write_env_file() {
    cat >"$E2E_ENV_FILE" <<EOF
MQTT_PORT=$E2E_MQTT_PORT
MQTT_BIND=127.0.0.1
MOSQUITTO_IMAGE=$MOSQUITTO_TAG
PYTHON_BASE_IMAGE=$PYTHON_TAG
E2E_AUDIO_BASE_IMAGE=$AUDIO_TAG
WHEELHOUSE=$E2E_WHEELHOUSE_REL
SONOS_BRIDGE_IMAGE=$E2E_SONOS_IMAGE
IDLE_REPORTER_IMAGE=$E2E_IDLE_IMAGE
LOG_LEVEL=${E2E_LOG_LEVEL:-INFO}
SONOS_HOSTS=$E2E_SONOS_HOSTS
SONOS_DEFAULT_SPEAKER=Kitchen
TTS_ENGINES=${E2E_TTS_ENGINES:-espeak,piper}
SONOS_BRIDGE_VARIANT=${E2E_VARIANT:-auto}
HTTP_PORT=$E2E_HTTP_PORT
ADVERTISE_HOST=127.0.0.1
IDLE_HOST_NAME=e2e-desktop
IDLE_SOURCE=file
IDLE_STATE_DIR=$E2E_WORK/idle-state
SOUNDS_HOST_DIR=$E2E_WORK/sounds
IDLE_STATE_FILE_NAME=idle-state
IDLE_THRESHOLD=${E2E_IDLE_THRESHOLD:-300}
IDLE_POLL_INTERVAL=1
IDLE_UID=1000
IDLE_GID=1000
EOF
}

# Set the variables write_env_file needs (ports, passwords, speakers, image names).
e2e_configure() {
    E2E_PROJECT=${E2E_PROJECT:-mhve2e$$}
    # The images under test are tagged for this run and removed at its end (remove_run_images):
    # runs from other checkouts share the Docker engine, and with one fixed tag a run could
    # start the containers of another run's build, from other code. The build cache does not
    # go by tag: layers are reused all the same. E2E_SONOS_IMAGE/E2E_IDLE_IMAGE name others.
    E2E_RUN_IMAGES=()
    if [[ -z "${E2E_SONOS_IMAGE:-}" ]]; then
        E2E_SONOS_IMAGE="mqtt-home-voice-e2e/sonos-bridge:$E2E_PROJECT"
        E2E_RUN_IMAGES+=("$E2E_SONOS_IMAGE")
    fi
    if [[ -z "${E2E_IDLE_IMAGE:-}" ]]; then
        E2E_IDLE_IMAGE="mqtt-home-voice-e2e/idle-reporter:$E2E_PROJECT"
        E2E_RUN_IMAGES+=("$E2E_IDLE_IMAGE")
    fi
    E2E_ENV_FILE="$E2E_WORK/stack.env"
    E2E_MQTT_PORT=${E2E_MQTT_PORT:-$(free_port)}
    E2E_HTTP_PORT=${E2E_HTTP_PORT:-$(free_port)}
    # Loopback addresses of the fake speakers: away from 127.0.0.2.. that the integration
    # tests use, so both can run on one machine at the same time.
    E2E_SPEAKER_NET=${E2E_SPEAKER_NET:-127.0.77}
    E2E_SONOS_HOSTS="$E2E_SPEAKER_NET.2,$E2E_SPEAKER_NET.3"
    E2E_CLIP_SPEAKER="$E2E_SPEAKER_NET.4"
    mkdir -p "$E2E_WORK/idle-state" "$E2E_WORK/sounds"
    write_env_file
}

# Build the stack's images from the local base images and the wheelhouse.
build_stack_images() {
    local started
    started=$(now)
    if ! compose build >"$E2E_WORK/build.log" 2>&1; then
        say "image build failed:"
        tail -n 40 "$E2E_WORK/build.log" >&2
        return 1
    fi
    say "stack images built in $(elapsed "$started") s"
}

# Untag this run's images; --no-prune keeps their layers as the next build's cache.
remove_run_images() {
    ((${#E2E_RUN_IMAGES[@]})) || return 0
    docker image rm --no-prune "${E2E_RUN_IMAGES[@]}" >/dev/null 2>&1 || true
}

image_size_mb() {
    docker image inspect -f '{{.Size}}' "$1" 2>/dev/null | awk '{ printf "%.0f", $1 / 1000000 }'
}

# The bench scripts' exit trap: stop the fake speakers (FAKE_PID) and the stack (when
# STARTED is 1), remove the run's images, stop a dockerd started here, remove E2E_WORK.
bench_cleanup() {
    trap - EXIT INT TERM
    if [[ -n "${FAKE_PID:-}" ]]; then kill "$FAKE_PID" 2>/dev/null || true; fi
    if ((${STARTED:-0})); then compose down -v --remove-orphans -t 10 >/dev/null 2>&1 || true; fi
    remove_run_images
    stop_own_docker
    rm -rf "$E2E_WORK"
}

die() { say "$*"; exit 1; }

# Fake Sonos speakers (testkit/fakes/speaker/) on the host's loopback addresses: the
# bridge (host network) reaches them, and they fetch the clips from its audio server like
# real players. Kitchen and Office (in SONOS_HOSTS), and Den ($E2E_CLIP_SPEAKER, S2: audio
# clips on port 1443, found through the others); log in $E2E_WORK/speakers.log; sets
# E2E_FAKE_PID.
start_fake_speakers() {
    local kitchen office
    IFS=, read -r kitchen office <<<"$E2E_SONOS_HOSTS"
    (cd "$ROOT" && exec "$(e2e_python)" -m testkit.fakes.speaker --speaker "Den=$E2E_CLIP_SPEAKER" \
        --s2 Den --speaker "Kitchen=$kitchen" \
        --speaker "Office=$office" --speed "${E2E_SPEAKER_SPEED:-0.2}") \
        >"$E2E_WORK/speakers.log" 2>&1 &
    E2E_FAKE_PID=$!
    local i
    for ((i = 0; i < 50; i++)); do
        grep -q "Fake speaker Office" "$E2E_WORK/speakers.log" 2>/dev/null && return 0
        kill -0 "$E2E_FAKE_PID" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}
