#!/usr/bin/env bash
# Usage: deploy/make-dev-certs.sh [dir]     (default: data/certs)
#
# Creates, with the `openssl` command, a throw-away certificate authority for
# development and the demo, and the certificates relaisd's mutual TLS needs:
#
#   ca.pem  ca.key                 the dev CA (P-256); relaisd --tls_client_ca=ca.pem
#   server.pem  server.key         relaisd's certificate: localhost, 127.0.0.1, ::1
#   clients/<service id>.pem .key  one client certificate per demo service,
#                                  Common Name = the service id (svc_amo_charleroi, ...)
#
# Idempotent: a file that exists is kept (delete the directory to start over).
# Keys are 0600 and the directory 0700. NEVER use these in production: the CA
# key sits next to the certificates it signed. See docs/operations.md, "Running with real
# certificates".
set -euo pipefail

dir="${1:-data/certs}"
days="${RELAIS_DEV_CERT_DAYS:-825}"

# The demo's service ids (demo/seed.cc).
SERVICES=(
  svc_amo_charleroi svc_saj_charleroi svc_pms_charleroi svc_cpas_charleroi
  svc_prevention_charleroi svc_mado_charleroi svc_ssm_charleroi svc_agaj
)

command -v openssl >/dev/null || { echo "make-dev-certs: openssl is not installed" >&2; exit 1; }
umask 077
mkdir -p "$dir/clients"
chmod 700 "$dir" "$dir/clients"

# new_key <path>: a P-256 private key, 0600, unless it exists.
new_key() {
  [[ -f "$1" ]] && return 0
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  chmod 600 "$1"
}

# issue <cert> <key> <subject> <extension>...: a certificate signed by the dev CA.
issue() {
  local cert="$1" key="$2" subject="$3"
  shift 3
  [[ -f "$cert" ]] && return 0
  new_key "$key"
  local ext=()
  for e in "$@"; do ext+=(-addext "$e"); done
  openssl req -new -key "$key" -subj "$subject" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -days "$days" -sha256 -set_serial "0x$(openssl rand -hex 16)" "${ext[@]}" \
    -out "$cert.tmp" 2>/dev/null
  chmod 644 "$cert.tmp"
  mv "$cert.tmp" "$cert"
  echo "created $cert"
}

if [[ ! -f "$dir/ca.pem" ]]; then
  if [[ -f "$dir/ca.key" ]]; then
    echo "make-dev-certs: $dir/ca.key exists without ca.pem; delete $dir to start over" >&2
    exit 1
  fi
  new_key "$dir/ca.key"
  openssl req -new -x509 -key "$dir/ca.key" -subj "/O=Relais development/CN=Relais dev CA" \
    -days "$days" -sha256 -set_serial "0x$(openssl rand -hex 16)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.pem.tmp" 2>/dev/null
  chmod 644 "$dir/ca.pem.tmp"
  mv "$dir/ca.pem.tmp" "$dir/ca.pem"
  echo "created $dir/ca.pem"
fi

issue "$dir/server.pem" "$dir/server.key" "/O=Relais development/CN=localhost" \
  "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=serverAuth" \
  "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"

for svc in "${SERVICES[@]}"; do
  issue "$dir/clients/$svc.pem" "$dir/clients/$svc.key" "/O=Relais development/CN=$svc" \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=clientAuth"
done
