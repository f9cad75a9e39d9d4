#include "services/auth/password_slots.h"

#include <algorithm>
#include <thread>

namespace relais::auth_service {

PasswordSlots::PasswordSlots(int capacity)
    : capacity_(capacity > 0
                    ? capacity
                    : std::max(2, 2 * static_cast<int>(std::thread::hardware_concurrency()))) {}

bool PasswordSlots::Acquire(absl::Duration wait) {
  absl::MutexLock lock(&mu_);
  if (!mu_.AwaitWithTimeout(absl::Condition(this, &PasswordSlots::SlotFree), wait)) return false;
  ++in_use_;
  return true;
}

void PasswordSlots::Release() {
  absl::MutexLock lock(&mu_);
  --in_use_;
}

int PasswordSlots::in_use() const {
  absl::MutexLock lock(&mu_);
  return in_use_;
}

}  // namespace relais::auth_service
