#!/bin/sh
# The broker's private certificate authority and its TLS server certificate (issue 18).
#
#   sh tls.sh ensure [NAME_OR_ADDRESS ...]    at every start (docker-entrypoint.sh), and by
#                                             `make add-desktop` with the host's names
#   sh tls.sh config <mosquitto.conf>         prints the config file mosquitto must read
#
# ensure: on the first start it makes a CA (EC P-256, 10 years) and a server certificate
# signed by it; both stay in $DATA_DIR/tls, the broker's data volume, and the CA key never
# leaves it (desktops get ca.crt only). The server certificate is issued again, by the
# same CA, when it expires within RENEW_DAYS or when a name or address it must cover is
# missing: localhost, 127.0.0.1, ::1, `mosquitto` (the Compose service), MQTT_TLS_NAMES
# (comma or space separated, from .env), the arguments, and every name it covered before.
# Desktops therefore keep trusting the broker across renewals: they trust the CA.
# A running broker reads the new certificate on SIGHUP (clients.sh sends it).
# It also copies ca.crt into every service's credentials directory.
#
# config: with MQTT_PLAINTEXT=false the plain listener (1883) listens on the container's
# own loopback only: the healthcheck keeps working, nothing from outside reaches it. The
# file mosquitto reads is then a copy of the project's with that one line changed.
#
# POSIX sh with openssl: runs in eclipse-mosquitto:2 (busybox) and in Debian images.
set -eu

DATA_DIR=${MOSQUITTO_DATA_DIR:-/mosquitto/data}
CREDENTIALS_DIR=${MOSQUITTO_CREDENTIALS_DIR:-/mosquitto/credentials}
TLS_DIR="$DATA_DIR/tls"
CA_DAYS=3650
SERVER_DAYS=825
RENEW_DAYS=${MOSQUITTO_TLS_RENEW_DAYS:-30}
BUILTIN_NAMES="localhost 127.0.0.1 ::1 mosquitto"

log() { echo "mosquitto-tls: $*"; }

is_address() {
    case $1 in
    *:*) return 0 ;; # IPv6
    *[!0-9.]*) return 1 ;;
    *.*.*.*) return 0 ;;
    *) return 1 ;;
    esac
}

# wanted_names <extra...>: one name or address per line, sorted, no duplicates.
wanted_names() {
    {
        for name in $BUILTIN_NAMES $(echo "${MQTT_TLS_NAMES:-}" | tr ',' ' ') "$@"; do
            echo "$name"
        done
        [ -f "$TLS_DIR/names" ] && cat "$TLS_DIR/names"
    } | sed '/^$/d' | sort -u
}

subject_alt_names() {
    sans=""
    while read -r name; do
        if is_address "$name"; then entry="IP:$name"; else entry="DNS:$name"; fi
        sans="${sans:+$sans,}$entry"
    done
    echo "$sans"
}

make_ca() {
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$TLS_DIR/ca.key.tmp" -out "$TLS_DIR/ca.crt.tmp" -days "$CA_DAYS" \
        -subj "/CN=mqtt-home-voice CA $(openssl rand -hex 4)" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    mv "$TLS_DIR/ca.key.tmp" "$TLS_DIR/ca.key"
    mv "$TLS_DIR/ca.crt.tmp" "$TLS_DIR/ca.crt"
    rm -f "$TLS_DIR/server.crt" "$TLS_DIR/names"
    log "made a new certificate authority ($TLS_DIR/ca.crt)"
}

# issue_server <names file>
issue_server() {
    sans=$(subject_alt_names <"$1")
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$TLS_DIR/server.key.tmp" -out "$TLS_DIR/server.csr" \
        -subj "/CN=mqtt-home-voice broker" 2>/dev/null
    printf '%s\n' "subjectAltName=$sans" "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$TLS_DIR/server.ext"
    openssl x509 -req -in "$TLS_DIR/server.csr" -CA "$TLS_DIR/ca.crt" -CAkey "$TLS_DIR/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days "$SERVER_DAYS" \
        -extfile "$TLS_DIR/server.ext" -out "$TLS_DIR/server.crt.tmp" 2>/dev/null
    rm -f "$TLS_DIR/server.csr" "$TLS_DIR/server.ext"
    mv "$TLS_DIR/server.key.tmp" "$TLS_DIR/server.key"
    mv "$TLS_DIR/server.crt.tmp" "$TLS_DIR/server.crt"
    mv "$1" "$TLS_DIR/names"
    log "issued the server certificate for $(tr '\n' ' ' <"$TLS_DIR/names")(valid $SERVER_DAYS days)"
}

# Why the server certificate must be issued again, or nothing.
renewal_reason() {
    if [ ! -s "$TLS_DIR/server.crt" ] || [ ! -s "$TLS_DIR/server.key" ]; then
        echo "none yet"
    elif ! openssl x509 -in "$TLS_DIR/server.crt" -noout -checkend $((RENEW_DAYS * 86400)) \
        >/dev/null; then
        echo "it expires within $RENEW_DAYS days"
    elif ! cmp -s "$1" "$TLS_DIR/names"; then
        echo "names to add: $(grep -vxF -f "$TLS_DIR/names" "$1" | tr '\n' ' ')"
    fi
}

publish_ca() {
    for dir in "$CREDENTIALS_DIR"/*/; do
        [ -d "$dir" ] || continue
        cp "$TLS_DIR/ca.crt" "$dir/ca.crt.tmp"
        chmod 444 "$dir/ca.crt.tmp"
        mv "$dir/ca.crt.tmp" "$dir/ca.crt"
    done
}

ensure() {
    command -v openssl >/dev/null || {
        echo "mosquitto-tls: openssl is missing from the broker image" >&2
        exit 1
    }
    umask 077
    mkdir -p "$TLS_DIR"
    [ -s "$TLS_DIR/ca.key" ] && [ -s "$TLS_DIR/ca.crt" ] || make_ca
    [ -f "$TLS_DIR/names" ] || : >"$TLS_DIR/names"
    wanted_names "$@" >"$TLS_DIR/names.wanted"
    reason=$(renewal_reason "$TLS_DIR/names.wanted")
    if [ -n "$reason" ]; then
        log "issuing the server certificate ($reason)"
        issue_server "$TLS_DIR/names.wanted"
    else
        rm -f "$TLS_DIR/names.wanted"
    fi
    chmod 644 "$TLS_DIR/ca.crt" "$TLS_DIR/server.crt"
    # The broker reads its key as the mosquitto user (also after a SIGHUP, when this ran
    # as root through `docker compose exec`).
    if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
        chown -R mosquitto:mosquitto "$TLS_DIR"
    fi
    publish_ca
}

effective_config() {
    case $(echo "${MQTT_PLAINTEXT:-true}" | tr 'A-Z' 'a-z') in
    false | 0 | no | off)
        sed 's/^listener 1883$/listener 1883 127.0.0.1/' "$1" >"$DATA_DIR/mosquitto.conf"
        echo "$DATA_DIR/mosquitto.conf"
        ;;
    *) echo "$1" ;;
    esac
}

case ${1:-} in
ensure)
    shift
    ensure "$@"
    ;;
config) effective_config "$2" ;;
*)
    echo "usage: tls.sh ensure [NAME ...] | tls.sh config <mosquitto.conf>" >&2
    exit 2
    ;;
esac
