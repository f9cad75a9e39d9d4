#!/usr/bin/env bash
# Installs what is missing, builds, and starts relaisd on 127.0.0.1:50051 with
# an embedded SQLite database under ./data and the demo data set.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
relais_install
relais_build
cd "$RELAIS_ROOT"
exec "$RELAIS_BUILD/services/host/relaisd" --demo --db=data/relais.db --keys_dir=data/keys \
  --listen="${RELAIS_LISTEN:-127.0.0.1:50051}" "$@"
