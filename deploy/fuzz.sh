#!/usr/bin/env bash
# deploy/fuzz.sh [seconds]: builds the libFuzzer targets in their own tree
# (build-fuzz/: clang, project code instrumented for libFuzzer with ASan+UBSan)
# and runs each target for [seconds] (default 30; the long mode is 1800).
#
# Each target starts from its committed seed corpus (tests/fuzz/corpus/<name>,
# only read) plus what earlier runs found (build-fuzz/fuzz-corpus/<name>, where
# new inputs go). A crashing input is written to
# build-fuzz/fuzz-artifacts/<name>-crash-<sha1>; replay it with
#   build-fuzz/tests/fuzz/<name>_fuzzer <file>
# or, in the CI tree, RELAIS_FUZZ_INPUT=<file> build-test/tests/fuzz/<name>_fuzz_replay.
#
# Environment: RELAIS_FUZZ_TARGETS="record care" runs only those;
# RELAIS_FUZZ_PARALLEL=1 runs the targets side by side (each still gets
# [seconds] of wall time, sharing the cores: fewer runs per target);
# RELAIS_FUZZ_BUILD overrides the tree; RELAIS_JOBS the build parallelism.
# Exit status: 0 when every target ran its time without a finding, 1 otherwise.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RELAIS_BUILD="${RELAIS_FUZZ_BUILD:-$RELAIS_ROOT/build-fuzz}"
seconds="${1:-30}"
targets=(${RELAIS_FUZZ_TARGETS:-directory auth care record audit admin token export config})

RELAIS_PACKAGES+=(clang libclang-rt-14-dev)
relais_install
cmake -S "$RELAIS_ROOT" -B "$RELAIS_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DRELAIS_FUZZ=ON >/dev/null
cmake --build "$RELAIS_BUILD" -j "${RELAIS_JOBS:-2}" --target \
  $(printf '%s_fuzzer ' "${targets[@]}")

# Abort (not just report) on the first sanitizer error, so libFuzzer saves the
# input; leak checking stays on (libFuzzer's -detect_leaks).
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$RELAIS_BUILD/fuzz-artifacts" "$RELAIS_BUILD/fuzz-logs"
# fuzz_one <target>: runs it, writes one summary line to fuzz-logs/<target>.summary,
# returns non-zero on a finding.
fuzz_one() {
  local t=$1
  local corpus="$RELAIS_BUILD/fuzz-corpus/$t"
  local log="$RELAIS_BUILD/fuzz-logs/$t.log"
  local summary="$RELAIS_BUILD/fuzz-logs/$t.summary"
  mkdir -p "$corpus"
  echo "== $t: fuzzing for ${seconds}s (log: $log)"
  # The service targets run a multi-threaded server whose caches and thread
  # pools make mallocs and frees unequal within almost every input, which
  # makes libFuzzer run a full LeakSanitizer scan per input (25 exec/s instead
  # of ~1000). Leaks there are the soak test's job (deploy/soak.sh); the
  # single-threaded parsers keep the per-input leak check.
  local leaks=0 rc=0 runs rate cov
  local dict=(-dict="$RELAIS_ROOT/tests/fuzz/services.dict")
  [[ $t == token || $t == export || $t == config ]] && leaks=1 dict=()
  "$RELAIS_BUILD/tests/fuzz/${t}_fuzzer" "$corpus" "$RELAIS_ROOT/tests/fuzz/corpus/$t" \
    -max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 -detect_leaks=$leaks \
    "${dict[@]}" -print_final_stats=1 -artifact_prefix="$RELAIS_BUILD/fuzz-artifacts/$t-" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if ((rc != 0)); then
    { echo "$t: FINDING after ${runs:-?} runs (exit $rc): $(grep -m1 -E 'ERROR: |FUZZ FINDING|runtime error' "$log")"
      grep -E 'Test unit written to' "$log" || true; } >"$summary"
  else
    echo "$t: ${seconds}s, ${runs:-?} runs, ${rate:-?} exec/s, ${cov:-cov: ?}, no finding" >"$summary"
  fi
  return "$rc"
}

status=0
pids=()
for t in "${targets[@]}"; do
  if [[ -n ${RELAIS_FUZZ_PARALLEL:-} ]]; then
    fuzz_one "$t" &
    pids+=($!)
  else
    fuzz_one "$t" || status=1
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
echo
for t in "${targets[@]}"; do cat "$RELAIS_BUILD/fuzz-logs/$t.summary"; done
exit "$status"
