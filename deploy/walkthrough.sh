#!/usr/bin/env bash
# docs/api.md's walkthrough: a handover and an audit report using only relaisctl,
# against a fresh demo relaisd. `tests` runs this very script (walkthrough_test).
# Usage: deploy/walkthrough.sh <build-dir>   (default: build)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
WORK="$(mktemp -d)"
trap 'kill "$RELAISD" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=$((20000 + RANDOM % 20000))

"$ROOT/deploy/make-dev-certs.sh" "$WORK/certs" >/dev/null
"$BUILD/exe/relaisd" --demo --db="$WORK/relais.db" --keys_dir="$WORK/keys" \
  --listen="127.0.0.1:$PORT" --tls_cert="$WORK/certs/server.pem" \
  --tls_key="$WORK/certs/server.key" --tls_client_ca="$WORK/certs/ca.pem" \
  >"$WORK/relaisd.out" 2>"$WORK/relaisd.log" &
RELAISD=$!
for _ in $(seq 100); do grep -q "serving on" "$WORK/relaisd.out" && break; sleep 0.2; done

ctl() { "$BUILD/tools/relaisctl/relaisctl" --server "localhost:$PORT" --ca "$WORK/certs/ca.pem" "$@"; }
as() {  # as <login> <service-id> relaisctl-args...: each member has its own token file
  local who=$1 svc=$2; shift 2
  RELAIS_TOKEN_FILE="$WORK/token.$who" ctl --cert "$WORK/certs/clients/$svc.pem" \
    --key "$WORK/certs/clients/$svc.key" "$@"
}
AMO=svc_amo_charleroi SAJ=svc_saj_charleroi AGAJ=svc_agaj
for m in amo.camille:$AMO amo.coord:$AMO saj.sam:$SAJ saj.coord:$SAJ dpo:$AGAJ; do
  echo demo-relais-2026 | as "${m%%:*}" "${m##*:}" login --user "${m%%:*}" --password_stdin \
    --format csv | tail -1 | cut -d, -f2 >"$WORK/id.${m%%:*}"
done
set -x
# --- The walkthrough (docs/api.md "A handover with relaisctl") -----------------------
y=$(as amo.camille $AMO youth create --name "Yanis (démo)" --dob 2011-05-02 -q)
as amo.coord $AMO accompaniment open "$y" --referent "$(cat "$WORK/id.amo.camille")" -q
as amo.camille $AMO entry add "$y" --category general --visibility shared \
  --body "Yanis veut reprendre l'école" -q
as amo.camille $AMO entry add "$y" --category health --visibility shared \
  --body "Suivi au service de santé mentale" -q
as amo.camille $AMO consent grant "$y" --to_service $SAJ --categories general,family \
  --valid_for 182d -q
h=$(as amo.camille $AMO handover propose "$y" --to $SAJ --reason "Mandat du SAJ" --overlap 30d -q)
as saj.coord $SAJ handover accept "$h" --referent "$(cat "$WORK/id.saj.sam")"
as saj.sam $SAJ entry list "$y"                 # one entry, "withheld: 1 (...)"
as saj.coord $SAJ handover list --ending-within 31d
as dpo $AGAJ audit query --youth "$y" --format csv
as dpo $AGAJ audit report "$y"
# --- Who can help (docs/api.md "Who does what: service profiles") --------------------
as saj.sam $SAJ service search --need school_dropout --commune Charleroi --age 15
as saj.sam $SAJ glossary list --sector enseignement
as amo.coord $AMO service profile set $AMO --mission "Aider les jeunes et leur famille, à leur demande." \
  --offer "Écoute, médiation familiale, soutien scolaire." --ages 0-22 \
  --needs school_dropout,family_conflict,housing --communes Charleroi,Châtelet,Fleurus \
  --languages fr --contact accueil@amo-lerelais.example --hours "lun-ven 9h-17h" -q
# --- The inbox (docs/api.md "The inbox and a newcomer's view") ---------------------
as saj.coord $SAJ inbox list
as amo.camille $AMO inbox watch --until_caught_up
as saj.sam $SAJ orientation
# --- Concertation (docs/api.md "A concertation meeting") ----------------------------
c=$(as amo.camille $AMO concertation schedule "$y" --handover "$h" --invite $SAJ --at now -q)
as amo.camille $AMO entry add "$y" --concertation "$c" --category general --visibility shared \
  --body "Yanis souhaite un relais vers l'école de devoirs" -q
as amo.camille $AMO concertation record "$c" --outcome held --participation view_conveyed
as saj.sam $SAJ concertation list "$y"
as saj.sam $SAJ entry list "$y" --concertation "$c"
set +x
# --- Checks -----------------------------------------------------------------------
out=$(as saj.sam $SAJ entry list "$y" --format csv 2>&1)
grep -q "reprendre" <<<"$out" || { echo "FAIL: SAJ does not see the shared entry"; exit 1; }
grep -q "santé mentale" <<<"$out" && { echo "FAIL: health entry leaked"; exit 1; }
grep -q "withheld: 1 (consent_category_not_covered)" <<<"$out" || { echo "FAIL: no withheld count"; exit 1; }
if as saj.sam $SAJ audit query >/dev/null 2>&1; then echo "FAIL: caseworker read the log"; exit 1; fi
as dpo $AGAJ audit report "$y" --format csv | grep -q "accept_handover" \
  || { echo "FAIL: report lacks the handover"; exit 1; }
out=$(as saj.sam $SAJ service search --need school_dropout --commune charleroi --age 15 --format csv)
grep -q "^svc_pms_charleroi," <<<"$out" || { echo "FAIL: the PMS is not found for a 15-year-old"; exit 1; }
as saj.sam $SAJ service search --kind MADO --format csv | grep -q ",true$" \
  || { echo "FAIL: the MADO's old review is not flagged"; exit 1; }
as saj.sam $SAJ glossary list --format csv | grep -q "^prévention,aide_jeunesse,definition," \
  || { echo "FAIL: no shared definition of prévention"; exit 1; }
as saj.coord $SAJ inbox list --format csv | grep -q ",handover_proposed,$y,handover:$h," \
  || { echo "FAIL: the SAJ coordinator's inbox lacks the proposal"; exit 1; }
as amo.camille $AMO inbox watch --until_caught_up --format csv | grep -q ",handover_accepted,$y," \
  || { echo "FAIL: the proposer is not told of the acceptance"; exit 1; }
as saj.sam $SAJ orientation --format csv | grep -q "^youth,$y," \
  || { echo "FAIL: the SAJ's orientation lacks the youth it accompanies"; exit 1; }
as saj.coord $SAJ inbox list --format csv | grep -q ",concertation_scheduled,$y,.*concertation:$c" \
  || { echo "FAIL: the SAJ coordinator is not told of the meeting"; exit 1; }
as saj.sam $SAJ concertation list "$y" --format csv | grep -q "^$c,.*,held,view_conveyed," \
  || { echo "FAIL: the SAJ does not see the meeting held"; exit 1; }
as saj.sam $SAJ entry list "$y" --concertation "$c" --format csv | grep -q "école de devoirs" \
  || { echo "FAIL: the SAJ does not read the AMO's minutes"; exit 1; }
echo "walkthrough: ok"
