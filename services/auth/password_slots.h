#ifndef RELAIS_SERVICES_AUTH_PASSWORD_SLOTS_H_
#define RELAIS_SERVICES_AUTH_PASSWORD_SLOTS_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace relais::auth_service {

// A counting semaphore over password checks: each scrypt computation holds
// 16 MiB and a core for a while, so at most `capacity` run at once and a
// flood of logins waits (boundedly) instead of exhausting memory. Thread-safe.
class PasswordSlots {
 public:
  // `capacity` < 1 means 2 x std::thread::hardware_concurrency() (at least 2).
  explicit PasswordSlots(int capacity);

  // Takes a slot, waiting at most `wait` for one; false if none freed in time.
  bool Acquire(absl::Duration wait);
  // Gives back a slot taken by Acquire().
  void Release();

  int capacity() const { return capacity_; }
  int in_use() const;

 private:
  bool SlotFree() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return in_use_ < capacity_; }

  const int capacity_;
  mutable absl::Mutex mu_;
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
};

// Holds one slot for its lifetime (when `held`).
class PasswordSlot {
 public:
  PasswordSlot(PasswordSlots* slots, absl::Duration wait)
      : slots_(slots), held_(slots->Acquire(wait)) {}
  ~PasswordSlot() {
    if (held_) slots_->Release();
  }
  PasswordSlot(const PasswordSlot&) = delete;
  PasswordSlot& operator=(const PasswordSlot&) = delete;
  bool held() const { return held_; }

 private:
  PasswordSlots* const slots_;
  const bool held_;
};

}  // namespace relais::auth_service

#endif  // RELAIS_SERVICES_AUTH_PASSWORD_SLOTS_H_
