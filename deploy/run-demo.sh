#!/usr/bin/env bash
# Installs what is missing, builds relaisd and relaisctl (not the tests), makes
# development certificates (a dev CA, the server's certificate and one client
# certificate per demo service, under ./data/certs) and starts relaisd on
# 127.0.0.1:50051 with mutual TLS, an embedded SQLite database under ./data and
# the demo data set, and the browser console beside it (console/).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
relais_install
relais_configure
# Only what the demo runs: relaisd, and relaisctl, its client in docs/api.md (not the tests).
relais_build relaisd relaisctl
relais_install_console
cd "$RELAIS_ROOT"
"$RELAIS_ROOT/deploy/make-dev-certs.sh" data/certs
LISTEN="${RELAIS_LISTEN:-127.0.0.1:50051}"
# The console (console/), once for the AGAJ's DPO and once each for the SAJ's
# and the AMO's coordinators: each is deployed with its service's certificate.
CONSOLES=()
start_console() {
  node console/src/main.js --relais="localhost:${LISTEN##*:}" --ca=data/certs/ca.pem \
    --cert="data/certs/clients/$1.pem" --key="data/certs/clients/$1.key" \
    --tls-cert=data/certs/server.pem --tls-key=data/certs/server.key --listen="127.0.0.1:$2" &
  CONSOLES+=("$!")
}
start_console svc_agaj "${RELAIS_CONSOLE_PORT:-8443}"
start_console svc_saj_charleroi "$((${RELAIS_CONSOLE_PORT:-8443} + 1))"
start_console svc_amo_charleroi "$((${RELAIS_CONSOLE_PORT:-8443} + 2))"
trap 'kill "${CONSOLES[@]}" 2>/dev/null || true' EXIT
cat <<EOF
Console (accept the development certificate, or import data/certs/ca.pem):
  https://localhost:${RELAIS_CONSOLE_PORT:-8443}  the AGAJ's: log in as dpo (auditor)
  https://localhost:$((${RELAIS_CONSOLE_PORT:-8443} + 1))  the SAJ's: log in as saj.coord (coordinator)
  https://localhost:$((${RELAIS_CONSOLE_PORT:-8443} + 2))  the AMO's: log in as amo.coord (coordinator)
  password demo-relais-2026
EOF
"$RELAIS_BUILD/exe/relaisd" --demo --db=data/relais.db --keys_dir=data/keys \
  --tls_cert=data/certs/server.pem --tls_key=data/certs/server.key \
  --tls_client_ca=data/certs/ca.pem --listen="$LISTEN" \
  --login_gateways=svc_agaj,svc_saj_charleroi,svc_amo_charleroi "$@"
