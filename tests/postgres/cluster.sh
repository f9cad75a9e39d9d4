#!/usr/bin/env bash
# A real, throwaway PostgreSQL server for the test suite: TLS on, durability on,
# run as an unprivileged user (never root).
# Usage:
#   cluster.sh start  <dir>           create (or reuse) a cluster under <dir>, print
#                                      POSTGRES_SOCKET_URI=... and POSTGRES_TLS_URI=...
#                                      on stdout (also written to <dir>/env)
#   cluster.sh replica <dir> <primary-dir>
#                                      a synchronous streaming replica of the running
#                                      cluster in <primary-dir> (pg_basebackup), started;
#                                      prints the URIs above plus POSTGRES_FAILOVER_URI,
#                                      a URI naming both servers that reaches the primary
#   cluster.sh promote <dir>          promote the replica in <dir> to primary
#   cluster.sh crash  <dir>           SIGKILL the server and its children (a power cut)
#   cluster.sh stop   <dir> [--wipe]  fast shutdown; --wipe also removes <dir>
#   cluster.sh status <dir>           exit 0 if the server answers, 3 if not
# As root the server runs as the system user relais-pg (created on demand; nobody
# if useradd is missing); that user needs search (x) permission on every parent
# of <dir>, which start checks. Everything but the two URI lines goes to stderr.
set -euo pipefail
umask 022  # parents created by mkdir -p must be traversable by the pg user

PG_SYSTEM_USER=relais-pg
ADMIN=relais_admin
FIRST_PORT=15432
MARKER=.relais-pg-cluster  # marks a directory this script owns (guards --wipe)

die() {
  echo "cluster.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: cluster.sh start|stop|status|promote|crash <dir> [--wipe]" >&2
  echo "       cluster.sh replica <dir> <primary-dir>" >&2
  exit 2
}

# libpq/pg_ctl read PG* variables (PGHOST, PGSSLMODE, PGDATA ...); the caller's
# must not steer the commands below.
for v in $(compgen -e); do
  if [[ $v == PG* ]]; then unset "$v"; fi
done

(($# >= 2)) || usage
CMD=$1
DIR_ARG=$2
WIPE=0
PRIMARY_ARG=
if (($# == 3)) && [[ $3 == --wipe && $CMD == stop ]]; then
  WIPE=1
elif (($# == 3)) && [[ $CMD == replica ]]; then
  PRIMARY_ARG=$3
elif (($# > 2)) || [[ $CMD == replica ]]; then
  usage
fi
[[ $CMD =~ ^(start|stop|status|replica|promote|crash)$ ]] || usage
[[ -n $DIR_ARG ]] || usage

# The directory goes verbatim into URIs and postgresql.conf: keep it to
# characters that need no quoting in either.
abs_dir() {
  local d
  d=$(realpath -m -- "$1")
  [[ $d =~ ^/[A-Za-z0-9/._+-]*$ ]] ||
    die "$d: use a directory path of letters, digits and / . _ + - only"
  [[ $d != / ]] || die "refusing to use / as the cluster directory"
  printf '%s\n' "$d"
}
DIR=$(abs_dir "$DIR_ARG")
DATA=$DIR/data
SOCK=$DIR/sock
TLS=$DIR/tls
LOG=$DIR/log
# Postgres binaries warn when the working directory is unreadable by their user.
cd /

bindir() {
  local d best=
  # sort -V: a plain glob would rank 9 above 10.
  best=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | while read -r d; do
    if [[ -x $d/pg_ctl ]]; then echo "$d"; fi
  done | tail -1)
  if [[ -z $best ]] && command -v pg_config >/dev/null; then
    d=$(pg_config --bindir)
    if [[ -x $d/pg_ctl ]]; then best=$d; fi
  fi
  [[ -n $best ]] || die "no PostgreSQL server binaries (pg_ctl) found: install postgresql"
  printf '%s\n' "$best"
}

# The unprivileged user the server runs as ("" means: the current user).
RUN_AS=
pick_user() {
  if ((EUID != 0)); then
    return
  fi
  if [[ -d $DATA ]] && [[ $(stat -c %u "$DATA") != 0 ]]; then
    RUN_AS=$(stat -c %U "$DATA")  # stay with whoever owns an existing cluster
  elif id -u "$PG_SYSTEM_USER" >/dev/null 2>&1; then
    RUN_AS=$PG_SYSTEM_USER
  elif command -v useradd >/dev/null; then
    # A parallel start may win the race; the user existing afterwards is what counts.
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_SYSTEM_USER" >&2 ||
      id -u "$PG_SYSTEM_USER" >/dev/null 2>&1 || die "useradd $PG_SYSTEM_USER failed"
    RUN_AS=$PG_SYSTEM_USER
  else
    RUN_AS=nobody
  fi
  [[ $(id -u "$RUN_AS") != 0 ]] || die "refusing to run PostgreSQL as root ($RUN_AS)"
}

as_pg() {
  if [[ -z $RUN_AS ]]; then
    "$@"
  elif command -v runuser >/dev/null; then
    runuser -u "$RUN_AS" -- "$@"
  else
    setpriv --reuid="$RUN_AS" --regid="$(id -g "$RUN_AS")" --init-groups -- "$@"
  fi
}

chown_pg() {
  if [[ -n $RUN_AS ]]; then
    chown "$RUN_AS:$(id -gn "$RUN_AS")" "$@"
  fi
}

# The pg user must be able to walk down to <dir>; name the first parent that
# blocks it rather than letting initdb fail with a bare "permission denied".
check_reachable() {
  [[ -n $RUN_AS ]] || return 0
  as_pg test -x "$DIR" && return 0
  local p=$DIR
  local -a chain=()
  while [[ $p != / ]]; do
    chain=("$p" "${chain[@]}")
    p=$(dirname "$p")
  done
  for p in "${chain[@]}"; do
    if ! as_pg test -x "$p"; then
      die "user $RUN_AS cannot enter $p (mode $(stat -c %A "$p"), owner $(stat -c %U "$p")):" \
        "run 'chmod o+x $p' or put the cluster under a reachable path such as /tmp/..."
    fi
  done
  die "user $RUN_AS cannot reach $DIR"
}

# Running means: postmaster.pid names a live postgres process. A pid from a
# killed run may since belong to an unrelated process (or a zombie), which
# pg_ctl and postgres would mistake for a running server.
postmaster_pid() {
  local pid
  [[ -r $DATA/postmaster.pid ]] || return 1
  pid=$(head -1 "$DATA/postmaster.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  local stat comm
  read -r stat comm < <(ps -o stat=,comm= -p "$pid" 2>/dev/null) || return 1
  # A killed postmaster may linger as a zombie when init does not reap it.
  [[ $comm == postgres && $stat != Z* ]] || return 1
  printf '%s\n' "$pid"
}

running_port() {
  sed -n 4p "$DATA/postmaster.pid" 2>/dev/null
}

is_ready() {
  local port
  port=$(running_port)
  [[ $port =~ ^[0-9]+$ ]] || return 1
  "$BIN/pg_isready" -q -h "$SOCK" -p "$port" -U "$ADMIN" -d postgres
}

wait_ready() {
  local i
  for ((i = 0; i < 300; i++)); do
    is_ready && return 0
    postmaster_pid >/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# Drop lock files that name a dead (or foreign) process so postgres does not
# refuse to start over them.
clear_stale_pid() {
  if [[ -e $DATA/postmaster.pid ]] && ! postmaster_pid >/dev/null; then
    echo "cluster.sh: removing stale postmaster.pid" >&2
    rm -f "$DATA/postmaster.pid" "$SOCK"/.s.PGSQL.*.lock
  fi
}

port_free() {
  if command -v ss >/dev/null; then
    [[ -z $(ss -Hltn "sport = :$1") ]]
  else
    # A refused connection means nothing listens there.
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 1; fi
  fi
}

free_port() {
  local p=$1
  while ((p < 65536)); do
    port_free "$p" && { echo "$p"; return 0; }
    ((p += 1))
  done
  die "no free TCP port from $1 upward"
}

make_tls() {
  [[ -s $TLS/ca.crt && -s $TLS/ca.key && -s $TLS/server.crt && -s $TLS/server.key ]] && return 0
  mkdir -p "$TLS"
  chmod 0755 "$TLS"
  local tmp
  tmp=$(mktemp -d "$TLS/.gen.XXXXXX")
  # EC P-256 keys: as good as RSA here and generated in milliseconds.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=Relais throwaway test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$tmp/ca.key" -out "$tmp/ca.crt" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj /CN=localhost -keyout "$tmp/server.key" -out "$tmp/server.csr" 2>/dev/null
  # verify-full against 127.0.0.1 needs the IP in the SAN, not only the name.
  printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
    'keyUsage=critical,digitalSignature,keyEncipherment' \
    'extendedKeyUsage=serverAuth' 'subjectAltName=DNS:localhost,IP:127.0.0.1' >"$tmp/ext"
  openssl x509 -req -days 3650 -in "$tmp/server.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -extfile "$tmp/ext" -out "$tmp/server.crt" 2>/dev/null
  chmod 0600 "$tmp/ca.key" "$tmp/server.key"
  chmod 0644 "$tmp/ca.crt" "$tmp/server.crt"
  # postgres insists its key is 0600 and owned by the server's user.
  chown_pg "$tmp/server.key"
  mv -f "$tmp/ca.key" "$tmp/ca.crt" "$tmp/server.key" "$tmp/server.crt" "$TLS/"
  rm -rf "$tmp"
}

init_cluster() {
  local want have=
  want=$("$BIN/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')
  [[ -r $DATA/PG_VERSION ]] && have=$(cat "$DATA/PG_VERSION")
  if [[ -f $DIR/.initdb-done && $have == "$want" ]]; then
    return 0
  fi
  [[ -z $have || $have == "$want" ]] ||
    echo "cluster.sh: $DATA is from PostgreSQL $have, binaries are $want: re-creating" >&2
  rm -f "$DIR/.initdb-done"
  rm -rf "$DATA"
  mkdir -m 0700 "$DATA"
  chown_pg "$DATA"
  # --no-sync only skips initdb's final fsync of the fresh files (a second or
  # more on slow disks); the server itself runs with fsync=on.
  if ! as_pg "$BIN/initdb" -D "$DATA" --locale=C --encoding=UTF8 --auth-local=trust \
    --auth-host=scram-sha-256 --username="$ADMIN" --no-sync --no-instructions \
    >"$DIR/initdb.log" 2>&1; then
    cat "$DIR/initdb.log" >&2
    die "initdb failed"
  fi
  # TCP only over TLS; the socket (reachable only on this host) stays trust for
  # the admin and for pg_basebackup.
  as_pg tee "$DATA/pg_hba.conf" >/dev/null <<'EOF'
# Written by tests/postgres/cluster.sh.
# TYPE    DATABASE     USER  ADDRESS       METHOD
local     all          all                 trust
local     replication  all                 trust
hostssl   all          all   127.0.0.1/32  scram-sha-256
hostssl   replication  all   127.0.0.1/32  scram-sha-256
hostnossl all          all   0.0.0.0/0     reject
hostnossl replication  all   0.0.0.0/0     reject
EOF
  # Our settings live in relais.conf (rewritten on every start, the port may change).
  echo "include 'relais.conf'" | as_pg tee -a "$DATA/postgresql.conf" >/dev/null
  touch "$DIR/.initdb-done"
}

# recovery_init_sync_method=syncfs: after a crash the data directory is still
# flushed before recovery, but with one syncfs() instead of an fsync per file
# (4-5 s here), so crash tests restart quickly.
write_conf() {
  as_pg tee "$DATA/relais.conf" >/dev/null <<EOF
# Written by tests/postgres/cluster.sh on every start.
listen_addresses = '127.0.0.1'
port = $1
unix_socket_directories = '$SOCK'
max_connections = 400
fsync = on
synchronous_commit = on
shared_buffers = 64MB
wal_level = replica
max_wal_senders = 4
# A base backup taken while other tests write streams WAL from its start: kept
# here even if a checkpoint comes before its temporary slot does (a CI run
# once lost segment ...18 that way: "requested WAL segment has already been
# removed").
wal_keep_size = 256MB
log_min_messages = warning
# Row values stay out of the server log too: no DETAIL ("Failing row
# contains ..."), no statement text with an error.
log_error_verbosity = terse
log_min_error_statement = panic
recovery_init_sync_method = syncfs
ssl = on
ssl_cert_file = '$TLS/server.crt'
ssl_key_file = '$TLS/server.key'
ssl_ca_file = '$TLS/ca.crt'
# The name a replica streams under (synchronous_standby_names on its primary).
cluster_name = '$(basename "$DIR")'
EOF
}

# Start on a free port; retry on a port taken between our probe and the bind,
# and on shared memory still held by children of a postmaster killed moments ago.
start_server() {
  local port attempt from=$FIRST_PORT size out
  [[ -r $DIR/port ]] && from=$(<"$DIR/port")  # keep the old port when it is free
  [[ $from =~ ^[0-9]+$ ]] || from=$FIRST_PORT
  for ((attempt = 1; attempt <= 10; attempt++)); do
    port=$(free_port "$from")
    write_conf "$port"
    size=$(stat -c %s "$LOG")
    # fd 9 holds our lock: the postmaster must not inherit it.
    if as_pg "$BIN/pg_ctl" start -w -t 120 -s -D "$DATA" -l "$LOG" >&2 9>&-; then
      wait_ready || die "server started but does not answer; see $LOG"
      echo "$port" >"$DIR/port"
      return 0
    fi
    out=$(tail -c +"$((size + 1))" "$LOG")
    if grep -q 'could not bind\|Address already in use' <<<"$out"; then
      from=$((port + 1))
    elif grep -q 'shared memory block .* is still in use' <<<"$out"; then
      sleep 1
    else
      printf '%s\n' "$out" >&2
      die "pg_ctl start failed; see $LOG"
    fi
    clear_stale_pid
  done
  die "could not start the server after $((attempt - 1)) attempts; see $LOG"
}

# Role and database for the application; the password only ever travels on
# stdin and into the 0600 passfile.
ensure_app_role() {
  local port pw=
  port=$(running_port)
  if [[ -r $DIR/passfile ]]; then
    pw=$(head -1 "$DIR/passfile" | cut -d: -f5)
  fi
  [[ $pw =~ ^[0-9a-f]{48}$ ]] || pw=$(openssl rand -hex 24)
  {
    printf '\\set pw %s\n' "$pw"
    cat <<'SQL'
\set ON_ERROR_STOP on
SELECT 'CREATE ROLE relais' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relais')\gexec
ALTER ROLE relais LOGIN CREATEDB PASSWORD :'pw';
SELECT 'CREATE DATABASE relais OWNER relais'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'relais')\gexec
SQL
  } | "$BIN/psql" -X -q -h "$SOCK" -p "$port" -U "$ADMIN" -d postgres >/dev/null ||
    die "creating role/database relais failed"
  # After an erasure relaisd starts a new WAL segment (docs/postgresql.md).
  "$BIN/psql" -X -q -h "$SOCK" -p "$port" -U "$ADMIN" -d relais -v ON_ERROR_STOP=1 \
    -c 'GRANT EXECUTE ON FUNCTION pg_switch_wal() TO relais' \
    -c 'GRANT pg_read_all_stats TO relais' >/dev/null ||
    die "granting pg_switch_wal and pg_read_all_stats to relais failed"
  (
    umask 077
    printf '127.0.0.1:%s:*:relais:%s\nlocalhost:%s:*:relais:%s\n' \
      "$port" "$pw" "$port" "$pw" >"$DIR/passfile.tmp"
    mv -f "$DIR/passfile.tmp" "$DIR/passfile"
  )
}

# $1, for a replica: its primary's port.
emit_env() {
  local port
  port=$(running_port)
  {
    printf '%s\n' \
      "POSTGRES_SOCKET_URI=postgresql:///relais?host=$SOCK&port=$port&user=$ADMIN" \
      "POSTGRES_TLS_URI=postgresql://relais@127.0.0.1:$port/relais?sslmode=verify-full&sslrootcert=$TLS/ca.crt&passfile=$DIR/passfile"
    if (($# == 1)); then
      echo "POSTGRES_FAILOVER_URI=postgresql://relais@127.0.0.1:$1,127.0.0.1:$port/relais?sslmode=verify-full&sslrootcert=$TLS/ca.crt&passfile=$DIR/passfile&target_session_attrs=read-write"
    fi
  } >"$DIR/env.tmp"
  mv -f "$DIR/env.tmp" "$DIR/env"
  cat "$DIR/env"
}

lock_dir() {
  exec 9>>"$DIR/.lock"
  flock -w 300 9 || die "timed out waiting for another cluster.sh on $DIR"
}

# Claims <dir> (ours or empty), locks it and picks the binaries and user.
prepare_dir() {
  # Look at the contents before the marker: a parallel start creates the marker
  # before anything else, so this order cannot mistake its files for foreign ones.
  if [[ -d $DIR && -n $(ls -A "$DIR") && ! -e $DIR/$MARKER ]]; then
    die "$DIR is not empty and was not created by cluster.sh: refusing to use it"
  fi
  # sockaddr_un holds 107 bytes: <dir>/sock/.s.PGSQL.NNNNN must fit.
  ((${#SOCK} + 15 <= 107)) ||
    die "socket path $SOCK/.s.PGSQL.NNNNN would exceed 107 bytes: use a shorter <dir>"
  mkdir -p "$DIR"
  chmod 0755 "$DIR"
  touch "$DIR/$MARKER"
  lock_dir
  BIN=$(bindir)
  pick_user
  check_reachable
}

make_run_dirs() {
  mkdir -p "$SOCK"
  chmod 0755 "$SOCK"
  [[ -e $LOG ]] || touch "$LOG"
  chmod 0644 "$LOG"
  chown_pg "$SOCK" "$LOG"
}

cmd_start() {
  prepare_dir
  if postmaster_pid >/dev/null && wait_ready; then
    [[ -s $DIR/passfile ]] || ensure_app_role
    emit_env
    return 0
  fi
  clear_stale_pid
  init_cluster
  make_tls
  make_run_dirs
  start_server
  ensure_app_role
  emit_env
}

# Commits on the primary wait until this replica has flushed them: a write
# acknowledged before a failover is on the server promoted after it.
make_synchronous() {
  local primary=$1 pport=$2 name i state=
  name=$(basename "$DIR")
  "$BIN/psql" -X -q -h "$primary/sock" -p "$pport" -U "$ADMIN" -d postgres -v ON_ERROR_STOP=1 \
    -c "ALTER SYSTEM SET synchronous_standby_names = '\"$name\"'" \
    -c "SELECT pg_reload_conf()" >/dev/null || die "setting synchronous_standby_names failed"
  for ((i = 0; i < 300; i++)); do
    state=$("$BIN/psql" -X -At -h "$primary/sock" -p "$pport" -U "$ADMIN" -d postgres \
      -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$name'")
    [[ $state == sync ]] && return 0
    sleep 0.1
  done
  die "the replica does not stream synchronously (state '$state'); see $LOG"
}

cmd_replica() {
  local primary pport pw
  primary=$(abs_dir "$PRIMARY_ARG")
  [[ $primary != "$DIR" ]] || die "a cluster cannot be its own replica"
  [[ -e $primary/$MARKER && -r $primary/passfile ]] ||
    die "$primary holds no cluster started by cluster.sh"
  prepare_dir
  pport=$(sed -n 4p "$primary/data/postmaster.pid" 2>/dev/null || true)
  if ! [[ $pport =~ ^[0-9]+$ ]] || ! "$BIN/pg_isready" -q -h "$primary/sock" -p "$pport" -U "$ADMIN"; then
    die "the primary in $primary is not running"
  fi
  if ! { postmaster_pid >/dev/null && wait_ready; }; then
    clear_stale_pid
    if [[ ! -f $DIR/.basebackup-done ]]; then
      rm -rf "$DATA" "$TLS"
      mkdir -m 0700 "$DATA"
      chown_pg "$DATA"
      # The primary's CA and certificate: one sslrootcert checks both servers.
      cp -a "$primary/tls" "$TLS"
      # -R: starts as a standby streaming from the primary's socket.
      if ! as_pg "$BIN/pg_basebackup" -h "$primary/sock" -p "$pport" -U "$ADMIN" -D "$DATA" \
        -R -X stream -c fast >"$DIR/basebackup.log" 2>&1; then
        cat "$DIR/basebackup.log" >&2
        die "pg_basebackup failed"
      fi
      touch "$DIR/.basebackup-done"
    fi
    make_run_dirs
    start_server
  fi
  make_synchronous "$primary" "$pport"
  pw=$(head -1 "$primary/passfile" | cut -d: -f5)
  (
    umask 077
    local port
    port=$(running_port)
    printf '127.0.0.1:%s:*:relais:%s\n' "$pport" "$pw" "$port" "$pw" >"$DIR/passfile.tmp"
    mv -f "$DIR/passfile.tmp" "$DIR/passfile"
  )
  emit_env "$pport"
}

cmd_promote() {
  lock_dir
  BIN=$(bindir)
  pick_user
  postmaster_pid >/dev/null || die "no server running in $DIR"
  as_pg "$BIN/pg_ctl" promote -w -t 60 -s -D "$DATA" >&2 9>&- || die "pg_ctl promote failed"
}

cmd_crash() {
  local pid children i
  pid=$(postmaster_pid) || return 0
  children=$(pgrep -P "$pid" || true)
  # shellcheck disable=SC2086 # one pid per word
  kill -KILL "$pid" $children 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    postmaster_pid >/dev/null || return 0
    sleep 0.05
  done
  die "the server in $DIR survived SIGKILL"
}

cmd_stop() {
  [[ -d $DIR ]] || return 0
  if ((WIPE)) && [[ ! -e $DIR/$MARKER ]]; then
    die "$DIR was not created by cluster.sh: refusing to wipe it"
  fi
  lock_dir
  if postmaster_pid >/dev/null; then
    BIN=$(bindir)
    pick_user
    as_pg "$BIN/pg_ctl" stop -w -t 120 -s -m fast -D "$DATA" >&2 9>&- ||
      die "pg_ctl stop failed; see $LOG"
  fi
  if ((WIPE)); then
    rm -rf -- "$DIR"
  fi
}

cmd_status() {
  [[ -d $DATA ]] || return 3
  BIN=$(bindir)
  if postmaster_pid >/dev/null && is_ready; then
    return 0
  fi
  return 3
}

case $CMD in
  start) cmd_start ;;
  replica) cmd_replica ;;
  promote) cmd_promote ;;
  crash) cmd_crash ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
esac
