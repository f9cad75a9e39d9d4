#!/usr/bin/env bash
# docs/api.md "Explore the API with buf curl", run against a fresh demo relaisd over
# mutual TLS: list services and methods through reflection, check health, log in
# (with relaisctl and with buf curl), read the demo youth with the token, and see
# the refusals without a token and through another service's certificate.
# Usage: buf_curl_test.sh <source-dir> <build-dir> <buf>
set -euo pipefail
SRC=$1 BUILD=$2 BUF=$3
[[ -x "$BUF" ]] || { echo "FAIL: buf not found at $BUF (deploy/common.sh installs it)"; exit 1; }
WORK=$(mktemp -d)
trap 'kill "$RELAISD" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=$((20000 + RANDOM % 20000))
"$SRC/deploy/make-dev-certs.sh" "$WORK/certs" >/dev/null
"$BUILD/exe/relaisd" --demo --db="$WORK/relais.db" --keys_dir="$WORK/keys" \
  --listen="127.0.0.1:$PORT" --metrics_listen= --tls_cert="$WORK/certs/server.pem" \
  --tls_key="$WORK/certs/server.key" --tls_client_ca="$WORK/certs/ca.pem" \
  >"$WORK/relaisd.out" 2>"$WORK/relaisd.log" &
RELAISD=$!
for _ in $(seq 100); do grep -q "serving on" "$WORK/relaisd.out" && break; sleep 0.2; done
youth=$(sed -n 's/^Demo youth id: //p' "$WORK/relaisd.out")
[[ -n "$youth" ]] || { echo "FAIL: relaisd did not start"; cat "$WORK/relaisd.log"; exit 1; }
cd "$WORK"  # the page's paths are relative to the repository root: data/certs
mkdir -p data && ln -s "$WORK/certs" data/certs
fail() { echo "FAIL: $*"; exit 1; }
# No `set -x`: the trace would print the bearer token into the test log.
# --- docs/api.md's commands (section "Explore the API with buf curl") --------------
bufc() { "$BUF" curl --protocol grpc --cacert data/certs/ca.pem \
  --cert data/certs/clients/svc_amo_charleroi.pem \
  --key data/certs/clients/svc_amo_charleroi.key "$@"; }
services=$(bufc --list-services "https://127.0.0.1:$PORT")
methods=$(bufc --list-methods "https://127.0.0.1:$PORT")
health=$(bufc -d '{"service":"relais.v1.RecordService"}' \
  "https://127.0.0.1:$PORT/grpc.health.v1.Health/Check")
echo demo-relais-2026 | RELAIS_TOKEN_FILE="$WORK/token" "$BUILD/tools/relaisctl/relaisctl" \
  --server "localhost:$PORT" --ca data/certs/ca.pem \
  --cert data/certs/clients/svc_amo_charleroi.pem --key data/certs/clients/svc_amo_charleroi.key \
  login --user amo.camille --password_stdin >/dev/null
TOKEN=$(cat "$WORK/token")
req="{\"youth_id\":\"$youth\",\"purpose\":\"PURPOSE_COORDINATION\"}"
login=$(bufc -d '{"login":"amo.camille","password":"demo-relais-2026"}' \
  "https://127.0.0.1:$PORT/relais.v1.AuthService/Login")
youth_json=$(bufc -H "Authorization: Bearer $TOKEN" -d "$req" \
  "https://127.0.0.1:$PORT/relais.v1.RecordService/GetYouth")
entries=$(bufc -H "Authorization: Bearer $TOKEN" -d "$req" \
  "https://127.0.0.1:$PORT/relais.v1.RecordService/ListEntries")
no_token_rc=0
no_token=$(bufc -d "$req" \
  "https://127.0.0.1:$PORT/relais.v1.RecordService/GetYouth" 2>&1) || no_token_rc=$?
other_cert_rc=0
other_cert=$("$BUF" curl --protocol grpc --cacert data/certs/ca.pem \
  --cert data/certs/clients/svc_saj_charleroi.pem --key data/certs/clients/svc_saj_charleroi.key \
  -H "Authorization: Bearer $TOKEN" -d "$req" \
  "https://127.0.0.1:$PORT/relais.v1.RecordService/GetYouth" 2>&1) || other_cert_rc=$?
set +x
# --- Checks ----------------------------------------------------------------------
for s in relais.v1.AuthService relais.v1.RecordService relais.v1.CareService \
         relais.v1.AuditService relais.v1.DirectoryService relais.v1.PartnershipService \
         relais.v1.InboxService \
         grpc.health.v1.Health; do
  grep -qx "$s" <<<"$services" || fail "--list-services lacks $s"
done
for m in relais.v1.AuthService/Login relais.v1.RecordService/ListEntries \
         grpc.health.v1.Health/Check; do
  grep -qx "$m" <<<"$methods" || fail "--list-methods lacks $m"
done
grep -q '"SERVING"' <<<"$health" || fail "health: $health"
grep -q '"token"' <<<"$login" || fail "Login through buf curl gave no token"
grep -q '"Lina' <<<"$youth_json" || fail "GetYouth did not answer the demo youth: $youth_json"
grep -q '"entries"' <<<"$entries" || fail "ListEntries: $entries"
((no_token_rc != 0)) && grep -q "token_missing" <<<"$no_token" || fail "no token: $no_token"
((other_cert_rc != 0)) && grep -q "certificate_service_mismatch" <<<"$other_cert" \
  || fail "another service's certificate: $other_cert"
grep -q "$TOKEN" "$WORK/relaisd.log" && fail "the token reached the server log"
echo "buf curl: ok ($(wc -l <<<"$methods") methods listed)"
