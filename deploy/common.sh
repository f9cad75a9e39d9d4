# Shared by deploy/run-demo.sh and deploy/test.sh. Sourced, not run.
set -euo pipefail

RELAIS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RELAIS_BUILD="${RELAIS_BUILD:-$RELAIS_ROOT/build}"

# Debian 12 packages the build and the tests need (see DEVELOPERS.md).
RELAIS_PACKAGES=(
  cmake ninja-build g++ lld pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libsqlite3-dev libpq-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  sqlite3 openssl
  python3 clang-format
)

relais_install() {
  local missing=()
  for p in "${RELAIS_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "Installing: ${missing[*]}"
    local sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  relais_install_tools
}

# Tools the tests run that Debian does not package at the needed version.
RELAIS_TOOLS="$RELAIS_ROOT/.tools"  # gitignored
RELAIS_BUF_VERSION=1.75.0           # pinned: lint rules change between releases
RELAIS_BUF="$RELAIS_TOOLS/buf/node_modules/.bin/buf"

# relais_install_tools: npm (Debian's, if there is none), the pinned buf (npm
# package @bufbuild/buf, which ships the binary) into .tools/,
# systemd-analyze for the unit file test and Debian's postgresql server for
# the suite's PostgreSQL half.
relais_install_tools() {
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  local apt=()
  command -v npm >/dev/null || apt+=(nodejs npm)
  command -v systemd-analyze >/dev/null || apt+=(systemd)
  # The @pg half of the suite runs a throwaway PostgreSQL server (tests/postgres).
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || apt+=(postgresql)
  if ((${#apt[@]})); then
    echo "Installing: ${apt[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt[@]}"
  fi
  if [[ "$("$RELAIS_BUF" --version 2>/dev/null)" != "$RELAIS_BUF_VERSION" ]]; then
    echo "Installing buf $RELAIS_BUF_VERSION into $RELAIS_TOOLS/buf"
    mkdir -p "$RELAIS_TOOLS/buf"
    npm install --prefix "$RELAIS_TOOLS/buf" --no-audit --no-fund --loglevel=error \
      "@bufbuild/buf@$RELAIS_BUF_VERSION" >/dev/null
    "$RELAIS_BUF" --version >/dev/null
  fi
}

# relais_install_console: the console's npm libraries (production only), as
# package-lock.json pins them.
relais_install_console() {
  local console="$RELAIS_ROOT/console"
  if [[ ! -e $console/node_modules/.package-lock.json ||
    $console/package-lock.json -nt $console/node_modules/.package-lock.json ]]; then
    echo "Installing the console's npm libraries"
    npm ci --prefix "$console" --omit=dev --no-audit --no-fund --loglevel=error >/dev/null
  fi
}

# relais_install_console_tests: what the console's end-to-end tests need:
# Debian's chromium (puppeteer-core drives it and never downloads a browser)
# and the console's npm libraries as package-lock.json pins them.
relais_install_console_tests() {
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  if ! command -v chromium >/dev/null; then
    echo "Installing: chromium"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium
  fi
  local console="$RELAIS_ROOT/console"
  if [[ ! -d $console/node_modules/puppeteer-core ||
    $console/package-lock.json -nt $console/node_modules/.package-lock.json ]]; then
    echo "Installing the console's npm libraries and test driver"
    npm ci --prefix "$console" --no-audit --no-fund --loglevel=error >/dev/null
  fi
}

# relais_configure [extra cmake args...]: configures the tree in $RELAIS_BUILD.
relais_configure() {
  cmake -S "$RELAIS_ROOT" -B "$RELAIS_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
}

# relais_build [targets...]: builds those targets (every target, tests included,
# when none is named) with 2 jobs. run-demo.sh names only what it runs.
relais_build() {
  local targets=()
  (($#)) && targets=(--target "$@")
  cmake --build "$RELAIS_BUILD" -j "${RELAIS_JOBS:-2}" "${targets[@]}"
}
