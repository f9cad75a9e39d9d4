#!/usr/bin/env bash
# tools/load (relais-load) against a demo relaisd --diagnostics over mutual TLS:
# the echo baseline and the default mix both run, every call ends OK, the
# report names each status and the server's CPU per call; an overload phase at
# twice the measured rate ends only in the statuses of a shedding server; a
# wrong password, a mix it cannot run or plaintext to a remote address fails
# before any load.
# Usage: load_driver_test.sh <source-dir> <relaisd> <relais-load>
set -euo pipefail
SRC=$1 RELAISD=$2 LOAD=$3
WORK=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
PORT=$((20000 + RANDOM % 20000))
"$SRC/deploy/make-dev-certs.sh" "$WORK/certs" >/dev/null
"$RELAISD" --demo --diagnostics --db="$WORK/relais.db" --keys_dir="$WORK/keys" --metrics_listen= \
  --listen="127.0.0.1:$PORT" --tls_cert="$WORK/certs/server.pem" \
  --tls_key="$WORK/certs/server.key" --tls_client_ca="$WORK/certs/ca.pem" \
  >"$WORK/relaisd.out" 2>"$WORK/relaisd.log" &
PID=$!
for _ in $(seq 150); do grep -q "serving on" "$WORK/relaisd.out" && break; sleep 0.2; done
grep -q "serving on" "$WORK/relaisd.out" || { cat "$WORK/relaisd.log"; fail "relaisd did not start"; }
YOUTH=$(sed -n 's/^Demo youth id: //p' "$WORK/relaisd.out")
[[ -n "$YOUTH" ]] || fail "no demo youth id in the banner"

load() {  # load <password> [flags...]
  local password=$1; shift
  echo "$password" | "$LOAD" --server="localhost:$PORT" --ca="$WORK/certs/ca.pem" \
    --cert="$WORK/certs/clients/svc_amo_charleroi.pem" \
    --key="$WORK/certs/clients/svc_amo_charleroi.key" --user=amo.camille --youth="$YOUTH" \
    --server_pid="$PID" --warmup=0s "$@"
}
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

load demo-relais-2026 --json --count=400 --concurrency=16 >"$WORK/run.json" ||
  fail "the default mix failed: $(cat "$WORK/run.json")"
[[ $(field "$WORK/run.json" "[p['name'] for p in d['phases']]") == "['echo', 'mix']" ]] ||
  fail "expected an echo and a mix phase: $(cat "$WORK/run.json")"
for phase in 0 1; do
  [[ $(field "$WORK/run.json" "d['phases'][$phase]['statuses']") == "{'OK': 400}" ]] ||
    fail "phase $phase: not 400 OK calls: $(cat "$WORK/run.json")"
  [[ $(field "$WORK/run.json" "d['phases'][$phase]['server_cpu_us_per_call'] is not None") == True ]] ||
    fail "phase $phase: no server CPU per call"
done
[[ $(field "$WORK/run.json" "d['figures']['mix_qps_percent_of_echo'] > 0") == True ]] ||
  fail "no ratio to the echo"
# The mix wrote entries and read them: the audit log holds its reads.
(($(sqlite3 "$WORK/relais.db" "SELECT COUNT(*) FROM audit_events WHERE action = 9") >= 200)) ||
  fail "the mix's entry reads are not in the audit log"

# Overload at twice the measured rate, 1 s deadlines, then recovery.
load demo-relais-2026 --overload --duration=2s --deadline=1s --concurrency=16 --echo=false \
  >"$WORK/overload.txt" || fail "overload ended in a status a shedding server never answers:
$(cat "$WORK/overload.txt")"
grep -q '^overload ' "$WORK/overload.txt" || fail "no overload phase: $(cat "$WORK/overload.txt")"
grep -q '^recovery_seconds_to_80_percent: ' "$WORK/overload.txt" || fail "no recovery figure"
kill -0 "$PID" || fail "relaisd died under overload"

# Deny and usage paths: nothing is run.
if load "a wrong password" --count=10 >"$WORK/denied.txt" 2>&1; then fail "a wrong password ran"; fi
grep -q "login failed: UNAUTHENTICATED" "$WORK/denied.txt" || fail "$(cat "$WORK/denied.txt")"
if load demo-relais-2026 --mix=fetch=1 >"$WORK/usage.txt" 2>&1; then fail "an unknown mix ran"; fi
grep -q 'unknown call kind "fetch"' "$WORK/usage.txt" || fail "$(cat "$WORK/usage.txt")"
# Plaintext to a server off the machine would send the password in clear.
if echo demo-relais-2026 | "$LOAD" --insecure --server=192.0.2.1:50051 --user=amo.camille \
  --youth="$YOUTH" >"$WORK/plain.txt" 2>&1; then fail "--insecure ran to a remote address"; fi
grep -q -- "--insecure is for a loopback server only" "$WORK/plain.txt" || fail "$(cat "$WORK/plain.txt")"
echo "load driver: ok"
