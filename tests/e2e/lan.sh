# Desktops on the LAN (issue 18), against the running stack under test. Sourced by run.sh.
#
# `make add-desktop` adds a desktop to the running broker and writes its bundle; an idle
# reporter on this host (the project's venv, as on a desktop) reports with that bundle through
# the TLS port, verifying the broker's certificate; `make remove-desktop` drops it at once and
# its credentials are refused from then on; a foreign CA is refused by the reporter in one line.

LAN_DESKTOP=e2e-lan
LAN_REPORTER_PID=""

# make <target> against the stack under test (its project, env file and compose files).
lan_make() {
    COMPOSE="${COMPOSE[*]} --env-file $E2E_ENV_FILE -p $E2E_PROJECT -f $ROOT/docker-compose.yml -f $E2E_DIR/compose.e2e.yml" \
        DESKTOPS_DIR="$E2E_WORK/desktops" MQTT_TLS_PORT="$E2E_MQTT_TLS_PORT" MQTT_TLS_NAMES=localhost \
        make --no-print-directory -C "$ROOT" "$@"
}

# lan_reporter <bundle dir> [VAR=value ...]: the reporter on this host with the bundle.
# Call it in a subshell: it replaces that subshell (exec), so its pid is the reporter's and
# stopping it leaves no orphan behind.
lan_reporter() {
    local bundle=$1
    shift
    mkdir -p "$E2E_WORK/lan-state"
    echo active >"$E2E_WORK/lan-idle-state"
    # shellcheck disable=SC2046 # the bundle's NAME=value lines, one argument each
    exec env -i PATH="$PATH" HOME="$E2E_WORK" $(grep -v '^#' "$bundle/idle-reporter.env") \
        MQTT_CA_FILE="$bundle/ca.crt" STATE_DIR="$E2E_WORK/lan-state" IDLE_SOURCE=file \
        IDLE_STATE_FILE="$E2E_WORK/lan-idle-state" IDLE_POLL_INTERVAL=1 "$@" \
        "$(e2e_python)" -m idle_reporter
}

lan_stop_reporter() {
    [[ -n "$LAN_REPORTER_PID" ]] || return 0
    kill "$LAN_REPORTER_PID" 2>/dev/null
    wait "$LAN_REPORTER_PID" 2>/dev/null
    LAN_REPORTER_PID=""
}

check_desktop_over_tls() {
    local bundle="$E2E_WORK/desktops/$LAN_DESKTOP" out password
    out=$(lan_make add-desktop NAME="$LAN_DESKTOP" 2>&1) || { echo "add-desktop: $out" >&2; return 1; }
    grep -q "install-service --env-file $LAN_DESKTOP/idle-reporter.env --enable" <<<"$out" ||
        { echo "add-desktop printed: $out" >&2; return 1; }
    [[ $(stat -c %a "$bundle/idle-reporter.env") == 600 ]] || { echo "bundle not 0600" >&2; return 1; }
    lan_make list-desktops 2>&1 | grep -qx "$LAN_DESKTOP desktop" || { echo "not listed" >&2; return 1; }
    (cd "$ROOT" && lan_reporter "$bundle" >"$E2E_WORK/lan-reporter.log" 2>&1) &
    LAN_REPORTER_PID=$!
    if ! wait_retained "idle/$LAN_DESKTOP/state" active 30; then
        echo "no retained state from the reporter on 8883: $(tail -n 5 "$E2E_WORK/lan-reporter.log")" >&2
        lan_stop_reporter
        return 1
    fi
    grep -q "Connected to localhost:$E2E_MQTT_TLS_PORT" "$E2E_WORK/lan-reporter.log" ||
        { echo "the reporter did not use the TLS port" >&2; lan_stop_reporter; return 1; }
    password=$(sed -n 's/^MQTT_PASSWORD=//p' "$bundle/idle-reporter.env")
    out=$(lan_make remove-desktop NAME="$LAN_DESKTOP" 2>&1) || { echo "remove-desktop: $out" >&2; lan_stop_reporter; return 1; }
    lan_stop_reporter
    if mosquitto_sub -h localhost -p "$E2E_MQTT_TLS_PORT" --cafile "$E2E_WORK/lan-ca.crt" \
        -u "$LAN_DESKTOP" -P "$password" -t "idle/$LAN_DESKTOP/command" -E 2>/dev/null; then
        echo "the removed desktop can still log in" >&2
        return 1
    fi
    echo "bundle written, reporter reported through $E2E_MQTT_TLS_PORT, removed and refused"
}

# Run before check_desktop_over_tls removes the bundle: keep the CA for its last check.
check_foreign_ca_refused() {
    local bundle="$E2E_WORK/desktops/$LAN_DESKTOP-ca" out
    lan_make add-desktop NAME="$LAN_DESKTOP-ca" >/dev/null 2>&1 || { echo "add-desktop failed" >&2; return 1; }
    cp "$bundle/ca.crt" "$E2E_WORK/lan-ca.crt"
    MOSQUITTO_DATA_DIR="$E2E_WORK/foreign" MOSQUITTO_CREDENTIALS_DIR="$E2E_WORK/foreign/c" \
        sh "$ROOT/mosquitto/tls.sh" ensure >/dev/null
    out=$(cd "$ROOT" && lan_reporter "$bundle" MQTT_CA_FILE="$E2E_WORK/foreign/tls/ca.crt" 2>&1)
    local rc=$?
    lan_make remove-desktop NAME="$LAN_DESKTOP-ca" >/dev/null 2>&1
    [[ $rc == 2 && $(wc -l <<<"$out") == 1 && "$out" == *"not signed by"* ]] ||
        { echo "exit $rc: $out" >&2; return 1; }
    echo "exit 2: $out"
}
