#!/usr/bin/env bash
# Installs what is missing, builds relaisd and relaisctl (not the tests), makes
# development certificates (a dev CA, the server's certificate and one client
# certificate per demo service, under ./data/certs) and starts relaisd on
# 127.0.0.1:50051 with mutual TLS, an embedded SQLite database under ./data and
# the demo data set.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
relais_install
relais_configure
# Only what the demo runs: relaisd, and relaisctl, its client in docs/api.md (not the tests).
relais_build relaisd relaisctl
cd "$RELAIS_ROOT"
"$RELAIS_ROOT/deploy/make-dev-certs.sh" data/certs
exec "$RELAIS_BUILD/exe/relaisd" --demo --db=data/relais.db --keys_dir=data/keys \
  --tls_cert=data/certs/server.pem --tls_key=data/certs/server.key \
  --tls_client_ca=data/certs/ca.pem \
  --listen="${RELAIS_LISTEN:-127.0.0.1:50051}" "$@"
