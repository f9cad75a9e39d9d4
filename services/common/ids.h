#ifndef RELAIS_SERVICES_COMMON_IDS_H_
#define RELAIS_SERVICES_COMMON_IDS_H_

// Transitional: NewId moved to common/ids.h; /work/wt/callpath-renames.sh
// moves the remaining callers. Remove once none includes this header.

#include "common/ids.h"

namespace relais::rpc {
using common::NewId;
}  // namespace relais::rpc

#endif  // RELAIS_SERVICES_COMMON_IDS_H_
