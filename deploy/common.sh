# Shared by deploy/run-demo.sh and deploy/test.sh. Sourced, not run.
set -euo pipefail

RELAIS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RELAIS_BUILD="${RELAIS_BUILD:-$RELAIS_ROOT/build}"

# Debian 12 packages the build and the tests need (see DEVELOPERS.md).
RELAIS_PACKAGES=(
  cmake ninja-build g++ pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libsqlite3-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  sqlite3 openssl
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
}

# relais_build [extra cmake args...]: configures once, builds with 2 jobs.
relais_build() {
  cmake -S "$RELAIS_ROOT" -B "$RELAIS_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$RELAIS_BUILD" -j "${RELAIS_JOBS:-2}"
}
