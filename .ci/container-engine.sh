# Sourced by .ci/run: make a container engine available so that the image tests run (tests/images).
# Uses a reachable daemon as it is; else installs Debian's Docker, mmdebstrap (the stand-in base images) and
# QEMU (the arm64 images), starts a private dockerd, and exports DOCKER_HOST. Its data root lies outside the
# clone, so base layers and stand-ins built by one CI run are reused by the next on the same machine.

FRAUD_DOCKER_ROOT="${FRAUD_DOCKER_ROOT:-/var/lib/fraud-detection-ci/docker}"
FRAUD_DOCKER_RUN="/run/fraud-detection-ci"

_engine_up() { /usr/bin/docker info >/dev/null 2>&1; }

_engine_install() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io iptables)
    command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
    command -v arch-test >/dev/null || missing+=(arch-test)
    [ -e /usr/bin/qemu-aarch64-static ] || missing+=(qemu-user-static binfmt-support)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "container engine: installing ${missing[*]}"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
    # arm64 under emulation: best effort (a container without binfmt_misc builds x86_64 only).
    if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
    fi
    update-binfmts --enable qemu-aarch64 2>/dev/null || true
}

_engine_start() {
    mkdir -p "$FRAUD_DOCKER_ROOT" "$FRAUD_DOCKER_RUN"
    export DOCKER_HOST="unix://$FRAUD_DOCKER_RUN/docker.sock"
    if _engine_up; then return 0; fi
    dockerd --data-root "$FRAUD_DOCKER_ROOT" --exec-root "$FRAUD_DOCKER_RUN/exec" -H "$DOCKER_HOST" \
        --pidfile "$FRAUD_DOCKER_RUN/docker.pid" >"$FRAUD_DOCKER_RUN/dockerd.log" 2>&1 &
    FRAUD_DOCKERD_PID=$!
    trap 'kill "$FRAUD_DOCKERD_PID" 2>/dev/null; wait "$FRAUD_DOCKERD_PID" 2>/dev/null' EXIT
    for _ in $(seq 60); do
        if _engine_up; then return 0; fi
        sleep 1
    done
    echo "container engine: dockerd did not start; its log:" >&2
    tail -20 "$FRAUD_DOCKER_RUN/dockerd.log" >&2
    return 1
}

# With an engine up, the image tests must run (a skip would then be a failure): FRAUD_IMAGE_TESTS_REQUIRED.
if _engine_up; then
    echo "container engine: using the daemon at ${DOCKER_HOST:-the default socket}"
    export FRAUD_IMAGE_TESTS_REQUIRED=1
elif [ "$(id -u)" -ne 0 ]; then
    echo "container engine: NONE reachable and not root: the image tests will be SKIPPED"
elif _engine_install && _engine_start; then
    echo "container engine: dockerd at $DOCKER_HOST (data in $FRAUD_DOCKER_ROOT)"
    export FRAUD_IMAGE_TESTS_REQUIRED=1
else
    echo "container engine: could NOT start one: the image tests will be SKIPPED"
fi
