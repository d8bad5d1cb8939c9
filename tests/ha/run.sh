#!/usr/bin/env bash
# `make test-ha`: the discovery checked by a real Home Assistant.
#
# 1. Home Assistant (tests/ha/requirements.txt, exact pins) goes into its own virtual
#    environment on Python 3.13, in a cache directory outside the repository keyed by
#    the pins and the interpreter, so later runs reuse it (it is ~800 MB).
# 2. The tests run in a private network namespace where only loopback exists: Home
#    Assistant, the broker, the bridge and the fake speakers talk to each other, and
#    nothing can reach the outside (no analytics, no update checks, nothing).
# Extra arguments go to pytest (e.g. `bash tests/ha/run.sh -k rename`).
set -euo pipefail
cd "$(dirname "$0")/../.."

REQUIREMENTS=tests/ha/requirements.txt
PYTEST=${PYTEST:-.venv/bin/python}

is_python_313() {
    [[ -n $1 ]] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null
}

find_python() {
    local candidate
    for candidate in "${HA_PYTHON:-}" "$(command -v python3.13 || true)" \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13; do
        if is_python_313 "$candidate"; then
            echo "$candidate"
            return
        fi
    done
    echo "make test-ha: Home Assistant 2025.4 needs Python 3.13; install it (e.g. pyenv" \
        "install 3.13) or set HA_PYTHON to its interpreter" >&2
    exit 1
}

install_home_assistant() {
    local python=$1 key venv
    key=$({ cat "$REQUIREMENTS"; "$python" -VV; } | sha256sum | cut -c1-16)
    venv=${XDG_CACHE_HOME:-$HOME/.cache}/mqtt-home-voice/ha-2025.4-$key
    if [[ ! -f $venv/.installed ]]; then
        echo "Installing Home Assistant into $venv (once; later runs reuse it)" >&2
        rm -rf "$venv"
        "$python" -m venv "$venv"
        if ! "$venv/bin/pip" install --disable-pip-version-check --no-deps \
            -r "$REQUIREMENTS" >"$venv.log" 2>&1; then
            tail -n 40 "$venv.log" >&2
            exit 1
        fi
        touch "$venv/.installed"
    fi
    echo "$venv"
}

started=$SECONDS
HA_VENV=$(install_home_assistant "$(find_python)")
export HA_VENV
echo "Home Assistant ready in $((SECONDS - started)) s: $HA_VENV" >&2

run_pytest=("$PYTEST" -m pytest tests/ha "$@")
if [[ $(id -u) -eq 0 ]]; then
    isolate=(unshare --net)
else
    isolate=(unshare --map-root-user --net)
fi
if "${isolate[@]}" true 2>/dev/null; then
    exec "${isolate[@]}" sh -c 'ip link set lo up && exec "$@"' sh "${run_pytest[@]}"
fi
echo "make test-ha: cannot create a network namespace here; running on the host's" \
    "network (Home Assistant's configuration still keeps it on loopback)" >&2
exec "${run_pytest[@]}"
