#!/usr/bin/env bash
# One scheduled online backup (deploy/relais-backup.timer starts it through
# deploy/relais-backup.service; docs/operations.md "Scheduled backups"): logs in as the
# backup admin, saves AdminService.BackupDatabase with `relaisctl admin backup`
# (size and SHA-256 checked, 0600, renamed into place only when whole), logs
# out, and keeps the newest RELAIS_BACKUP_KEEP copies.
#
# Environment (the service unit sets it):
#   RELAIS_BACKUP_USER           the admin's login (required)
#   RELAIS_BACKUP_PASSWORD_FILE  that admin's password (default: the systemd
#                                credential $CREDENTIALS_DIRECTORY/backup.password)
#   RELAIS_BACKUP_DIR            where copies go (default /var/lib/relais-backup)
#   RELAIS_BACKUP_KEEP           copies kept, newest first (default 14)
#   RELAIS_SERVER                relaisd address (default 127.0.0.1:50051)
#   RELAIS_CA, RELAIS_CERT, RELAIS_KEY   mutual TLS, as relaisctl reads them
#   RELAISCTL                    the relaisctl binary (default /usr/local/bin/relaisctl)
set -euo pipefail
RELAISCTL=${RELAISCTL:-/usr/local/bin/relaisctl}
user=${RELAIS_BACKUP_USER:?RELAIS_BACKUP_USER must name the backup admin}
password_file=${RELAIS_BACKUP_PASSWORD_FILE:-${CREDENTIALS_DIRECTORY:-/nonexistent}/backup.password}
dir=${RELAIS_BACKUP_DIR:-/var/lib/relais-backup}
keep=${RELAIS_BACKUP_KEEP:-14}
server=${RELAIS_SERVER:-127.0.0.1:50051}
[[ $keep =~ ^[1-9][0-9]{0,3}$ ]] || { echo "RELAIS_BACKUP_KEEP must be 1 to 9999" >&2; exit 2; }
[[ -r $password_file ]] || { echo "cannot read the password file $password_file" >&2; exit 2; }
[[ -d $dir ]] || { echo "no backup directory $dir" >&2; exit 2; }

umask 077
session=$(mktemp -d)
export RELAIS_TOKEN_FILE="$session/token"
ctl() { "$RELAISCTL" --server "$server" "$@"; }
cleanup() {
  [[ -s $RELAIS_TOKEN_FILE ]] && ctl logout >/dev/null 2>&1
  rm -rf "$session"
}
trap cleanup EXIT

# A fresh login each run: the backup needs one of the last 5 minutes (step-up).
ctl login --user "$user" --password_stdin <"$password_file" >/dev/null
name="relais-$(date -u +%Y%m%dT%H%M%SZ).db"
ctl admin backup "$dir/$name"

# Rotation: only names this script makes, newest first (the UTC stamp sorts).
mapfile -t copies < <(find "$dir" -maxdepth 1 -type f -name 'relais-????????T??????Z.db' \
                        -printf '%f\n' | LC_ALL=C sort -r)
for old in "${copies[@]:keep}"; do
  rm -f -- "${dir:?}/$old"
  echo "removed the old copy $old"
done
