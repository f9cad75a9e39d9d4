#!/usr/bin/env bash
# buf lint over proto/ with the committed buf.yaml. Fails, never skips, when buf
# is missing: deploy/common.sh installs the pinned one into .tools/.
# Usage: buf_lint_test.sh <source-dir> <buf>
set -euo pipefail
SRC=$1 BUF=$2
[[ -x "$BUF" ]] || { echo "FAIL: buf not found at $BUF; run deploy/common.sh's relais_install (or: source deploy/common.sh && relais_install_tools)"; exit 1; }
cd "$SRC"
echo "buf $("$BUF" --version)"
"$BUF" lint
echo "buf lint: ok"
