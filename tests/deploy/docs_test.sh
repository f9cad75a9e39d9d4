#!/usr/bin/env bash
# Keeps README.md and docs/ true to the tree (issue #12 item 5). Three checks:
#   front-door  README.md has at most 200 lines and links every page of docs/;
#               every relative link of README.md and docs/ resolves
#   names       every repository path the pages name in backquotes exists, and
#               every test they name (Suite.Name, Suite.*, ctest -R patterns) is
#               a test of the source tree
#   commands    every relaisctl command and flag the pages show is one relaisctl
#               has; the walkthrough and buf curl lines of docs/api.md are the
#               ones deploy/walkthrough.sh and tests/deploy/buf_curl_test.sh run
# Usage: docs_test.sh <source-dir> front-door|names|commands [relaisctl]
set -uo pipefail
SRC=$1 CHECK=$2 RELAISCTL=${3:-}
cd "$SRC" || exit 1
PAGES=(README.md docs/*.md)
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

front_door() {
  local lines
  lines=$(wc -l <README.md)
  ((lines <= 200)) || fail "README.md has $lines lines (at most 200)"
  for page in docs/*.md; do
    grep -q "(${page})" README.md || fail "README.md does not link ${page}"
  done
  local page link target
  for page in "${PAGES[@]}"; do
    while IFS= read -r link; do
      target=${link%%#*}
      [[ -z "$target" || "$target" == http* ]] && continue
      [[ -e "$(dirname "$page")/$target" ]] || fail "$page links $link, which does not exist"
    done < <(grep -oE '\]\([^)]+\)' "$page" | sed -E 's/^\]\(//; s/\)$//')
  done
}

# Every test name of the source tree, one per line: gtest TEST/TEST_F/TEST_P
# (suite.name), fuzz replay suites, and add_test(NAME ...).
all_tests() {
  grep -rhoE '^TEST(_F|_P)?\(\w+, *\w+' --include='*.cc' . |
    sed -E 's/^TEST(_F|_P)?\(//; s/, */./'
  for t in tests/fuzz/corpus/*/; do
    t=$(basename "$t")
    echo "${t^}FuzzReplay.Corpus"
  done
  grep -rhoE 'add_test\(NAME [A-Za-z0-9_.]+' --include=CMakeLists.txt . | sed 's/add_test(NAME //'
}

names() {
  local tests page path name pattern
  tests=$(all_tests)
  for page in "${PAGES[@]}"; do
    # Repository paths in backquotes: the first word, if it starts with a folder
    # of the tree and holds no placeholder.
    while IFS= read -r path; do
      [[ "$path" =~ [\<\>\*\$…] ]] && continue
      [[ -e "$path" ]] || fail "$page names $path, which does not exist"
    done < <(grep -oE '`(access|auth|common|deploy|docs|proto|services|storage|tests|tools)/[^` ]*' "$page" |
             sed 's/^`//; s/[.,:;)]*$//' | sort -u)
    # Test names in backquotes: Suite.Name or Suite.*
    while IFS= read -r name; do
      [[ "$name" == *Service.* || "$name" == Service.* || "$name" == Suite.Test ]] && continue
      pattern="^${name//./\\.}"
      pattern=${pattern//\\.\*/\\.}
      grep -qE "$pattern" <<<"$tests" || fail "$page names test $name, which no source defines"
    done < <(grep -oE '`[A-Z][A-Za-z0-9]+\.([A-Z][A-Za-z0-9]+|\*)`' "$page" | tr -d '`' | sort -u)
    # ctest -R and test.sh -R patterns
    while IFS= read -r pattern; do
      grep -qE "$pattern" <<<"$tests" || fail "$page: -R '$pattern' matches no test"
    done < <(grep -oE "(ctest|test\.sh) (-V )?-R '?[^' \`]+" "$page" | sed -E "s/.*-R '?//" |
             grep -vx 'Suite.Test' | sort -u)
  done
}

commands() {
  [[ -x "$RELAISCTL" ]] || { fail "relaisctl not found at $RELAISCTL"; return; }
  local help page line words cmd flag sub_help
  help=$("$RELAISCTL" --help)
  for page in "${PAGES[@]}" tools/relaisctl/README.md; do
    # relaisctl command lines: in code blocks (indented) or in backquotes, one
    # command per piece of a "&&" or "|" chain; the walkthrough's "as <login>
    # <service> ..." calls relaisctl too.
    while IFS= read -r line; do
      read -ra words <<<"$line"
      cmd="${words[0]}"
      # A command with subcommands ("youth create") takes the next word as one.
      grep -qE "^  $cmd [a-z]" <<<"$help" && cmd="$cmd ${words[1]:-}"
      grep -qE "^  $cmd( |$)" <<<"$help" || { fail "$page: relaisctl has no command '$cmd'"; continue; }
      sub_help=$("$RELAISCTL" $cmd --help 2>&1)
      [[ "$cmd" == "admin retention" ]] && sub_help=$("$RELAISCTL" admin retention sweep --help 2>&1)
      sub_help=$(sed -E ':a; s/(--[a-z_]*)-/\1_/; ta' <<<"$sub_help")
      for flag in $(grep -oE '(^| )--[a-z_-]+' <<<"$line"); do
        flag=--$(tr - _ <<<"${flag#--}")
        grep -qE -- "(^|[ ,])${flag}( |,|$)" <<<"$sub_help" ||
          fail "$page: 'relaisctl $cmd' has no flag $flag"
      done
    done < <({ grep -E '^    ' "$page"; grep -oE '`relaisctl [^`]+`' "$page"; } |
             tr -d '`' | sed -E 's/ *(&&|\|) */\n/g' |
             grep -oE '(relaisctl( --[a-z_]+ [^ ]+)* |^ *([a-z]=\$\()?as [a-z.]+ +\$[A-Z]+ +)[a-z][a-z-]+[^#]*' |
             sed -E 's/^ *([a-z]=\$\()?as [a-z.]+ +\$[A-Z]+ +//; s/^relaisctl( --[a-z_]+ [^ ]+)* //')
  done
  # docs/api.md's walkthrough: each "as <who> <svc> <cmd> <sub>" is in the script.
  while IFS= read -r line; do
    grep -qF -- "$line" deploy/walkthrough.sh || fail "docs/api.md: '$line' is not in deploy/walkthrough.sh"
  done < <(grep -oE '^ *([a-z]=\$\()?as [a-z.]+ +\$[A-Z]+ +[a-z]+ [a-z]+' docs/api.md |
           sed -E 's/^ *([a-z]=\$\()?//; s/ +/ /g' | grep -v ' login$' | sort -u)
  # docs/api.md's buf curl calls: each method it calls is called by the test.
  while IFS= read -r method; do
    grep -qF -- "$method" tests/deploy/buf_curl_test.sh ||
      fail "docs/api.md calls $method, which tests/deploy/buf_curl_test.sh does not"
  done < <(grep -oE '127\.0\.0\.1:50051/[A-Za-z0-9_.]+/[A-Za-z]+' docs/api.md |
           sed 's|.*:50051||' | sort -u)
}

case "$CHECK" in
  front-door) front_door ;;
  names) names ;;
  commands) commands ;;
  *) echo "usage: docs_test.sh <source-dir> front-door|names|commands [relaisctl]"; exit 2 ;;
esac
((failures == 0)) || exit 1
echo "docs $CHECK: ok"
