#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test. CI runs exactly this.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
relais_install
relais_build
cd "$RELAIS_BUILD"
ctest --output-on-failure -j "${RELAIS_JOBS:-2}" --timeout 600
