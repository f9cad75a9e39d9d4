#!/usr/bin/env bash
# deploy/relaisd.service passes `systemd-analyze verify` without a single warning
# about it. verify checks that ExecStart's binary exists, so it runs on a copy
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

echo "--- systemd-analyze security (informative) ---"
systemd-analyze security --offline=yes --no-pager "$UNIT" 2>&1 | tail -1 || true
echo "systemd unit: ok"
