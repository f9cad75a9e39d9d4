#!/usr/bin/env bash
# Installs what is missing, builds the whole suite once with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer, and runs every test. CI runs exactly this.
# Arguments go to ctest: RELAIS_LONG_TESTS=1 ./deploy/test.sh -R '^Crash\.' runs
# one check in its long mode (docs/testing.md, "Long runs").
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RELAIS_BUILD="${RELAIS_TEST_BUILD:-$RELAIS_ROOT/build-test}"
# clang: it compiles this tree in about half g++'s time (libstdc++ is shared,
# so Debian's g++-built libraries link as they are).
RELAIS_PACKAGES+=(clang libclang-rt-14-dev)
relais_install
relais_install_console_tests
# The tree and the tests' files take about 9 GB; a disk that fills up during
# the build shows as a linker's "Bus error", so say it first.
free_gb=$(df --output=avail -BG "$(dirname "$RELAIS_BUILD")" 2>/dev/null | tail -1 | tr -dc 0-9) ||
  true
if [[ -n $free_gb ]] && ((free_gb < 12)); then
  echo "test.sh: ${free_gb} GB free for $RELAIS_BUILD; a clean build and run need about 9" >&2
fi
# Line tables are all a sanitizer report needs; full debug info in each of the
# ~100 statically linked test executables made the tree 11 GB.
relais_configure -DCMAKE_BUILD_TYPE=Debug "-DRELAIS_SANITIZE=address;undefined" \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only
relais_build  # every target: the suite runs them all
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$RELAIS_ROOT/deploy/lsan.supp}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# The tests' scratch files (databases, keys, certificates) live under the tree,
# not in the machine's /tmp, and go with a passing run: a failed run's stay for
# a look until the next run starts.
export TEST_TMPDIR="$RELAIS_BUILD/scratch" TMPDIR="$RELAIS_BUILD/scratch"
rm -rf "$TEST_TMPDIR" && mkdir -p "$TEST_TMPDIR"
cd "$RELAIS_BUILD"
status=0
ctest --output-on-failure -j "${RELAIS_JOBS:-2}" --timeout 600 "$@" || status=$?
((status)) || rm -rf "$TEST_TMPDIR"
exit "$status"
