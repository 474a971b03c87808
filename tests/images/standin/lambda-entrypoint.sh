#!/bin/sh
# The Lambda base image's entry point: the handler name is the one argument (the image's CMD).
if [ $# -ne 1 ]; then
    echo "entrypoint requires the handler name to be the first argument" 1>&2
    exit 142
fi
export _HANDLER="$1"
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
    echo "stand-in base: set AWS_LAMBDA_RUNTIME_API (no runtime interface emulator here)" 1>&2
    exit 1
fi
exec /var/runtime/bootstrap
