#ifndef RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_SCHEMA_H_
#define RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_SCHEMA_H_

#include <vector>

#include "storage/database.h"

namespace relais::partnership {

// The component name under which the partnership migrations are recorded.
inline constexpr char kPartnershipComponent[] = "partnership";

// The partnership tables (pship_*): conventions with their parties,
// signatures, reviews and termination; protocols with their versions, the
// services they concern and the acknowledgements. Append new steps; never
// edit a published one.
const std::vector<storage::Migration>& PartnershipMigrations();

// The same tables on PostgreSQL (partnership_schema_postgres.cc): one baseline
// step numbered like the last SQLite step, building what all of them build.
// Append each new step to both lists.
const std::vector<storage::Migration>& PartnershipPostgresMigrations();

}  // namespace relais::partnership

#endif  // RELAIS_SERVICES_PARTNERSHIP_PARTNERSHIP_SCHEMA_H_
