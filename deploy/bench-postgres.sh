#!/usr/bin/env bash
# Issue #15's targets on this machine, each ratio measured in one run:
#   - GetEntry and ListEntries throughput on PostgreSQL (same machine, TLS and its Unix
#     socket) / on SQLite (>= 0.5);
#   - AddEntry throughput through two relaisd on one PostgreSQL / through one (>= 1.5
#     when the database is not the bottleneck): once as they come, where the instances,
#     the database and the loader share this machine's cores, and once with each
#     instance held to a CPU budget (a cgroup quota, as its own node would hold it) so
#     that the database and the loader keep cores to spare. The budgeted run needs root
#     and a writable cgroup cpu controller (v1 or v2); without, it says so and is skipped.
#   RELAIS_BENCH_INSTANCE_CPU=0.5 ./deploy/bench-postgres.sh   # the budget, in cores
#     (default: 0.15 of the machine's cores)
# Starts a throwaway PostgreSQL (tests/postgres/cluster.sh) and demo relaisd over mTLS.
#   ./deploy/bench-postgres.sh                 # about 7 minutes
#   RELAIS_BENCH_ROUNDS=5 ./deploy/bench-postgres.sh      # rounds, each ratio within one
#   RELAIS_BENCH_SECONDS=20 ./deploy/bench-postgres.sh
#   RELAIS_BENCH_READS_ONLY=1 ./deploy/bench-postgres.sh   # the read ratios alone
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
relais_install
relais_configure
relais_build relaisd relais-load
SECONDS_PER_PHASE=${RELAIS_BENCH_SECONDS:-10}
WORK=$(mktemp -d /tmp/relais-bench-pg.XXXXXX)
chmod 0755 "$WORK"  # the unprivileged PostgreSQL user walks into $WORK/pg
CLUSTER="$RELAIS_ROOT/tests/postgres/cluster.sh"
PIDS=()
CGROUPS=()
declare -A METRICS_PORT  # relaisd pid -> its metrics port
cleanup() {
  kill "${PIDS[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  local g
  for g in "${CGROUPS[@]}"; do rmdir "$g" 2>/dev/null || true; done
  bash "$CLUSTER" stop "$WORK/pg" --wipe >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
"$RELAIS_ROOT/deploy/make-dev-certs.sh" "$WORK/certs" >/dev/null
echo demo-relais-2026 >"$WORK/password"
bash "$CLUSTER" start "$WORK/pg" >/dev/null
PG_URI=$(sed -n 's/^POSTGRES_TLS_URI=//p' "$WORK/pg/env")
# The same server over its Unix socket: no TLS, for a relaisd on the database's machine.
# A schema of its own, so that its demo data and keys stay apart from the TLS run's.
PG_SOCKET_URI=$(sed -n 's/^POSTGRES_SOCKET_URI=//p' "$WORK/pg/env")
psql -X -q "$PG_SOCKET_URI" -c "CREATE SCHEMA sock"
PG_SOCKET_URI="$PG_SOCKET_URI&options=-csearch_path%3Dsock"

# start_relaisd <name> <db> [flags...]: relaisd over mutual TLS; sets PORT and PID
# (and YOUTH, with --demo), and METRICS_PORT[PID].
start_relaisd() {
  local name=$1 db=$2
  shift 2
  PORT=$((20000 + RANDOM % 20000))
  "$RELAIS_BUILD/exe/relaisd" --diagnostics --db="$db" --keys_dir="$WORK/$name.keys" \
    --metrics_listen=127.0.0.1:0 --listen="127.0.0.1:$PORT" \
    --tls_cert="$WORK/certs/server.pem" --tls_key="$WORK/certs/server.key" \
    --tls_client_ca="$WORK/certs/ca.pem" "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
  PID=$!
  PIDS+=("$PID")
  local demo=0 a
  for a in "$@"; do [[ $a == --demo ]] && demo=1; done
  up() {
    grep -q '"relaisd serving"' "$WORK/$name.log" &&
      { ((demo == 0)) || grep -q '^Demo youth id: ' "$WORK/$name.out"; }
  }
  for _ in $(seq 300); do up && break; sleep 0.2; done
  up || { cat "$WORK/$name.log"; exit 1; }
  local y
  y=$(sed -n 's/^Demo youth id: //p' "$WORK/$name.out")
  if [[ -n $y ]]; then YOUTH=$y; fi
  METRICS_PORT[$PID]=$(sed -n 's/.*"metrics_address":"127.0.0.1:\([0-9]*\)".*/\1/p' \
    "$WORK/$name.log" | head -1)
}
# writes <pid>: that relaisd's write calls and the transactions they shared, so far.
writes() {
  python3 - "${METRICS_PORT[$1]:-}" <<'PY'
import sys, urllib.request
try:
    page = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read()
    v = dict(l.split(" ", 1) for l in page.decode().splitlines() if l and l[0] != "#")
    print(int(float(v["relais_database_writes_total"])),
          int(float(v["relais_database_write_groups_total"])))
except Exception as e:  # the phase then prints no write group, and says why
    print(f"metrics of relaisd not read: {e}", file=sys.stderr)
    print("- -")
PY
}
# load <json out> <port> <pid> [flags...]: relais-load as amo.camille; <json out>.writes
# keeps the write calls and write groups the server ran meanwhile.
load() {
  local out=$1 port=$2 pid=$3 w0 g0 w1 g1
  shift 3
  read -r w0 g0 < <(writes "$pid")
  "$RELAIS_BUILD/tools/load/relais-load" --server="localhost:$port" --ca="$WORK/certs/ca.pem" \
    --cert="$WORK/certs/clients/svc_amo_charleroi.pem" \
    --key="$WORK/certs/clients/svc_amo_charleroi.key" --user=amo.camille --youth="$YOUTH" \
    --server_pid="$pid" --connections=4 --concurrency=64 --duration="${SECONDS_PER_PHASE}s" \
    --echo=false --json "$@" <"$WORK/password" >"$out"
  read -r w1 g1 < <(writes "$pid")
  if [[ $w0$g0$w1$g1 == *-* ]]; then
    echo "unread" >"$out.writes"
  else
    echo "$((w1 - w0)) $((g1 - g0))" >"$out.writes"
  fi
}
# measured <name> <command...>: runs it and keeps, in $WORK/<name>.cpu, how busy the
# machine's cores were meanwhile and the CPU time PostgreSQL's processes took (ticks).
cpu_ticks() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat; }
pg_ticks() {
  local s=0 p t
  for p in $(pgrep -u relais-pg postgres); do
    t=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null) && s=$((s + t))
  done
  echo "$s"
}
measured() {
  local name=$1 t0 i0 t1 i1 p0 p1
  shift
  read -r t0 i0 < <(cpu_ticks)
  p0=$(pg_ticks)
  "$@"
  read -r t1 i1 < <(cpu_ticks)
  p1=$(pg_ticks)
  echo "$(((t1 - t0) - (i1 - i0))) $((t1 - t0)) $((p1 - p0))" >"$WORK/$name.cpu"
}
# busy <name> [json...]: the cores' busy share, PostgreSQL's CPU per call of the phase, and
# the servers' mean write group (write calls per transaction).
busy() {
  local name=$1
  shift
  python3 - "$WORK/$name.cpu" "$(getconf CLK_TCK)" "$@" <<'PY'
import json, sys
used, total, pg = map(int, open(sys.argv[1]).read().split())
hz = int(sys.argv[2])
calls = sum(json.load(open(f))['phases'][0]['calls'] for f in sys.argv[3:])
on_pg = not sys.argv[1].split("/")[-1].startswith("sqlite-")  # PostgreSQL idles meanwhile
per_call = f", PostgreSQL {pg * 1e6 / hz / calls:.0f} us/call" if on_pg and calls else ""
w = g = 0
unread = False
for f in sys.argv[3:]:
    try:
        a, b = map(int, open(f + ".writes").read().split())
        w, g = w + a, g + b
    except (OSError, ValueError):
        unread = True
group = (", write group not measured (metrics not read)" if unread
         else f", write group {w / g:.1f} calls" if g else "")
print(f"cores {100 * used / max(total, 1):.0f}% busy{per_call}{group}")
PY
}
qps() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['phases'][0]['qps'])" "$1"; }
cpu() {
  python3 -c "import json,sys; c=json.load(open(sys.argv[1]))['phases'][0]['server_cpu_us_per_call']; print('-' if c is None else round(c))" "$1"
}
statuses() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['phases'][0]['statuses'])" "$1"; }
line() { printf '%-34s %9.0f calls/s  cpu %5s us/call  %s\n' "$1" "$(qps "$2")" "$(cpu "$2")" "$(statuses "$2")"; }
verdict() {
  local met
  met=$(python3 -c "x=float('$2'); print('met' if ($3) else 'NOT MET')" 2>/dev/null || echo "n/a")
  printf '%-58s %8s  %s\n' "$1" "$2" "$met"
}

echo "== reads: relaisd --demo on SQLite, on PostgreSQL over TLS and over its socket (same machine)"
# The three run side by side and are loaded in turn, round after round: this machine's speed
# drifts by 10 % or more within minutes, so a ratio is taken within a round, and the median
# round's decides.
start_relaisd sqlite "$WORK/relais.db" --demo
SQLITE_PORT=$PORT SQLITE_PID=$PID SQLITE_YOUTH=$YOUTH
start_relaisd pg1 "$PG_URI" --demo
PG1_PORT=$PORT PG1_PID=$PID PG1_YOUTH=$YOUTH
start_relaisd pgsock "$PG_SOCKET_URI" --demo
PGSOCK_PORT=$PORT PGSOCK_PID=$PID PGSOCK_YOUTH=$YOUTH
ROUNDS=${RELAIS_BENCH_ROUNDS:-3}
for round in $(seq "$ROUNDS"); do
  for call in read list; do
    mix=get=1
    [[ $call == list ]] && mix=list=1
    YOUTH=$SQLITE_YOUTH measured "sqlite-$call-$round" \
      load "$WORK/sqlite-$call-$round.json" "$SQLITE_PORT" "$SQLITE_PID" --mix=$mix
    YOUTH=$PG1_YOUTH measured "pg-$call-$round" \
      load "$WORK/pg-$call-$round.json" "$PG1_PORT" "$PG1_PID" --mix=$mix
    YOUTH=$PGSOCK_YOUTH measured "pgsock-$call-$round" \
      load "$WORK/pgsock-$call-$round.json" "$PGSOCK_PORT" "$PGSOCK_PID" --mix=$mix
  done
done
kill "$SQLITE_PID" "$PGSOCK_PID"
for call in read list; do
  name=GetEntry
  [[ $call == list ]] && name=ListEntries
  for round in $(seq "$ROUNDS"); do
    echo "  round $round"
    line "$name, SQLite" "$WORK/sqlite-$call-$round.json"
    echo "    $(busy "sqlite-$call-$round" "$WORK/sqlite-$call-$round.json")"
    line "$name, PostgreSQL over TLS" "$WORK/pg-$call-$round.json"
    echo "    $(busy "pg-$call-$round" "$WORK/pg-$call-$round.json")"
    line "$name, PostgreSQL over its socket" "$WORK/pgsock-$call-$round.json"
    echo "    $(busy "pgsock-$call-$round" "$WORK/pgsock-$call-$round.json")"
  done
done

# ratios <call> <db>: each round's PostgreSQL / SQLite calls per second, then their median.
ratios() {
  python3 - "$WORK" "$1" "$2" "$ROUNDS" <<'PY'
import json, statistics, sys
work, call, db, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
qps = lambda f: json.load(open(f))['phases'][0]['qps']
r = [qps(f"{work}/{db}-{call}-{i}.json") / qps(f"{work}/sqlite-{call}-{i}.json")
     for i in range(1, rounds + 1)]
print(" ".join(f"{x:.2f}" for x in r), f"{statistics.median(r):.2f}")
PY
}
read_verdicts() {
  local call name db via r
  for call in read list; do
    name=GetEntry
    [[ $call == list ]] && name=ListEntries
    for db in pg pgsock; do
      via=TLS
      [[ $db == pgsock ]] && via=socket
      r=$(ratios "$call" "$db")
      verdict "$name calls/s, PostgreSQL ($via) / SQLite (>= 0.5)" "${r##* }" "x >= 0.5"
      echo "    each round: ${r% *}"
    done
  done
}
# cpu_budget <name> <pid> <cores>: holds the process to that CPU share (a cgroup quota per
# 100 ms period), as its own node would; fails without a writable cpu controller.
cpu_budget() {
  local name=$1 pid=$2 quota dir
  quota=$(python3 -c "print(int(float('$3') * 100000))")
  if grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    dir=/sys/fs/cgroup/relais-bench-$name
    { echo +cpu >/sys/fs/cgroup/cgroup.subtree_control && mkdir -p "$dir" &&
      echo "$quota 100000" >"$dir/cpu.max"; } 2>/dev/null || return 1
  elif [[ -d /sys/fs/cgroup/cpu ]]; then
    dir=/sys/fs/cgroup/cpu/relais-bench-$name
    { mkdir -p "$dir" && echo 100000 >"$dir/cpu.cfs_period_us" &&
      echo "$quota" >"$dir/cpu.cfs_quota_us"; } 2>/dev/null || return 1
  else
    return 1
  fi
  CGROUPS+=("$dir")
  echo "$pid" >"$dir/cgroup.procs" 2>/dev/null
}

if [[ ${RELAIS_BENCH_READS_ONLY:-0} == 1 ]]; then
  echo
  echo "== targets (ratios measured in this run; $(nproc) cores, loader on the same machine)"
  read_verdicts
  exit 0
fi

echo "== writes: one relaisd on PostgreSQL, then two on the same database"
YOUTH=$PG1_YOUTH
measured pg-add-one load "$WORK/pg-add-one.json" "$PG1_PORT" "$PG1_PID" --mix=add=1
cp -r "$WORK/pg1.keys" "$WORK/pg2.keys"  # the same keys, as a second node has
start_relaisd pg2 "$PG_URI"
PG2_PORT=$PORT PG2_PID=$PID
# two_writers <json of the first> <json of the second>: AddEntry through both at once.
two_writers() {
  load "$1" "$PG1_PORT" "$PG1_PID" --mix=add=1 &
  local a=$!
  load "$2" "$PG2_PORT" "$PG2_PID" --mix=add=1
  wait "$a"
}
measured pg-add-two two_writers "$WORK/pg-add-two-a.json" "$WORK/pg-add-two-b.json"
line "AddEntry, one instance" "$WORK/pg-add-one.json"
echo "    $(busy pg-add-one "$WORK/pg-add-one.json")"
line "AddEntry, two instances (first)" "$WORK/pg-add-two-a.json"
line "AddEntry, two instances (second)" "$WORK/pg-add-two-b.json"
echo "    $(busy pg-add-two "$WORK/pg-add-two-a.json" "$WORK/pg-add-two-b.json")"

# A budget that leaves the database and the loader at least half the machine when both
# instances use theirs in full.
BUDGET=${RELAIS_BENCH_INSTANCE_CPU:-$(python3 -c "print(round($(nproc) * 0.15, 2))")}
BUDGETED=0
echo
echo "== writes again, each relaisd held to $BUDGET cores (its own node's share), $ROUNDS rounds"
if cpu_budget pg1 "$PG1_PID" "$BUDGET" && cpu_budget pg2 "$PG2_PID" "$BUDGET"; then
  BUDGETED=1
  for round in $(seq "$ROUNDS"); do
    # Each instance alone in turn (the two-instance phase is compared with their mean), then
    # both at once.
    measured "pg-add-one-b1-$round" \
      load "$WORK/pg-add-one-b1-$round.json" "$PG1_PORT" "$PG1_PID" --mix=add=1
    measured "pg-add-one-b2-$round" \
      load "$WORK/pg-add-one-b2-$round.json" "$PG2_PORT" "$PG2_PID" --mix=add=1
    measured "pg-add-two-b-$round" \
      two_writers "$WORK/pg-add-two-b1-$round.json" "$WORK/pg-add-two-b2-$round.json"
  done
  for round in $(seq "$ROUNDS"); do
    echo "  round $round"
    for i in 1 2; do
      line "AddEntry, one instance ($i)" "$WORK/pg-add-one-b$i-$round.json"
      echo "    $(busy "pg-add-one-b$i-$round" "$WORK/pg-add-one-b$i-$round.json")"
    done
    line "AddEntry, two instances (1)" "$WORK/pg-add-two-b1-$round.json"
    line "AddEntry, two instances (2)" "$WORK/pg-add-two-b2-$round.json"
    echo "    $(busy "pg-add-two-b-$round" "$WORK/pg-add-two-b1-$round.json" \
      "$WORK/pg-add-two-b2-$round.json")"
  done
else
  echo "  skipped: no writable cgroup cpu controller here (run as root on cgroup v1 or v2)"
fi

echo
echo "== targets (ratios measured in this run; $(nproc) cores, loader on the same machine)"
read_verdicts
ONE=$(qps "$WORK/pg-add-one.json")
TWO=$(python3 -c "print($(qps "$WORK/pg-add-two-a.json") + $(qps "$WORK/pg-add-two-b.json"))")
verdict "AddEntry calls/s, two instances / one (>= 1.5 if the database is not the bottleneck)" \
  "$(python3 -c "print(round($TWO / $ONE, 2))")" "x >= 1.5"
# One instance already keeps every core busy: a second one on the same machine has no CPU
# to add calls with (the target needs the instances, the database and the loader apart).
read -r USED TOTAL _ <"$WORK/pg-add-one.cpu"
if ((TOTAL > 0 && USED * 100 / TOTAL >= 90)); then
  echo "  (one instance kept the cores $((USED * 100 / TOTAL))% busy: this machine's CPU, not the" \
    "database, is the bottleneck)"
fi
if ((BUDGETED)); then
  r=$(python3 - "$WORK" "$ROUNDS" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
qps = lambda f: json.load(open(f))['phases'][0]['qps']
r = []
for i in range(1, rounds + 1):
    one = (qps(f"{work}/pg-add-one-b1-{i}.json") + qps(f"{work}/pg-add-one-b2-{i}.json")) / 2
    two = qps(f"{work}/pg-add-two-b1-{i}.json") + qps(f"{work}/pg-add-two-b2-{i}.json")
    r.append(two / one)
print(" ".join(f"{x:.2f}" for x in r), f"{statistics.median(r):.2f}")
PY
  )
  verdict "AddEntry calls/s, two instances / one, each held to $BUDGET cores (>= 1.5)" \
    "${r##* }" "x >= 1.5"
  echo "    each round: ${r% *}"
fi
