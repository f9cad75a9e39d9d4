#!/usr/bin/env bash
# Google AIP-203 in comments: every field of the public API (proto/relais/v1,
# except config.proto, a configuration file rather than an API) says in its
# comment whether it is Required, Optional or Output only.
# Usage: field_behaviour_test.sh <source-dir>
set -euo pipefail
SRC=$1
missing=$(for f in "$SRC"/proto/relais/v1/*.proto; do
  [[ "$(basename "$f")" == config.proto ]] && continue
  awk -v file="$(basename "$f")" '
    /^[ \t]*\/\// { comment = comment " " $0; next }
    /^[ \t]*(repeated |optional )?[A-Za-z_][A-Za-z0-9_.]* [a-z_][a-z0-9_]* = [0-9]+/ {
      if ((comment " " $0) !~ /Required|Optional|Output only|Input only|Immutable/)
        print file ":" FNR ": " $0
      comment = ""; next
    }
    { comment = "" }' "$f"
done)
if [[ -n "$missing" ]]; then
  echo "FAIL: fields whose comment does not say Required, Optional or Output only:"
  echo "$missing"
  exit 1
fi
echo "field behaviour: ok"
