#!/usr/bin/env bash
# deploy/relaisd.service, and the scheduled backup's service and timer, pass
# `systemd-analyze verify` without a single warning about them. verify checks that ExecStart's binary exists, so it runs on a copy
# pointing at the relaisd just built. Also prints the unit's exposure score
# (`systemd-analyze security --offline`), which is not asserted.
# Usage: systemd_unit_test.sh <source-dir> <relaisd>
set -euo pipefail
SRC=$1 RELAISD=$2
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze missing (deploy/common.sh installs systemd)"; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
UNIT="$WORK/relaisd.service"
sed "s|^ExecStart=/usr/local/bin/relaisd |ExecStart=$RELAISD |" "$SRC/deploy/relaisd.service" >"$UNIT"
grep -q "^ExecStart=$RELAISD " "$UNIT" || { echo "FAIL: no 'ExecStart=/usr/local/bin/relaisd ' line"; exit 1; }

# --man=no: there is no man page to look up; --recursive-errors=no: only this unit's
# own problems, not those of the host's units it orders itself after.
rc=0
out=$(systemd-analyze verify --man=no --recursive-errors=no "$UNIT" 2>&1) || rc=$?
echo "$out"
if ((rc != 0)) || grep -q "relaisd" <<<"$out"; then
  echo "FAIL: systemd-analyze verify (exit $rc) reports problems with the unit"
  exit 1
fi

# Secrets come as credentials and the service is sandboxed: guard the lines that matter.
for want in 'User=relais' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'CapabilityBoundingSet=$' \
            'LoadCredential=master.key:/etc/relais/master.key' \
            '--master_key_file=\$\{CREDENTIALS_DIRECTORY\}/master.key' 'UMask=0077'; do
  grep -Eq "^ *$want" "$UNIT" || { echo "FAIL: the unit lost '$want'"; exit 1; }
done

# The scheduled backup (deploy/relais-backup.{service,timer}) beside relaisd's
# unit, so that its dependency on relaisd.service resolves; ExecStart on the
# script in the source tree (verify checks that it exists and is executable).
BACKUP="$WORK/relais-backup.service"
sed "s|^ExecStart=/usr/local/bin/relais-backup\$|ExecStart=$SRC/deploy/relais-backup.sh|" \
  "$SRC/deploy/relais-backup.service" >"$BACKUP"
grep -q "^ExecStart=$SRC/deploy/relais-backup.sh$" "$BACKUP" || { echo "FAIL: no 'ExecStart=/usr/local/bin/relais-backup' line"; exit 1; }
cp "$SRC/deploy/relais-backup.timer" "$WORK/"
rc=0
out=$(cd "$WORK" && systemd-analyze verify --man=no --recursive-errors=no relais-backup.service \
        relais-backup.timer 2>&1) || rc=$?
echo "$out"
if ((rc != 0)) || grep -q "relais" <<<"$out"; then
  echo "FAIL: systemd-analyze verify (exit $rc) reports problems with the backup units"
  exit 1
fi
for want in 'OnCalendar=' 'Persistent=true' 'Unit=relais-backup.service|WantedBy=timers.target'; do
  grep -Eq "^($want)" "$WORK/relais-backup.timer" || { echo "FAIL: the timer lost '$want'"; exit 1; }
done
for want in 'Type=oneshot' 'LoadCredential=backup.password:/etc/relais/backup.password' \
            'Environment=RELAIS_BACKUP_KEEP=[1-9]' 'UMask=0077' 'NoNewPrivileges=yes'; do
  grep -Eq "^$want" "$BACKUP" || { echo "FAIL: the backup service lost '$want'"; exit 1; }
done

echo "--- systemd-analyze security (informative) ---"
systemd-analyze security --offline=yes --no-pager "$UNIT" 2>&1 | tail -1 || true
echo "systemd unit: ok"
