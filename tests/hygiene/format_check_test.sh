#!/usr/bin/env bash
# format_check.sh fails on a planted misformatted file and passes a formatted one,
# with the project's own .clang-format.
# Usage: format_check_test.sh <source-root> [clang-format]
set -euo pipefail
ROOT="$1"
CLANG_FORMAT="${2:-clang-format}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp "$ROOT/.clang-format" "$WORK/"
mkdir -p "$WORK/common"
cat >"$WORK/common/good.h" <<'CC'
#include <string>

namespace relais {
int Add(const std::string& a, int b);  // pointer and reference bind to the type
}  // namespace relais
CC
check() { bash "$ROOT/tests/hygiene/format_check.sh" "$WORK" "$CLANG_FORMAT"; }
check >/dev/null || { echo "FAIL: a formatted file was refused" >&2; exit 1; }
printf 'int  Planted( int &x ){return x;}\n' >"$WORK/common/bad.cc"
if out=$(check 2>&1); then
  echo "FAIL: a misformatted file passed: $out" >&2
  exit 1
fi
grep -q "not formatted: common/bad.cc" <<<"$out" || { echo "FAIL: $out" >&2; exit 1; }
echo "ok: the planted misformatted file is refused"
