#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real (broker, audio, D-Bus, X11,
# headless Wayland compositors), but only those whose commands are missing. Needs root (or
# sudo) when something is.
set -euo pipefail

declare -A package_for=(
    [mosquitto]=mosquitto
    [mosquitto_pub]=mosquitto-clients
    [espeak-ng]=espeak-ng
    [lame]=lame
    [dbus-daemon]=dbus
    [Xvfb]=xvfb
    [xdotool]=xdotool
    [xdpyinfo]=x11-utils
    [openssl]=openssl
    # Real desktops for the idle reporter's tests (headless): GNOME, KDE, sway, xscreensaver.
    [mutter]=mutter
    [kwin_wayland]=kwin-wayland
    [sway]=sway
    [wtype]=wtype
    [xscreensaver-command]=xscreensaver
)
# Packages without a command of their own, by a file they install.
declare -A package_for_file=(
    # The fake-input protocol's XML: the KWin tests generate their input client from it.
    [/usr/share/plasma-wayland-protocols/fake-input.xml]=plasma-wayland-protocols
    # Qt's Wayland platform plugin, which KWin's lock screen greeter needs.
    [/usr/share/doc/qtwayland5/copyright]=qtwayland5
)
for option in "$@"; do
    case $option in
        # Docker's engine and debootstrap for the e2e runs; `docker compose` v2 comes from
        # PyPI (make compose-v2), Debian has only Compose v1.29.
        --docker) package_for+=([dockerd]=docker.io [debootstrap]=debootstrap) ;;
        # make e2e-arm64: arm64 programs run through qemu-user and binfmt_misc, except on
        # an arm64 machine.
        --qemu)
            case "$(uname -m)" in
                aarch64 | arm64) ;;
                x86_64 | *) package_for+=([qemu-aarch64-static]=qemu-user-static [update-binfmts]=binfmt-support) ;;
            esac
            ;;
        *) echo "unknown option $option (--docker, --qemu)" >&2; exit 2 ;;
    esac
done

missing=()
for command in "${!package_for[@]}"; do
    command -v "$command" >/dev/null 2>&1 || missing+=("${package_for[$command]}")
done
for file in "${!package_for_file[@]}"; do
    [[ -e "$file" ]] || missing+=("${package_for_file[$file]}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "Please install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
fi
echo "Installing Debian packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
