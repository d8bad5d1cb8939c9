#!/bin/sh
# Gives every service user a password, writes the broker's password file, then starts
# Mosquitto. Nobody has to invent a password or run mosquitto_passwd by hand.
#
# For each user (sonos_bridge, idle_reporter, homeassistant, healthcheck) the password is:
#   1. its MQTT_*_PASSWORD variable when set (.env wins), else
#   2. the one generated on an earlier start, kept in $DATA_DIR/generated-passwords/<user>,
#      else
#   3. a new random one (32 letters and digits), kept there from now on. Delete that file
#      (`make new-passwords` deletes them all) to get a new one at the next start.
# The password file is rebuilt from these at every start, so a change in .env takes effect
# with `docker compose up -d`.
#
# Each password is also published as $CREDENTIALS_DIR/<user>/password, which is where
# Compose mounts one volume per service: a service reads its own password (read-only,
# MQTT_PASSWORD_FILE) and never sees another's. No password is ever printed.
set -eu

DATA_DIR=${MOSQUITTO_DATA_DIR:-/mosquitto/data}
CONFIG=${MOSQUITTO_CONFIG:-/mosquitto/config/mosquitto.conf}
CREDENTIALS_DIR=${MOSQUITTO_CREDENTIALS_DIR:-/mosquitto/credentials}
GENERATED_DIR="$DATA_DIR/generated-passwords"
PASSWD="$DATA_DIR/passwd"
PLAIN="$PASSWD.new"

umask 077
mkdir -p "$DATA_DIR" "$GENERATED_DIR" "$CREDENTIALS_DIR"
# "user:password" lines, hashed in place by `mosquitto_passwd -U` below: no password ever
# appears on a command line.
: >"$PLAIN"
from_env=""
generated=""
kept=""

random_password() {
    tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32
}

# write_atomically <file> <mode> <content>
write_atomically() {
    printf '%s\n' "$3" >"$1.tmp"
    chmod "$2" "$1.tmp"
    mv "$1.tmp" "$1"
}

# password_of <user> <value from the environment>: sets $password.
password_of() {
    stored="$GENERATED_DIR/$1"
    if [ -n "$2" ]; then
        password=$2
        from_env="$from_env $1"
        return
    fi
    if [ -s "$stored" ]; then
        kept="$kept $1"
    else
        write_atomically "$stored" 600 "$(random_password)"
        generated="$generated $1"
    fi
    password=$(cat "$stored")
}

add_user() {
    password_of "$1" "$2"
    printf '%s:%s\n' "$1" "$password" >>"$PLAIN"
    # World-readable inside a directory that only this user's service mounts: the
    # services run as an unprivileged uid the broker does not know.
    mkdir -p "$CREDENTIALS_DIR/$1"
    chmod 755 "$CREDENTIALS_DIR/$1"
    write_atomically "$CREDENTIALS_DIR/$1/password" 444 "$password"
}

add_user sonos_bridge "${MQTT_SONOS_PASSWORD:-}"
add_user idle_reporter "${MQTT_IDLE_PASSWORD:-}"
add_user homeassistant "${MQTT_HA_PASSWORD:-}"
add_user healthcheck "${MQTT_HEALTHCHECK_PASSWORD:-}"

mosquitto_passwd -U "$PLAIN"
mv "$PLAIN" "$PASSWD"
echo "mosquitto-entrypoint: passwords from .env:${from_env:- none};" \
    "generated now:${generated:- none}; kept:${kept:- none}"

# TLS and the users added by `make add-desktop` / `add-client` (issue 18): tls.sh, clients.sh.
SCRIPTS=${MOSQUITTO_SCRIPTS_DIR:-$(dirname "$0")}
sh "$SCRIPTS/tls.sh" ensure
sh "$SCRIPTS/clients.sh" start
CONFIG=$(sh "$SCRIPTS/tls.sh" config "$CONFIG")

# The broker drops root privileges to the mosquitto user: it must own its files.
if id mosquitto >/dev/null 2>&1; then
    chown -R mosquitto:mosquitto "$DATA_DIR"
    [ -d /mosquitto/log ] && chown -R mosquitto:mosquitto /mosquitto/log
fi

exec mosquitto -c "$CONFIG"
