#!/usr/bin/env bash
# Format.Check: every tracked .cc/.h file is as clang-format (the root .clang-format,
# Google style at 100 columns) would write it. Generated code lives only in the
# build tree and nothing is vendored, so every tracked file is ours.
# Usage: format_check.sh <source-root> [clang-format]   (a root outside git: every
# .cc/.h file under it). Exit 1 listing the files to format:
#   git ls-files '*.cc' '*.h' | xargs clang-format -i
set -euo pipefail
ROOT="$1"
CLANG_FORMAT="${2:-clang-format}"
command -v "$CLANG_FORMAT" >/dev/null || {
  echo "$CLANG_FORMAT not found: deploy/common.sh installs it" >&2
  exit 1
}
cd "$ROOT"
[[ -f .clang-format ]] || { echo "no .clang-format in $ROOT" >&2; exit 1; }
if [[ "$(git rev-parse --show-toplevel 2>/dev/null)" == "$(pwd -P)" ]]; then
  mapfile -t files < <(git ls-files '*.cc' '*.h')
else
  mapfile -t files < <(find . -name '*.cc' -o -name '*.h' | sed 's|^\./||' | sort)
fi
# One run over every file; each difference is reported as "<file>:<line>:<col>: error".
rc=0
out=$("$CLANG_FORMAT" --style=file --dry-run -Werror "${files[@]}" 2>&1) || rc=$?
mapfile -t bad < <(sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: .*/\1/p' <<<"$out" | sort -u)
if ((rc != 0 && ${#bad[@]} == 0)); then  # it failed, but not on a difference
  echo "$out" >&2
  exit 1
fi
if ((${#bad[@]})); then
  printf 'not formatted: %s\n' "${bad[@]}"
  echo "${#bad[@]} of ${#files[@]} files differ from clang-format's output" >&2
  exit 1
fi
echo "ok: ${#files[@]} files formatted"
