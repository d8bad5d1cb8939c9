#!/usr/bin/env bash
# make add-desktop NAME=<host> | remove-desktop NAME= | list-desktops | add-client NAME= |
# remove-client NAME= | tls-names: desktops and other household clients of the running stack's broker
# (issue 18; docs/securing-the-lan.md).
#
# The broker's side (its user, its ACL block, the server certificate's names, SIGHUP) is
# mosquitto/clients.sh, run inside the broker's container with `docker compose exec`. This
# side gives the broker this computer's names and LAN addresses for its certificate and
# writes the desktop's bundle: desktops/<host>/idle-reporter.env (mode 0600) and ca.crt.
# Every failure is one line on stderr; nothing is changed then.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMPOSE=${COMPOSE:-docker compose}
DESKTOPS_DIR=${DESKTOPS_DIR:-$ROOT/desktops}
IN_BROKER=(sh /mosquitto/scripts/clients.sh)
PROGRAM="make ${1:-}"

fail() {
    echo "$PROGRAM: $*" >&2
    exit 1
}

# setting <NAME> <default>: from the environment, else from .env, else the default.
setting() {
    local value=${!1:-}
    if [[ -z "$value" && -f "$ROOT/.env" ]]; then
        value=$(sed -n "s/^$1=//p" "$ROOT/.env" | tail -n 1 | sed "s/^[\"']//; s/[\"']\$//")
    fi
    echo "${value:-$2}"
}

broker() {
    # shellcheck disable=SC2086 # COMPOSE is a command and its arguments
    (cd "$ROOT" && $COMPOSE exec -T mosquitto "$@")
}

require_broker() {
    broker true >/dev/null 2>&1 || fail "the broker is not running (start the stack: make up)"
}

# This computer's names and LAN addresses, for the server certificate.
host_names() {
    local name
    name=$(hostname)
    echo "$name" "${name%%.*}.local"
    hostname -I 2>/dev/null || ip -o addr show scope global 2>/dev/null |
        awk '{sub("/.*", "", $4); print $4}'
}

# The address the bundle points at: the first of MQTT_TLS_NAMES, else a LAN address.
bundle_host() {
    local names first
    names=$(setting MQTT_TLS_NAMES "")
    first=$(echo "$names" | tr ',' ' ' | awk '{print $1}')
    if [[ -z "$first" ]]; then
        first=$(host_names | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' | head -n 1 || true)
    fi
    echo "${first:-$(hostname)}"
}

write_bundle() { # <host> <password>
    local dir="$DESKTOPS_DIR/$1" host
    host=$(bundle_host)
    mkdir -p "$dir"
    chmod 700 "$dir"
    broker cat /mosquitto/data/tls/ca.crt >"$dir/ca.crt"
    (
        umask 077
        cat >"$dir/idle-reporter.env.tmp" <<EOF
# The idle reporter of desktop $1 (make add-desktop). Readable by you only: it holds the
# desktop's password. On $1: idle-reporter install-service --env-file idle-reporter.env --enable
MQTT_HOST=$host
MQTT_PORT=$(setting MQTT_TLS_PORT 8883)
MQTT_USERNAME=$1
MQTT_PASSWORD=$2
MQTT_TLS=true
MQTT_CA_FILE=ca.crt
IDLE_HOST_NAME=$1
EOF
        mv "$dir/idle-reporter.env.tmp" "$dir/idle-reporter.env"
    )
    cat <<EOF
Added desktop $1: its own broker user, TLS on $host:$(setting MQTT_TLS_PORT 8883).
Bundle (readable by you only): ${dir#"$ROOT"/}/idle-reporter.env and ca.crt
Copy that folder to $1 (e.g. scp -r ${dir#"$ROOT"/} $1:), then run there, in its desktop session:
  pipx install 'mqtt-home-voice[idle]'    # or from a clone of this repository: pipx install '.[idle]'
  idle-reporter install-service --env-file $1/idle-reporter.env --enable
EOF
    if [[ $(setting MQTT_BIND 0.0.0.0) == 127.0.0.1 ]]; then
        echo "Note: MQTT_BIND=127.0.0.1 keeps the broker off the LAN: other computers cannot reach it."
    fi
}

add_desktop() {
    local name=$1 password
    [[ ! -e "$DESKTOPS_DIR/$name" ]] || fail "desktops/$name exists already (make remove-desktop NAME=$name first)"
    require_broker
    # shellcheck disable=SC2046 # one argument per name
    password=$(broker "${IN_BROKER[@]}" add desktop "$name" $(host_names)) || exit 1
    write_bundle "$name" "$password"
}

add_client() {
    local name=$1 password
    require_broker
    password=$(broker "${IN_BROKER[@]}" add client "$name") || exit 1
    # shellcheck disable=SC2046 # one argument per name
    broker "${IN_BROKER[@]}" names $(host_names) 2>/dev/null || true
    cat <<EOF
Added client $name: it may read and write $name/# and publish Home Assistant discovery.
Its user name is $name, its password (shown once, keep it in the client's settings):
$password
Connect with TLS to $(bundle_host):$(setting MQTT_TLS_PORT 8883) (CA: docs/securing-the-lan.md), or plain to port $(setting MQTT_PORT 1883).
EOF
}

remove() {
    require_broker
    broker "${IN_BROKER[@]}" remove "$1" || exit 1
    rm -rf "${DESKTOPS_DIR:?}/$1"
}

[[ $# -ge 1 ]] || fail "usage: desktops.sh add-desktop|remove-desktop|list-desktops|add-client|remove-client [NAME]"
case $1 in
add-desktop | add-client | remove-desktop | remove-client)
    [[ -n "${2:-}" ]] || fail "give the name: $PROGRAM NAME=<name>"
    ;;
esac
case $1 in
add-desktop) add_desktop "$2" ;;
add-client) add_client "$2" ;;
remove-desktop | remove-client) remove "$2" ;;
list-desktops)
    require_broker
    broker "${IN_BROKER[@]}" list
    ;;
tls-names)
    require_broker
    # shellcheck disable=SC2046 # one argument per name
    broker "${IN_BROKER[@]}" names $(host_names) || exit 1
    echo "The broker's TLS certificate covers: $(broker cat /mosquitto/data/tls/names | tr '\n' ' ')"
    ;;
*) fail "unknown command" ;;
esac
