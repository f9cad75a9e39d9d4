#!/usr/bin/env bash
# deploy/soak.sh [seconds] [relais-soak flags...]: builds relais-soak without
# sanitizers (build-soak/; ASan's quarantine and shadow memory would swamp the
# RSS figures) and runs it: a steady mixed load on an in-process relaisd over
# loopback for [seconds] (default 60; the long mode is 600), sampling RSS and
# open descriptors. Exit status non-zero if memory grew by more than 10% after
# the warm-up, a descriptor leaked, a call got an unexpected status or the
# audit chain does not verify. See tests/soak/soak_main.cc for the flags.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RELAIS_BUILD="${RELAIS_SOAK_BUILD:-$RELAIS_ROOT/build-soak}"
relais_install
cmake -S "$RELAIS_ROOT" -B "$RELAIS_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$RELAIS_BUILD" -j "${RELAIS_JOBS:-2}" --target relais-soak
exec "$RELAIS_BUILD/tests/soak/relais-soak" --seconds="${1:-60}" "${@:2}"
