#!/usr/bin/env bash
# deploy/relais-backup.sh, what the nightly timer runs, against a demo relaisd
# over mutual TLS: each run leaves one whole, private copy; only the newest
# RELAIS_BACKUP_KEEP stay; a wrong password or a member who is no admin leaves
# nothing and fails the unit (non-zero exit).
# Usage: backup_script_test.sh <source-dir> <relaisd> <relaisctl>
set -euo pipefail
SRC=$1 RELAISD=$2 RELAISCTL=$3
WORK=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
PORT=$((20000 + RANDOM % 20000))
"$SRC/deploy/make-dev-certs.sh" "$WORK/certs" >/dev/null
"$RELAISD" --demo --db="$WORK/relais.db" --keys_dir="$WORK/keys" --metrics_listen= \
  --listen="127.0.0.1:$PORT" --tls_cert="$WORK/certs/server.pem" \
  --tls_key="$WORK/certs/server.key" --tls_client_ca="$WORK/certs/ca.pem" \
  >"$WORK/relaisd.out" 2>"$WORK/relaisd.log" &
PID=$!
for _ in $(seq 150); do grep -q "serving on" "$WORK/relaisd.out" && break; sleep 0.2; done
grep -q "serving on" "$WORK/relaisd.out" || { cat "$WORK/relaisd.log"; fail "relaisd did not start"; }

mkdir -m 700 "$WORK/backups"
(umask 077; echo demo-relais-2026 >"$WORK/password"; echo "a wrong password" >"$WORK/wrong")
backup() {  # backup <login> <password file> <service id>
  env -i PATH="$PATH" HOME="$WORK" ASAN_OPTIONS="${ASAN_OPTIONS:-}" LSAN_OPTIONS="${LSAN_OPTIONS:-}" \
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" RELAISCTL="$RELAISCTL" RELAIS_BACKUP_USER="$1" \
    RELAIS_BACKUP_PASSWORD_FILE="$2" RELAIS_BACKUP_DIR="$WORK/backups" RELAIS_BACKUP_KEEP="${KEEP:-2}" \
    RELAIS_SERVER="localhost:$PORT" RELAIS_CA="$WORK/certs/ca.pem" \
    RELAIS_CERT="$WORK/certs/clients/$3.pem" RELAIS_KEY="$WORK/certs/clients/$3.key" \
    "$SRC/deploy/relais-backup.sh"
}
copies() { find "$WORK/backups" -maxdepth 1 -type f | LC_ALL=C sort; }

for run in 1 2 3; do
  ((run == 1)) || sleep 1.1  # names are stamped to the second
  backup admin "$WORK/password" svc_agaj || fail "run $run exited $?"
done
mapfile -t kept < <(copies)
((${#kept[@]} == 2)) || fail "expected the 2 newest copies, found: ${kept[*]}"
for f in "${kept[@]}"; do
  [[ $(basename "$f") =~ ^relais-[0-9]{8}T[0-9]{6}Z\.db$ ]] || fail "unexpected name $f"
  [[ $(stat -c %a "$f") == 600 ]] || fail "$f is not 0600"
  [[ $(sqlite3 "$f" "PRAGMA integrity_check") == ok ]] || fail "$f fails its integrity check"
  (($(sqlite3 "$f" "SELECT COUNT(*) FROM dir_members") > 0)) || fail "$f holds no members"
  (($(sqlite3 "$f" "SELECT COUNT(*) FROM audit_events WHERE action = 36") > 0)) || fail "$f holds no backup event"
done
ls "$WORK/backups" | grep -q '\.tmp$' && fail "a temporary copy was left behind"

# Deny paths: nothing written, and the unit fails.
before=$(copies)
sleep 1.1
if backup admin "$WORK/wrong" svc_agaj; then fail "a wrong password made a backup"; fi
sleep 1.1
if backup amo.camille "$WORK/password" svc_amo_charleroi; then fail "a caseworker made a backup"; fi
[[ $(copies) == "$before" ]] || fail "a refused run changed the backups"
if KEEP=0 backup admin "$WORK/password" svc_agaj; then fail "KEEP=0 accepted"; fi
echo "backup script: ok"
