#!/usr/bin/env bash
# The stack as a Raspberry Pi 4/5 runs it: the three images built for arm64 and started
# with Compose, on an x86_64 machine through qemu-user emulation (natively on an arm64 one).
#
#   bash tests/e2e/arm64.sh          (make e2e-arm64)
#
# 1. arm64 emulation: qemu-user-static's aarch64 interpreter registered with binfmt_misc
#    (mounted and enabled here when it is not); nothing to do on an arm64 host;
# 2. arm64 base images: debootstrap --arch=arm64 + docker import, cached by tag
#    (tests/e2e/base_images.sh with E2E_BASE_ARCH=arm64);
# 3. an arm64 wheelhouse made on the host (arm64_wheelhouse.sh): binary wheels for the
#    aarch64 platform from the package index; a dependency with none is built from its
#    sdist, on the host when it is pure Python, else in an arm64 build container;
# 4. the bridge image with VARIANT=auto (Piper on aarch64), the idle reporter, the broker;
#    the stack up and healthy; one announcement played on a fake speaker (on the host)
#    with the default engine chain (TTS_ENGINES unset: Piper first); a warm one; the idle
#    reporter reporting from its file source;
# 5. the numbers, marked as emulated: image sizes, seconds to healthy, latencies.
#
# Own project name, free ports and its own speaker addresses (E2E_SPEAKER_NET, default
# 127.0.79): it needs no lock against `make e2e`. Bounded: the whole run is killed after
# E2E_ARM64_TIMEOUT seconds (default 2400) and then fails with a line that says so.
# Environment: E2E_KEEP=1 keeps the stack and work dir; E2E_ARM64_TTS_TIMEOUT (default
# 120, the most it takes: emulated Piper needs tens of seconds, minutes on a busy machine)
# is passed as TTS_TIMEOUT; each announcement is waited for up to 600 s; the
# variables of tests/e2e/lib.sh (E2E_COMPOSE, E2E_PYTHON, E2E_DEBIAN_MIRROR, ...).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1

E2E_ARM64_TIMEOUT=${E2E_ARM64_TIMEOUT:-2400}
if [[ -z "${E2E_ARM64_BOUNDED:-}" ]]; then
    # Run again under timeout(1), which signals the whole process group (docker builds
    # included) when the time is up; the TERM trap below reports it and tears down.
    export E2E_ARM64_BOUNDED=1
    timeout --kill-after=90 "$E2E_ARM64_TIMEOUT" bash "${BASH_SOURCE[0]}" "$@"
    rc=$?
    if ((rc == 124 || rc == 137)); then
        echo "FAIL  arm64 run: not finished within E2E_ARM64_TIMEOUT=$E2E_ARM64_TIMEOUT s" >&2
    fi
    exit "$rc"
fi

E2E_WORK=$(mktemp -d /tmp/mhv-arm64.XXXXXX)
export E2E_BASE_ARCH=arm64
E2E_PROJECT=${E2E_PROJECT:-mhvarm64$$}
E2E_SPEAKER_NET=${E2E_SPEAKER_NET:-127.0.79}
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/arm64_wheelhouse.sh
source "$ROOT/tests/e2e/arm64_wheelhouse.sh"
# Inside the build context (.dockerignore lets it in); the amd64 one stays as it is.
E2E_WHEELHOUSE_REL="tests/e2e/.cache/arm64/wheelhouse"

# lib.sh's compose, with this run's override (compose.arm64.yml: why the bridge gets an
# arm64 /proc/cpuinfo under emulation).
compose() {
    "${COMPOSE[@]}" --env-file "$E2E_ENV_FILE" -p "$E2E_PROJECT" -f "$ROOT/docker-compose.yml" \
        -f "$E2E_DIR/compose.e2e.yml" -f "$E2E_DIR/compose.arm64.yml" "$@"
}

STARTED=0
FAKE_PID=""
RESULTS_PID=""
SUITE_STARTED=$(now)
declare -a NUMBERS=()

number() { NUMBERS+=("$(printf '%-46s %s' "$1" "$2")"); }

teardown() {
    local rc=$?
    trap - EXIT INT TERM
    if ((FAILED > 0 && STARTED)); then
        local service
        for service in mosquitto sonos_bridge idle_reporter; do
            echo "---- $service (last 30 lines) ----" >&2
            compose logs --no-color --tail=30 "$service" >&2 2>&1 || true
        done
    fi
    [[ -z "$RESULTS_PID" ]] || kill "$RESULTS_PID" 2>/dev/null
    [[ -z "$FAKE_PID" ]] || kill "$FAKE_PID" 2>/dev/null
    if [[ -n "${E2E_KEEP:-}" ]]; then
        say "E2E_KEEP set: stack '$E2E_PROJECT' and $E2E_WORK are left in place"
    else
        ((STARTED)) && compose down -v --remove-orphans -t 10 >/dev/null 2>&1
        remove_run_images
        stop_own_docker
        rm -rf "$E2E_WORK"
    fi
    if ((${#NUMBERS[@]})); then
        echo "== arm64 under qemu-user emulation on $(uname -m) (not a Pi's speed):"
        printf '%s\n' "${NUMBERS[@]}"
    fi
    ((FAILED == 0 && rc != 0)) && FAILED=1
    say "finished in $(elapsed "$SUITE_STARTED") s"
    echo "$PASSED passed, $FAILED failed"
    ((FAILED == 0)) || exit 1
    exit 0
}
trap teardown EXIT
trap 'fail interrupted "signal received (E2E_ARM64_TIMEOUT=$E2E_ARM64_TIMEOUT s?)"; exit 1' INT TERM

# ---------------------------------------------------------------- emulation
# The host runs arm64 programs: natively, or through qemu-user-static via binfmt_misc.
ensure_arm64_execution() {
    case "$(uname -m)" in
        aarch64 | arm64) return 0 ;;
        x86_64 | *) ;;
    esac
    local binfmt=/proc/sys/fs/binfmt_misc
    if [[ ! -e "$binfmt/status" ]]; then
        mount -t binfmt_misc binfmt_misc "$binfmt" ||
            { echo "cannot mount $binfmt" >&2; return 1; }
    fi
    if [[ ! -e "$binfmt/qemu-aarch64" ]]; then
        command -v update-binfmts >/dev/null ||
            { echo "install qemu-user-static and binfmt-support" >&2; return 1; }
        update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 ||
            { echo "update-binfmts cannot enable qemu-aarch64 (qemu-user-static missing?)" >&2; return 1; }
    fi
    # F (fix binary): the interpreter is opened now, so it also works inside containers.
    grep -q '^flags: .*F' "$binfmt/qemu-aarch64" ||
        { echo "qemu-aarch64 is registered without the F flag: containers cannot use it" >&2; return 1; }
    grep -qx enabled "$binfmt/qemu-aarch64" || { echo "qemu-aarch64 is disabled" >&2; return 1; }
    echo "qemu-user-static via binfmt_misc"
}

# emulation_settings: the lines compose.arm64.yml reads, for the env file. Emulated, the
# bridge gets a Pi 4's /proc/cpuinfo (Cortex-A72 cores, as many as this machine has CPUs)
# and no build-time voice check; natively, its own.
emulation_settings() {
    case "$(uname -m)" in
        aarch64 | arm64)
            printf 'E2E_CPUINFO=/proc/cpuinfo\nE2E_PIPER_CHECK=true\n'
            ;;
        x86_64 | *)
            local core cores
            cores=$(nproc)
            for ((core = 0; core < cores; core++)); do
                printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n' "$core"
                printf 'CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\n'
                printf 'CPU part\t: 0xd08\nCPU revision\t: 3\n\n'
            done >"$E2E_WORK/cpuinfo"
            printf 'E2E_CPUINFO=%s\nE2E_PIPER_CHECK=false\n' "$E2E_WORK/cpuinfo"
            ;;
    esac
}

# VARIANT=auto chose Piper for the arm64 build (the README's default engine on a Pi).
# (Not imported here: see compose.arm64.yml.)
check_variant() {
    docker run --rm --entrypoint python "$E2E_SONOS_IMAGE" -c 'import importlib.util, sys
sys.exit(not (importlib.util.find_spec("piper") and importlib.util.find_spec("onnxruntime")))' ||
        { echo "Piper is not installed in the image" >&2; return 1; }
    grep -o "VARIANT=auto: building piper for aarch64" "$E2E_WORK/build.log" | head -n1
}

# Every image of the stack runs aarch64 programs (the images are labelled with the
# host's architecture by `docker import`; never pass --platform: that pulls).
check_images_are_arm64() {
    local image machine
    for image in "$MOSQUITTO_TAG" "$E2E_SONOS_IMAGE" "$E2E_IDLE_IMAGE"; do
        machine=$(docker run --rm --entrypoint uname "$image" -m 2>&1) || { echo "$machine" >&2; return 1; }
        [[ "$machine" == aarch64 ]] || { echo "$image runs $machine programs" >&2; return 1; }
    done
    echo "uname -m says aarch64 in all three"
}

# ---------------------------------------------------------------- MQTT from the host
mqtt_args() { printf '%s\n' -h 127.0.0.1 -p "$E2E_MQTT_PORT" -u homeassistant -P "$E2E_HA_PW"; }

start_results_collector() {
    local args
    mapfile -t args < <(mqtt_args)
    mosquitto_sub "${args[@]}" -q 1 -t sonos/result >>"$E2E_WORK/results.jsonl" \
        2>>"$E2E_WORK/results.err" &
    RESULTS_PID=$!
}

# result_of <id>: the JSON result with that id, or nothing.
result_of() { grep -E "\"id\": ?\"$1\"" "$E2E_WORK/results.jsonl" | tail -n1; }

# announce <id> <text> <timeout-s>: publish a request to Kitchen and wait for its result;
# prints the latency the bridge reports, fails unless it was played.
announce() {
    local args result deadline=$(($(date +%s) + $3))
    mapfile -t args < <(mqtt_args)
    mosquitto_pub "${args[@]}" -q 1 -t sonos/tts/Kitchen -m "{\"text\": \"$2\", \"id\": \"$1\"}" ||
        { echo "publish failed" >&2; return 1; }
    until result=$(result_of "$1") && [[ -n "$result" ]]; do
        (($(date +%s) < deadline)) || { echo "no result for $1 within $3 s" >&2; return 1; }
        sleep 0.5
    done
    [[ "$result" == *'"played"'* ]] || { echo "$1: $result" >&2; return 1; }
    sed -n 's/.*"latency_ms": *\([0-9]*\).*/\1/p' <<<"$result"
}

# The default chain (TTS_ENGINES unset) speaks with Piper in the arm64 image: its log
# says the packaged voice was loaded, and Kitchen fetched the clip.
check_first_announcement() {
    local latency log
    latency=$(announce arm64-first "Dinner is ready" 600) || return 1
    log=$(compose logs --no-color sonos_bridge 2>&1)
    grep -q "Loaded Piper voice en_US-joe-medium" <<<"$log" || {
        echo "not spoken by Piper; the bridge says: $(grep -i -e piper -e engine <<<"$log" | tail -n 5)" >&2
        return 1
    }
    grep -q "Kitchen fetched .*bytes" "$E2E_WORK/speakers.log" ||
        { echo "Kitchen never fetched the clip" >&2; return 1; }
    number "first announcement (Piper loads its voice)" "$latency ms"
    echo "spoken by Piper in $latency ms"
}

check_warm_announcement() {
    local latency
    latency=$(announce arm64-warm "Laundry is done" 600) || return 1
    number "warm announcement (as long, new text)" "$latency ms"
    echo "$latency ms"
}

# wait_retained <topic> <expected> <timeout-s>
wait_retained() {
    local args got="" deadline=$(($(date +%s) + $3))
    mapfile -t args < <(mqtt_args)
    while (($(date +%s) < deadline)); do
        got=$(mosquitto_sub "${args[@]}" --retained-only -W 3 -C 1 -t "$1" 2>/dev/null || true)
        [[ "$got" == "$2" ]] && return 0
        sleep 0.5
    done
    echo "$1 is '${got:-nothing}', expected '$2'" >&2
    return 1
}

check_idle_reporter() {
    wait_retained idle/e2e-desktop/state active 60 || return 1
    echo idle >"$E2E_WORK/idle-state/idle-state"
    wait_retained idle/e2e-desktop/state idle 60 || return 1
    echo "state file active -> idle, retained"
}

# ---------------------------------------------------------------- main
for tool in docker debootstrap mosquitto_pub mosquitto_sub timeout; do
    command -v "$tool" >/dev/null 2>&1 || abort setup "$tool is not installed"
done
[[ $(id -u) == 0 ]] || abort setup "run as root (debootstrap, dockerd, binfmt_misc)"
check "the host runs arm64 programs" ensure_arm64_execution
((FAILED == 0)) || exit 1
ensure_docker || abort "docker engine" "no Docker engine"
detect_compose || abort setup "no compose"

say "arm64 base images (debootstrap --arch=arm64 on first use, then cached) and wheelhouse"
started=$(now)
build_base_images >"$E2E_WORK/base-images.log" 2>&1 &
base_pid=$!
build_arm64_wheelhouse "$ROOT/$E2E_WHEELHOUSE_REL" || abort wheelhouse "see above"
pass "arm64 wheelhouse: $(find "$ROOT/$E2E_WHEELHOUSE_REL" -maxdepth 1 -name '*.whl' | wc -l) wheels; $ARM64_WHEEL_NOTES"
wait "$base_pid" || abort "base images" "$(tail -n 20 "$E2E_WORK/base-images.log")"
pass "arm64 base images: $PYTHON_TAG, $AUDIO_TAG, $MOSQUITTO_TAG ($(elapsed "$started") s with the wheelhouse)"

e2e_configure
# The images' own default engine chain; emulation needs a longer engine timeout.
sed -i 's/^TTS_ENGINES=.*/TTS_ENGINES=/' "$E2E_ENV_FILE"
echo "TTS_TIMEOUT=${E2E_ARM64_TTS_TIMEOUT:-120}" >>"$E2E_ENV_FILE"
emulation_settings >>"$E2E_ENV_FILE"
say "project $E2E_PROJECT, MQTT port $E2E_MQTT_PORT, speakers $E2E_SONOS_HOSTS"
started=$(now)
build_stack_images || abort "stack images" "docker build failed"
number "stack images built" "$(elapsed "$started") s"
pass "arm64 stack images built in $(elapsed "$started") s"
check "the three images run aarch64 programs" check_images_are_arm64
check "the bridge image's default (VARIANT=auto) on arm64 holds Piper" check_variant
for image in "$E2E_SONOS_IMAGE" "$E2E_IDLE_IMAGE" "$MOSQUITTO_TAG"; do
    number "image ${image%%:*}" "$(image_size_mb "$image") MB"
done

fake_speakers_up
echo active >"$E2E_WORK/idle-state/idle-state"
touch "$E2E_WORK/results.jsonl"

STARTED=1
started=$(now)
compose up -d >"$E2E_WORK/up.log" 2>&1 || abort "compose up" "$(tail -n 20 "$E2E_WORK/up.log")"
if wait_healthy 300 mosquitto sonos_bridge idle_reporter; then
    number "seconds from 'up -d' to all three healthy" "$(elapsed "$started") s"
    pass "all three services healthy $(elapsed "$started") s after 'up -d'"
else
    abort "stack healthy" "mosquitto=$(health_of mosquitto) sonos_bridge=$(health_of sonos_bridge) idle_reporter=$(health_of idle_reporter)"
fi
E2E_HA_PW=$(stack_ha_password) || abort "make ha-password" "printed nothing"
start_results_collector
check "one announcement with the default engine chain played on Kitchen" check_first_announcement
check "a warm announcement played" check_warm_announcement
check "idle reporter reports from its file source" check_idle_reporter
# Memory after the announcements: an upper bound, qemu-user's translated code counts too.
for service in mosquitto sonos_bridge idle_reporter; do
    number "memory of $service (emulated: qemu included)" \
        "$(docker stats --no-stream --format '{{.MemUsage}}' "$(container_of "$service")" | cut -d/ -f1)"
done
