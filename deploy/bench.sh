#!/usr/bin/env bash
# Installs what is missing, builds relaisd, relais-load and relais-bench
# (RelWithDebInfo, in build/ like the demo), and measures issue #13's targets on
# this machine: each line prints the target, the figure of this run and
# whether it is met. Method and last figures: docs/performance.md.
#   ./deploy/bench.sh                 # about 10 minutes, 5 GB of disk for the full set
#   RELAIS_BENCH_SECONDS=20 ./deploy/bench.sh
#   RELAIS_BENCH_SCALE=0.1 ./deploy/bench.sh   # a tenth of the full data set
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
relais_install
relais_configure
relais_build relaisd relais-load relais-bench relais-datagen
SECONDS_PER_PHASE=${RELAIS_BENCH_SECONDS:-10}
WORK=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$RELAIS_ROOT/deploy/make-dev-certs.sh" "$WORK/certs" >/dev/null
echo demo-relais-2026 >"$WORK/password"

# start_relaisd <name> [flags...]: a demo relaisd over mutual TLS; sets PORT, PID, YOUTH.
start_relaisd() {
  local name=$1; shift
  PORT=$((20000 + RANDOM % 20000))
  "$RELAIS_BUILD/exe/relaisd" --demo --diagnostics --db="$WORK/$name.db" \
    --keys_dir="$WORK/$name.keys" --metrics_listen= --listen="127.0.0.1:$PORT" \
    --tls_cert="$WORK/certs/server.pem" --tls_key="$WORK/certs/server.key" \
    --tls_client_ca="$WORK/certs/ca.pem" "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 150); do grep -q "serving on" "$WORK/$name.out" && break; sleep 0.2; done
  grep -q "serving on" "$WORK/$name.out" || { cat "$WORK/$name.log"; exit 1; }
  YOUTH=$(sed -n 's/^Demo youth id: //p' "$WORK/$name.out")
}
# load <json out> [flags...]: relais-load as amo.camille, 4 connections, 64 in flight.
load() {
  local out=$1; shift
  "$RELAIS_BUILD/tools/load/relais-load" --server="localhost:$PORT" --ca="$WORK/certs/ca.pem" \
    --cert="$WORK/certs/clients/svc_amo_charleroi.pem" \
    --key="$WORK/certs/clients/svc_amo_charleroi.key" --user=amo.camille --youth="$YOUTH" \
    --server_pid="$PID" --connections=4 --concurrency=64 --duration="${SECONDS_PER_PHASE}s" \
    --json "$@" <"$WORK/password" >"$out"
}
# figure <json> <python expression over d>
figure() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
# verdict <label> <figure> <python condition over x>
verdict() {
  local met
  met=$(python3 -c "x=float('$2'); print('met' if ($3) else 'NOT MET')" 2>/dev/null || echo "n/a")
  printf '%-58s %12s  %s\n' "$1" "$2" "$met"
}

echo "== relaisd (group commit), demo data, mutual TLS, 4 connections x 16 streams"
start_relaisd main
load "$WORK/read.json" --mix=get=1
load "$WORK/mix.json" --echo=false
load "$WORK/add.json" --mix=add=1 --echo=false
load "$WORK/overload.json" --echo=false --overload --deadline=1s
MAIN_PID=$PID
echo "== relaisd --group_commit=false"
start_relaisd single --group_commit=false
load "$WORK/add-single.json" --mix=add=1 --echo=false
kill "$PID" "$MAIN_PID"
# generated <name> <scale>: relais-datagen's data set, served; reads as amo.camille.
generated() {
  echo "== relais-datagen --scale=$2, then relaisd on it"
  "$RELAIS_BUILD/tools/datagen/relais-datagen" --db="$WORK/$1.db" --keys_dir="$WORK/$1.keys" \
    --scale="$2" 2>"$WORK/$1-datagen.log" | tee "$WORK/$1-datagen.txt"
  start_relaisd "$1"
  YOUTH=$(sed -n 's/^AMO youth: //p' "$WORK/$1-datagen.txt")
  load "$WORK/$1-read.json" --mix=get=1
  kill "$PID"
}
generated small 0.001
generated full "${RELAIS_BENCH_SCALE:-1}"
echo "== relais-bench"
"$RELAIS_BUILD/bench/relais-bench" --relais_youths="${RELAIS_BENCH_YOUTHS:-200}" \
  --relais_events="${RELAIS_BENCH_EVENTS:-1000000}" --benchmark_format=json \
  --benchmark_out="$WORK/bench.json" --benchmark_out_format=json >/dev/null 2>"$WORK/bench.log"

echo
echo "== phases"
for f in read mix add add-single overload small-read full-read; do
  python3 - "$WORK/$f.json" "$f" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["phases"]:
    cpu = p["server_cpu_us_per_call"]
    print(f"{sys.argv[2]:>10}/{p['name']:<9} {p['qps']:9.0f} calls/s  p50 {p['p50_ms']:7.2f} ms  "
          f"p99 {p['p99_ms']:7.2f} ms  cpu {'-' if cpu is None else round(cpu)} us/call  "
          f"rss {p['server_rss_mib']} MiB  {p['statuses']}")
PY
done
echo
echo "== targets (ratios measured in one run)"
verdict "GetEntry CPU per call / echo CPU per call (<= 4)" \
  "$(figure "$WORK/read.json" "round(d['figures']['mix_cpu_over_echo_cpu'], 2)")" "x <= 4"
verdict "GetEntry calls/s, % of echo, mTLS, 64 in flight (>= 30)" \
  "$(figure "$WORK/read.json" "round(d['figures']['mix_qps_percent_of_echo'], 1)")" "x >= 30"
verdict "GetEntry p99 / echo p99 (<= 5)" \
  "$(figure "$WORK/read.json" "round(d['figures']['mix_p99_over_echo_p99'], 2)")" "x <= 5"
ADD=$(figure "$WORK/add.json" "d['phases'][0]['qps']")
SINGLE=$(figure "$WORK/add-single.json" "d['phases'][0]['qps']")
verdict "AddEntry calls/s, group commit / one commit per call (>= 10)" \
  "$(python3 -c "print(round($ADD / $SINGLE, 2))")" "x >= 10"
verdict "overload 2x: calls not OK/RE/DE/UNAVAILABLE (0)" \
  "$(figure "$WORK/overload.json" "sum(n for p in d['phases'] for s, n in p['statuses'].items() if s not in ('OK','RESOURCE_EXHAUSTED','DEADLINE_EXCEEDED','UNAVAILABLE','NOT_SENT'))")" "x == 0"
verdict "overload 2x: seconds until back to 80% of the rate (<= 5)" \
  "$(figure "$WORK/overload.json" "d['figures']['recovery_seconds_to_80_percent']")" "0 <= x <= 5"
verdict "log verification, events/s on one core (>= 1e6)" \
  "$(figure "$WORK/bench.json" "round([b for b in d['benchmarks'] if b['name'].startswith('BM_VerifyLog')][0]['items_per_second'])")" "x >= 1e6"
verdict "relaisd RSS after the mix, MiB (< 500; demo data, not the full set)" \
  "$(figure "$WORK/mix.json" "d['phases'][-1]['server_rss_mib']")" "x < 500"
SMALL=$(figure "$WORK/small-read.json" "[p for p in d['phases'] if p['name'] != 'echo'][0]['qps']")
FULL=$(figure "$WORK/full-read.json" "[p for p in d['phases'] if p['name'] != 'echo'][0]['qps']")
verdict "GetEntry on the full set, % of the 1k-entry set (>= 80)" \
  "$(python3 -c "print(round(100 * $FULL / $SMALL, 1))")" "x >= 80"
verdict "relaisd RSS after reads on the full set, MiB (< 500)" \
  "$(figure "$WORK/full-read.json" "d['phases'][-1]['server_rss_mib']")" "x < 500"
verdict "relais-datagen entries/s over the whole run (>= 20000)" \
  "$(sed -n 's/^rate: \([0-9]*\) entries.*/\1/p' "$WORK/full-datagen.txt")" "x >= 20000"
echo
echo "== relais-bench"
python3 - "$WORK/bench.json" <<'PY'
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    print(f"{b['name']:<50} {b.get('items_per_second', 0):14,.0f} items/s  "
          f"{b['real_time']:10.1f} {b['time_unit']} per iteration")
PY
