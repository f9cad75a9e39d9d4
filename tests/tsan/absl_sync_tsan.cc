// Makes Debian's absl::Mutex, CondVar and Notification visible to
// ThreadSanitizer. Loaded with LD_PRELOAD by deploy/tsan.sh; never linked into
// anything else.
//
// Why: Debian's libabsl_synchronization is built without -fsanitize=thread,
// so TSan sees neither its atomics nor its futex waits: every lock taken
// through absl::Mutex -- the project's (ABSL_GUARDED_BY state in storage/,
// services/audit/, common/...) and gRPC's own (gpr_mu and grpc_core::Mutex
// wrap absl::Mutex in gRPC 1.51) -- is invisible, and every access it
// protects is reported as a race.
//
// How: this library defines the same exported symbols as
// libabsl_synchronization (Mutex::Lock, Unlock, ..., CondVar::Wait,
// Notification::Notify, ...). Preloaded, its definitions win for every caller
// in the process (the executable, gRPC, and absl itself through its PLT);
// each forwards to the real function (dlsym(RTLD_NEXT)) and tells TSan about
// the happens-before edge: __tsan_release(mutex) before a lock is given up,
// __tsan_acquire(mutex) once it is held. That is all TSan needs for race
// detection (not for its lock-order checks, which this does not feed).
//
// The mangled names are those of abseil 20220623 as Debian builds it (inline
// namespace "debian3"); a mismatch fails loudly at the first call.

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

template <typename Fn>
Fn Real(const char* mangled) {
  void* fn = dlsym(RTLD_NEXT, mangled);
  if (fn == nullptr) {
    std::fprintf(stderr, "absl_sync_tsan: %s not found after this library\n", mangled);
    std::abort();
  }
  return reinterpret_cast<Fn>(fn);
}

void Acquired(const void* mu) { __tsan_acquire(const_cast<void*>(mu)); }
void Releasing(const void* mu) { __tsan_release(const_cast<void*>(mu)); }

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

#define RELAIS_REAL(type, mangled) static const auto real = Real<type>(mangled)

void Mutex::Lock() {
  RELAIS_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex4LockEv");
  real(this);
  Acquired(this);
}

void Mutex::ReaderLock() {
  RELAIS_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex10ReaderLockEv");
  real(this);
  Acquired(this);
}

void Mutex::Unlock() {
  RELAIS_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex6UnlockEv");
  Releasing(this);
  real(this);
}

void Mutex::ReaderUnlock() {
  RELAIS_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex12ReaderUnlockEv");
  Releasing(this);
  real(this);
}

bool Mutex::TryLock() {
  RELAIS_REAL(bool (*)(Mutex*), "_ZN4absl7debian35Mutex7TryLockEv");
  const bool held = real(this);
  if (held) Acquired(this);
  return held;
}

bool Mutex::ReaderTryLock() {
  RELAIS_REAL(bool (*)(Mutex*), "_ZN4absl7debian35Mutex13ReaderTryLockEv");
  const bool held = real(this);
  if (held) Acquired(this);
  return held;
}

void Mutex::LockWhen(const Condition& cond) {
  RELAIS_REAL(void (*)(Mutex*, const Condition&),
              "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE");
  real(this, cond);
  Acquired(this);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  RELAIS_REAL(void (*)(Mutex*, const Condition&),
              "_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE");
  real(this, cond);
  Acquired(this);
}

// The *WithTimeout/*WithDeadline forms return holding the lock either way.
bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  RELAIS_REAL(bool (*)(Mutex*, const Condition&, absl::Duration),
              "_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const bool met = real(this, cond, timeout);
  Acquired(this);
  return met;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  RELAIS_REAL(bool (*)(Mutex*, const Condition&, absl::Time),
              "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const bool met = real(this, cond, deadline);
  Acquired(this);
  return met;
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  RELAIS_REAL(bool (*)(Mutex*, const Condition&, absl::Duration),
              "_ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  const bool met = real(this, cond, timeout);
  Acquired(this);
  return met;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  RELAIS_REAL(bool (*)(Mutex*, const Condition&, absl::Time),
              "_ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const bool met = real(this, cond, deadline);
  Acquired(this);
  return met;
}

// Await and CondVar waits give the lock up and take it back inside.
void Mutex::Await(const Condition& cond) {
  RELAIS_REAL(void (*)(Mutex*, const Condition&), "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE");
  Releasing(this);
  real(this, cond);
  Acquired(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  RELAIS_REAL(bool (*)(Mutex*, const Condition&, absl::Duration),
              "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Releasing(this);
  const bool met = real(this, cond, timeout);
  Acquired(this);
  return met;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  RELAIS_REAL(bool (*)(Mutex*, const Condition&, absl::Time),
              "_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  Releasing(this);
  const bool met = real(this, cond, deadline);
  Acquired(this);
  return met;
}

void CondVar::Wait(Mutex* mu) {
  RELAIS_REAL(void (*)(CondVar*, Mutex*), "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE");
  Releasing(mu);
  real(this, mu);
  Acquired(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  RELAIS_REAL(bool (*)(CondVar*, Mutex*, absl::Duration),
              "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  Releasing(mu);
  const bool timed_out = real(this, mu, timeout);
  Acquired(mu);
  return timed_out;
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  RELAIS_REAL(bool (*)(CondVar*, Mutex*, absl::Time),
              "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  Releasing(mu);
  const bool timed_out = real(this, mu, deadline);
  Acquired(mu);
  return timed_out;
}

// A Notification is also observed through its atomic flag, without the
// mutex: tie the edge to the object itself.
void Notification::Notify() {
  RELAIS_REAL(void (*)(Notification*), "_ZN4absl7debian312Notification6NotifyEv");
  Releasing(this);
  real(this);
}

void Notification::WaitForNotification() const {
  RELAIS_REAL(void (*)(const Notification*),
              "_ZNK4absl7debian312Notification19WaitForNotificationEv");
  real(this);
  Acquired(this);
}

bool Notification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  RELAIS_REAL(bool (*)(const Notification*, absl::Duration),
              "_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  const bool notified = real(this, timeout);
  if (notified) Acquired(this);
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  RELAIS_REAL(bool (*)(const Notification*, absl::Time),
              "_ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  const bool notified = real(this, deadline);
  if (notified) Acquired(this);
  return notified;
}

#undef RELAIS_REAL

ABSL_NAMESPACE_END
}  // namespace absl
