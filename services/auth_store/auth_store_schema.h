#ifndef RELAIS_SERVICES_AUTH_STORE_AUTH_STORE_SCHEMA_H_
#define RELAIS_SERVICES_AUTH_STORE_AUTH_STORE_SCHEMA_H_

#include <vector>

#include "storage/database.h"

namespace relais::auth_store {

// The component under which AuthService's session and login tables are
// migrated (its own name, so other auth tables can evolve apart).
inline constexpr char kAuthLoginsComponent[] = "auth_logins";

// Schema steps, in order: auth_revoked_tokens, auth_member_generations,
// auth_login_failures; auth_peer_failures. Append new steps; never edit a published one.
const std::vector<storage::Migration>& AuthLoginsMigrations();

// The same tables on PostgreSQL (auth_store_schema_postgres.cc): one baseline
// step numbered like the last SQLite step, building what all of them build.
// Append each new step to both lists.
const std::vector<storage::Migration>& AuthLoginsPostgresMigrations();

}  // namespace relais::auth_store

#endif  // RELAIS_SERVICES_AUTH_STORE_AUTH_STORE_SCHEMA_H_
