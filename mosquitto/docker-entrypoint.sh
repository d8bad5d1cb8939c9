#!/bin/sh
# Writes the broker's password file from the environment, then starts Mosquitto.
#
# The file is rebuilt at every start from the MQTT_*_PASSWORD variables, so changing a
# password in .env and restarting the broker is all it takes; nobody runs
# mosquitto_passwd by hand. With no password variables set, an existing file (managed by
# hand) is kept as it is.
set -eu

DATA_DIR=${MOSQUITTO_DATA_DIR:-/mosquitto/data}
CONFIG=${MOSQUITTO_CONFIG:-/mosquitto/config/mosquitto.conf}
PASSWD="$DATA_DIR/passwd"
NEW="$PASSWD.new"

umask 077
mkdir -p "$DATA_DIR"
: > "$NEW"
users=""

add_user() {
    if [ -n "$2" ]; then
        mosquitto_passwd -b "$NEW" "$1" "$2"
        users="$users $1"
    fi
}

add_user sonos_bridge "${MQTT_SONOS_PASSWORD:-}"
add_user idle_reporter "${MQTT_IDLE_PASSWORD:-}"
add_user homeassistant "${MQTT_HA_PASSWORD:-}"
add_user healthcheck "${MQTT_HEALTHCHECK_PASSWORD:-}"

if [ -n "$users" ]; then
    mv "$NEW" "$PASSWD"
    echo "mosquitto-entrypoint: password file written for:$users"
elif [ -s "$PASSWD" ]; then
    rm -f "$NEW"
    echo "mosquitto-entrypoint: no MQTT_*_PASSWORD set; keeping the existing password file"
else
    rm -f "$NEW"
    echo "mosquitto-entrypoint: no MQTT_*_PASSWORD variables set and no password file;" \
        "set them in .env (see .env.example)" >&2
    exit 1
fi

# The broker drops root privileges to the mosquitto user: it must own its files.
if id mosquitto >/dev/null 2>&1; then
    chown -R mosquitto:mosquitto "$DATA_DIR"
    [ -d /mosquitto/log ] && chown -R mosquitto:mosquitto /mosquitto/log
fi

exec mosquitto -c "$CONFIG"
