#!/bin/sh
# Broker users added at run time: one per desktop, one per other household client (issue 18).
#
#   sh clients.sh add desktop <host> [TLS name ...]   prints the new password, nothing else
#   sh clients.sh add client <name>                   (zigbee2mqtt, Tasmota, ESPHome, ...)
#   sh clients.sh remove <name>
#   sh clients.sh list                                "<name> <desktop|client>" per line
#   sh clients.sh names [TLS name ...]                the server certificate covers them
#   sh clients.sh start                               docker-entrypoint.sh, before mosquitto
#
# `make add-desktop`, `remove-desktop`, `list-desktops` and `add-client` run this inside the
# broker's container (scripts/clients.sh on the host writes the desktop's bundle).
#
# Each user is kept in $DATA_DIR/clients: <name>.passwd (its hashed password line) and
# <name>.acl (its ACL block). The files the broker reads are rebuilt from those and the
# stack's own: passwd = the service users (written by the entrypoint) + the clients';
# acl = mosquitto/config/acl + the clients' blocks. Then the running broker gets SIGHUP:
# Mosquitto 2 reloads both files, drops at once every connected client whose user is gone,
# and re-reads its TLS certificate. No restart, no other client notices.
#
# A desktop may write only its own idle/<host>/ topics and its own three discovery configs,
# and read only its own command topic and Home Assistant's birth message (the reporter
# needs nothing else). A client may read and write <name>/# and Home Assistant discovery,
# except the stack's own services' discovery. Base topics are the defaults, as in
# config/acl. Every failure is one line on stderr and changes nothing.
set -eu

DATA_DIR=${MOSQUITTO_DATA_DIR:-/mosquitto/data}
CONFIG=${MOSQUITTO_CONFIG:-/mosquitto/config/mosquitto.conf}
ACL_SOURCE=${MOSQUITTO_ACL_SOURCE:-$(dirname "$CONFIG")/acl}
ACL=${MOSQUITTO_ACL:-$DATA_DIR/acl}
PASSWD=${MOSQUITTO_PASSWD:-$DATA_DIR/passwd}
SERVICES_PASSWD="$DATA_DIR/passwd.services"
PLAIN_PORT=${MOSQUITTO_PLAIN_PORT:-1883}
CLIENTS="$DATA_DIR/clients"
SCRIPTS=$(dirname "$0")
# Users and topic trees of the stack itself: no client may take their names.
RESERVED="sonos_bridge idle_reporter homeassistant healthcheck reload-check sonos idle reply"

fail() {
    echo "$*" >&2
    exit 1
}

# broker_pid: the running mosquitto's process id (MOSQUITTO_PID, else found in /proc).
broker_pid() {
    if [ -n "${MOSQUITTO_PID:-}" ]; then
        kill -0 "$MOSQUITTO_PID" 2>/dev/null && echo "$MOSQUITTO_PID"
        return 0
    fi
    for comm in /proc/[0-9]*/comm; do
        [ "$(cat "$comm" 2>/dev/null)" = mosquitto ] || continue
        pid=${comm#/proc/}
        echo "${pid%/comm}"
        return 0
    done
}

require_broker() {
    pid=$(broker_pid)
    [ -n "$pid" ] || fail "$1: the broker is not running (start it with: make up)"
}

valid_name() { # <kind> <name>
    case $1 in
    desktop) pattern='^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$'
        what="a host name: letters, digits and inner hyphens, at most 63" ;;
    *) pattern='^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$'
        what="letters, digits, _ and -, at most 63, starting with a letter or digit" ;;
    esac
    echo "$2" | grep -Eq "$pattern" || fail "add-$1: '$2' is not a valid name ($what)"
    lower=$(echo "$2" | tr 'A-Z' 'a-z')
    for reserved in $RESERVED; do
        [ "$lower" != "$reserved" ] || fail "add-$1: '$2' is a name the stack itself uses"
    done
}

existing() { # <name>: the stored name equal to it ignoring case, or nothing
    lower=$(echo "$1" | tr 'A-Z' 'a-z')
    for file in "$CLIENTS"/*.passwd; do
        [ -f "$file" ] || continue
        name=$(basename "$file" .passwd)
        if [ "$(echo "$name" | tr 'A-Z' 'a-z')" = "$lower" ]; then
            echo "$name"
            return 0
        fi
    done
    return 0
}

slug() { echo "$1" | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9_][^a-z0-9_]*/_/g; s/^_*//; s/_*$//'; }

desktop_acl() {
    host=$1
    slug=$(slug "$host")
    cat <<EOF
# desktop $host (make add-desktop)
user $host
topic write idle/$host/state
topic write idle/$host/idle_seconds
topic write idle/$host/locked
topic write idle/$host/status
topic read idle/$host/command
topic write homeassistant/binary_sensor/idle_reporter/${slug}_occupancy/config
topic write homeassistant/sensor/idle_reporter/${slug}_idle_seconds/config
topic write homeassistant/binary_sensor/idle_reporter/${slug}_locked/config
topic read homeassistant/status
EOF
}

client_acl() {
    cat <<EOF
# client $1 (make add-client)
user $1
topic readwrite $1/#
topic deny homeassistant/+/sonos_bridge/#
topic deny homeassistant/+/idle_reporter/#
topic readwrite homeassistant/#
EOF
}

# Rebuild the broker's passwd and acl from the stack's users and the clients'. The user
# reload-check (no rights at all) gets a new password each time: once the broker accepts
# it, it has read these files (see reload).
apply() {
    mkdir -p "$CLIENTS"
    random_password >"$CLIENTS/.reload-check"
    printf 'reload-check:%s\n' "$(cat "$CLIENTS/.reload-check")" >"$CLIENTS/.reload-check.passwd"
    mosquitto_passwd -U "$CLIENTS/.reload-check.passwd" >/dev/null
    cat "$SERVICES_PASSWD" "$CLIENTS"/*.passwd "$CLIENTS/.reload-check.passwd" >"$PASSWD.tmp" \
        2>/dev/null || true
    {
        cat "$ACL_SOURCE"
        for file in "$CLIENTS"/*.acl; do
            if [ -f "$file" ]; then printf '\n' && cat "$file"; fi
        done
    } >"$ACL.tmp"
    if id mosquitto >/dev/null 2>&1; then
        chown mosquitto:mosquitto "$PASSWD.tmp" "$ACL.tmp" "$CLIENTS" "$CLIENTS"/* 2>/dev/null || true
    fi
    mv "$PASSWD.tmp" "$PASSWD"
    mv "$ACL.tmp" "$ACL"
}

# SIGHUP, then wait until the broker has applied the new files: Mosquitto reloads the
# password file, the ACL and the TLS certificate together and closes the connections of
# removed users in the same step, so when reload-check's new password is accepted (over
# the plain listener, which always listens on the container's loopback), all of it is done.
reload() {
    kill -HUP "$(broker_pid)"
    check=$(cat "$CLIENTS/.reload-check")
    tries=0
    until mosquitto_pub -h 127.0.0.1 -p "$PLAIN_PORT" -u reload-check -P "$check" \
        -t reload-check -n -q 0 2>/dev/null; do
        tries=$((tries + 1))
        [ "$tries" -lt 100 ] || fail "the broker did not reload its users within 10 s; see its log"
        sleep 0.1
    done
}

random_password() { tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32; }

add() { # <desktop|client> <name> [TLS name ...]
    kind=$1 name=$2
    shift 2
    valid_name "$kind" "$name"
    require_broker "add-$kind"
    found=$(existing "$name")
    [ -z "$found" ] || fail "add-$kind: '$found' exists already (make remove-$kind NAME=$found first)"
    umask 077
    # The server certificate first (it must cover the names the desktop will use): a
    # failure there leaves the users as they were.
    if [ "$kind" = desktop ]; then sh "$SCRIPTS/tls.sh" ensure "$@" >&2; fi
    mkdir -p "$CLIENTS"
    password=$(random_password)
    printf '%s:%s\n' "$name" "$password" >"$CLIENTS/.new"
    mosquitto_passwd -U "$CLIENTS/.new" >/dev/null
    if [ "$kind" = desktop ]; then desktop_acl "$name"; else client_acl "$name"; fi >"$CLIENTS/$name.acl"
    mv "$CLIENTS/.new" "$CLIENTS/$name.passwd"
    apply
    reload
    echo "$password"
}

remove() { # <name>
    require_broker remove
    found=$(existing "$1")
    [ -n "$found" ] || fail "remove: no desktop or client named '$1' (make list-desktops)"
    rm -f "$CLIENTS/$found.passwd" "$CLIENTS/$found.acl"
    apply
    reload
    echo "removed $found: its connections are closed and it can no longer log in" >&2
}

list() {
    for file in "$CLIENTS"/*.acl; do
        [ -f "$file" ] || continue
        kind=$(sed -n '1s/^# \([a-z]*\) .*/\1/p' "$file")
        echo "$(basename "$file" .acl) $kind"
    done
}

names() { # [TLS name ...]: re-issue the server certificate if one is missing, reload
    require_broker names
    sh "$SCRIPTS/tls.sh" ensure "$@" >&2
    apply
    reload
}

start() {
    cp "$PASSWD" "$SERVICES_PASSWD"
    apply
}

case ${1:-} in
add)
    [ $# -ge 3 ] && { [ "$2" = desktop ] || [ "$2" = client ]; } ||
        fail "usage: clients.sh add desktop|client NAME"
    shift
    add "$@"
    ;;
remove)
    [ $# -eq 2 ] || fail "usage: clients.sh remove NAME"
    remove "$2"
    ;;
list) list ;;
names)
    shift
    names "$@"
    ;;
start) start ;;
*) fail "usage: clients.sh add desktop|client NAME | remove NAME | list | names | start" ;;
esac
