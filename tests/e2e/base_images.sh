#!/usr/bin/env bash
# Build local base images without a container registry:
#   debootstrap --variant=minbase --include=<pkgs> bookworm <dir>
#   tar -C <dir> -c . | docker import - <tag>
# An image whose tag already exists is kept (delete it to rebuild).
#
# Usage: bash tests/e2e/base_images.sh            # all three, in parallel
# Environment:
#   E2E_DEBIAN_MIRROR   mirror for debootstrap (default: the one apt uses)
#   E2E_BASE_PREFIX     tag prefix (default mqtt-home-voice-e2e)
#   E2E_BASE_VERSION    tag (default bookworm-1; bump when the package lists change)
# Prints nothing on stdout but the tags when done; progress goes to stderr.
# Sourced (by tests/e2e/lib.sh) it only defines the tags and build_base_images.

PREFIX=${E2E_BASE_PREFIX:-mqtt-home-voice-e2e}
VERSION=${E2E_BASE_VERSION:-bookworm-1}
SUITE=bookworm

# Tags the rest of the e2e flow uses.
PYTHON_TAG="$PREFIX/python:$VERSION"          # python3 + venv: idle_reporter
AUDIO_TAG="$PREFIX/python-audio-lame:$VERSION" # + espeak-ng, lame: sonos_bridge
MOSQUITTO_TAG="$PREFIX/mosquitto:$VERSION-openssl" # mosquitto, mosquitto-clients, openssl

PYTHON_PKGS="python3,python3-venv"
AUDIO_PKGS="$PYTHON_PKGS,espeak-ng,lame"
# openssl: the broker makes its CA and TLS certificate with it (mosquitto/tls.sh).
MOSQUITTO_PKGS="mosquitto,mosquitto-clients,openssl"

log() { printf '[base-images] %s\n' "$*" >&2; }

apt_mirror() {
    if [[ -n "${E2E_DEBIAN_MIRROR:-}" ]]; then
        echo "$E2E_DEBIAN_MIRROR"
        return
    fi
    local uri
    # deb822 sources first (bookworm default), then the one-line format.
    uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '/^URIs:/ {print $2}' | grep -v -- '-security' | grep -i debian | head -n1 || true)
    if [[ -z "$uri" ]]; then
        uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            awk '$1 == "deb" && $0 ~ /debian/ && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' |
            head -n1 || true)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# Remove what an image does not need: package caches, lists, docs.
slim_rootfs() {
    local dir=$1
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/cache/apt/*.bin \
        "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/* \
        "$dir"/usr/share/info/* "$dir"/var/log/*.log "$dir"/var/log/apt/* \
        "$dir"/debootstrap
    # Keep locale data for C.UTF-8 only.
    find "$dir"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'locale.alias' \
        -exec rm -rf {} + 2>/dev/null || true
}

# build_base <tag> <packages> <prepare-function> <docker import --change ...>
build_base() {
    local tag=$1 pkgs=$2 prepare=$3
    shift 3
    if image_exists "$tag"; then
        log "$tag exists, kept"
        return 0
    fi
    local dir started
    dir=$(mktemp -d /var/tmp/e2e-rootfs.XXXXXX)
    started=$(date +%s)
    log "debootstrap $tag ($pkgs)"
    if ! debootstrap --variant=minbase --include="$pkgs" "$SUITE" "$dir" "$(apt_mirror)" \
        >"$dir.log" 2>&1; then
        log "debootstrap for $tag failed; last lines of $dir.log:"
        tail -n 20 "$dir.log" >&2
        rm -rf "$dir"
        return 1
    fi
    "$prepare" "$dir"
    slim_rootfs "$dir"
    local change=()
    for c in "$@"; do change+=(--change "$c"); done
    tar --numeric-owner -C "$dir" -c . | docker import "${change[@]}" - "$tag" >/dev/null
    rm -rf "$dir" "$dir.log"
    log "$tag imported in $(($(date +%s) - started)) s"
}

prepare_python() {
    local dir=$1
    # The official python images have `python`; give the local one the same name.
    [[ -e "$dir/usr/bin/python" ]] || ln -s python3 "$dir/usr/bin/python"
}

prepare_mosquitto() {
    local dir=$1
    # Same layout as eclipse-mosquitto:2: named volumes copy the owner from the image.
    mkdir -p "$dir/mosquitto/config" "$dir/mosquitto/data" "$dir/mosquitto/log"
    chroot "$dir" chown -R mosquitto:mosquitto /mosquitto/data /mosquitto/log
}

COMMON_CHANGES=(
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    'ENV LANG=C.UTF-8'
)

# Build the three base images (in parallel: debootstrap mostly waits for the mirror).
build_base_images() {
    local pids=() rc=0 pid
    (
        set -euo pipefail
        build_base "$PYTHON_TAG" "$PYTHON_PKGS" prepare_python "${COMMON_CHANGES[@]}" \
            'CMD ["python3"]'
    ) &
    pids+=($!)
    (
        set -euo pipefail
        build_base "$AUDIO_TAG" "$AUDIO_PKGS" prepare_python "${COMMON_CHANGES[@]}" \
            'CMD ["python3"]'
    ) &
    pids+=($!)
    (
        set -euo pipefail
        build_base "$MOSQUITTO_TAG" "$MOSQUITTO_PKGS" prepare_mosquitto "${COMMON_CHANGES[@]}" \
            'EXPOSE 1883' 'VOLUME ["/mosquitto/data", "/mosquitto/log"]' \
            'CMD ["/usr/sbin/mosquitto", "-c", "/mosquitto/config/mosquitto.conf"]'
    ) &
    pids+=($!)
    for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
    return "$rc"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    build_base_images
    printf '%s\n' "$PYTHON_TAG" "$AUDIO_TAG" "$MOSQUITTO_TAG"
fi
