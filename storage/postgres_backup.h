#ifndef RELAIS_STORAGE_POSTGRES_BACKUP_H_
#define RELAIS_STORAGE_POSTGRES_BACKUP_H_

// Database::Backup on PostgreSQL: pg_dump of Relais's schema, in the
// snapshot the caller's on_snapshot reads.

#include <string>

#include "absl/status/statusor.h"
#include "storage/database.h"

namespace relais::storage {

// Opens a connection of its own to `uri`, exports one REPEATABLE READ
// snapshot, runs `options.on_snapshot` in it, and has pg_dump (custom format,
// the connection's current schema only, no owners or grants) write that
// snapshot to `dest_path`.tmp (0600); checks the archive with pg_restore
// --list, fsyncs it and renames it to `dest_path`. On any failure nothing is
// left at either path. UNAVAILABLE if pg_dump is missing or fails (its first
// line logged), DATA_LOSS if the archive does not read back, CANCELLED if
// `options.progress` (told the bytes written so far, total 0) said so.
// The path of PostgreSQL's client program `name` (pg_dump, pg_restore,
// pg_basebackup) of the newest version installed: /usr/lib/postgresql/<version>/bin
// first, then /usr/bin.
std::string PostgresToolPath(const std::string& name);

absl::StatusOr<Database::BackupInfo> PostgresBackup(const std::string& uri,
                                                    const std::string& dest_path,
                                                    const Database::BackupOptions& options);

}  // namespace relais::storage

#endif  // RELAIS_STORAGE_POSTGRES_BACKUP_H_
