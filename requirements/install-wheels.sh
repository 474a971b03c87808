#!/bin/sh
# Installs a locked requirements file (binary wheels only, every sha256 checked) into TARGET for the image's
# platform, whatever platform runs it: the Dockerfiles run it in a stage on the build machine's own
# architecture (`FROM --platform=$BUILDPLATFORM`), so an arm64 image built on x86 unpacks and byte-compiles
# its wheels natively (bytecode is the same on every architecture) instead of under emulation.
#   install-wheels.sh REQUIREMENTS TARGET TARGETARCH GLIBC_MINOR
# GLIBC_MINOR is the base's glibc (2.GLIBC_MINOR): wheels for manylinux_2_17 up to it are accepted.
set -eu
requirements=$1 target=$2 arch=${3:-$(uname -m)} glibc_minor=$4
case "$arch" in
    amd64 | x86_64) machine=x86_64 ;;
    arm64 | aarch64) machine=aarch64 ;;
    *) echo "install-wheels.sh: unsupported architecture '$arch'" >&2; exit 1 ;;
esac
version=$(python3 -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')
platforms="--platform manylinux2014_$machine"
minor=17
while [ "$minor" -le "$glibc_minor" ]; do
    platforms="$platforms --platform manylinux_2_${minor}_$machine"
    minor=$((minor + 1))
done
# shellcheck disable=SC2086 # $platforms is a list of options
exec pip install --no-cache-dir --disable-pip-version-check --only-binary=:all: --require-hashes --no-deps \
    --target "$target" --implementation cp --python-version "$version" --abi "cp$version" --abi abi3 \
    --abi none $platforms -r "$requirements"
