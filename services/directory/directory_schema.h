#ifndef RELAIS_SERVICES_DIRECTORY_DIRECTORY_SCHEMA_H_
#define RELAIS_SERVICES_DIRECTORY_DIRECTORY_SCHEMA_H_

#include <vector>

#include "storage/database.h"

namespace relais::directory {

// The component name under which the directory's migrations are recorded.
inline constexpr char kDirectoryComponent[] = "directory";

// The directory's schema steps, in order: the tables (dir_sectors, dir_services,
// dir_members, dir_glossary), then the seed data — the five sectors of the
// design and a glossary of Wallonia-Brussels acronyms; later the service
// profiles (dir_service_profiles and its needs, communes, languages) and the
// sectors' shared definitions (dir_definitions, seeded). Append new steps;
// never edit a published one.
const std::vector<storage::Migration>& DirectoryMigrations();

// The same schema on PostgreSQL (directory_schema_postgres.cc): one baseline
// step numbered like the last SQLite step, building what all of them build.
// Append each new step to both lists.
const std::vector<storage::Migration>& DirectoryPostgresMigrations();

}  // namespace relais::directory

#endif  // RELAIS_SERVICES_DIRECTORY_DIRECTORY_SCHEMA_H_
