#!/usr/bin/env bash
# deploy/tsan.sh: builds the concurrency tests with ThreadSanitizer
# (build-tsan/, -DRELAIS_SANITIZE=thread) and runs them: the storage layer's
# many-writer test, the audit log's concurrent appends, tests/concurrency_test
# (several clients through one real server), the online backup under
# concurrent writes (storage level), and relaisd's scheduled retention sweep
# beside calls. Not BackupRestore.BackupUnderWriteLoad: under its streaming
# load TSan reports grpc++'s completion callbacks (a std::function filled on
# one gRPC thread, run on another, handed over inside uninstrumented libgrpc);
# no suppression matches those without also hiding the project's own reactor
# code (tsan.supp, 3).
#
# Suppressions (deploy/tsan.supp) cover only Debian's uninstrumented gRPC and
# abseil; read the file before adding any. Not part of CI (a second tree).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RELAIS_BUILD="${RELAIS_TSAN_BUILD:-$RELAIS_ROOT/build-tsan}"
relais_install
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1 history_size=4} suppressions=$RELAIS_ROOT/deploy/tsan.supp"
# Debug (-O0): exact stacks in reports, and fast enough for these tests.
cmake -S "$RELAIS_ROOT" -B "$RELAIS_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DRELAIS_SANITIZE=thread >/dev/null
cmake --build "$RELAIS_BUILD" -j "${RELAIS_JOBS:-2}" --target storage_test audit_log_test \
  concurrency_test gdpr_retention_test relais_absl_sync_tsan
# Shows absl::Mutex (the project's locks and gRPC's) to TSan: tests/tsan/.
export LD_PRELOAD="$RELAIS_BUILD/tests/tsan/librelais_absl_sync_tsan.so${LD_PRELOAD:+:$LD_PRELOAD}"
cd "$RELAIS_BUILD"
ctest --output-on-failure --timeout 900 \
  -R '^(Database\.ManyThreadsWritingLoseNothing|AuditLog\.ConcurrentAppendsKeepOneChain|Concurrency\.|DatabaseBackup\.CopyUnderConcurrentWrites|GdprRetention\.RelaisdSweepsOnItsSchedule)'
