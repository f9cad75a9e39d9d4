#!/usr/bin/env bash
# The runtime stage of deploy/Containerfile installs, by name, the Debian package
# of every shared library the programs it ships resolve (ldd, each file mapped
# with dpkg -S), so the image cannot start without one. Sanitizer runtimes are
# skipped: the image is built without sanitizers.
# Usage: containerfile_test.sh <source-dir> <relaisd> [<other program>...]
set -euo pipefail
SRC=$1
shift
FILE="$SRC/deploy/Containerfile"

# Packages after "--no-install-recommends" in the runtime stage's apt-get install.
runtime=$(sed -n '/^FROM debian:12 AS runtime/,$p' "$FILE" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
          grep -m1 'apt-get install' | sed 's/.*--no-install-recommends//; s/&&.*//')
[[ -n "${runtime// }" ]] || { echo "FAIL: no apt-get install in the runtime stage of $FILE"; exit 1; }
grep -q '^FROM debian:12 AS build' "$FILE" || { echo "FAIL: no debian:12 build stage"; exit 1; }
grep -Eq '^USER [a-z]' "$FILE" || { echo "FAIL: the image does not drop root"; exit 1; }
echo "runtime packages: $runtime"

for program in "$@"; do
  ldd "$program" >/dev/null || { echo "FAIL: ldd cannot read $program"; exit 1; }
done
mapfile -t libs < <(for program in "$@"; do ldd "$program"; done |
                    awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u |
                    grep -Ev '/lib(a|ub|t|l)san\.so')
((${#libs[@]} > 0)) || { echo "FAIL: ldd resolved no library"; exit 1; }
# One dpkg -S for all (it is slow per call); usrmerge: dpkg knows /lib/... or /usr/lib/...
owners=$(dpkg -S "${libs[@]}" "${libs[@]/#//usr}" 2>/dev/null || true)
missing=0 checked=0
for path in "${libs[@]}"; do
  pkg=$(awk -F': ' -v a="$path" -v b="/usr$path" \
          '$2 == a || $2 == b { split($1, p, ":"); print p[1]; exit }' <<<"$owners")
  if [[ -z "$pkg" ]]; then echo "FAIL: no Debian package owns $path"; missing=1; continue; fi
  checked=$((checked + 1))
  if ! grep -Fqw -- "$pkg" <<<" $runtime "; then
    echo "FAIL: $path comes from $pkg, which the runtime stage does not install"; missing=1
  fi
done
((missing == 0)) || exit 1
echo "containerfile: ok ($checked libraries, all packaged)"
