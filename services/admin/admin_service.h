#ifndef RELAIS_SERVICES_ADMIN_ADMIN_SERVICE_H_
#define RELAIS_SERVICES_ADMIN_ADMIN_SERVICE_H_

#include <string>

#include "absl/status/status.h"
#include "common/clock.h"
#include "relais/v1/admin.grpc.pb.h"
#include "services/audit/audit_log.h"
#include "services/common/rpc.h"
#include "storage/database.h"

namespace relais::admin {

// AdminService: operations on the server itself, for admins only.
//
// BackupDatabase copies the database (storage::Database::Backup) into a file
// of its own in `backup_dir`, a private directory (0700, files 0600) beside
// the database, streams it, and deletes it when the call ends however it ends
// (done, cancelled, deadline, error). The copy is made on the gRPC callback
// thread that starts the call, before the first message. Thread-safe.
class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  // Data chunk size: well under relaisd's smallest send limit.
  static constexpr size_t kChunkBytes = 256 * 1024;

  // The backup directory of a database file: "<db_path>.backup.d".
  static std::string BackupDirFor(const std::string& db_path);
  // Creates `dir` (0700) if missing, refuses one that group or others may
  // enter, and deletes the copies a crashed relaisd left there.
  static absl::Status PrepareBackupDir(const std::string& dir);

  // Pointers are borrowed and must outlive this object.
  AdminServiceImpl(storage::Database* db, rpc::CallGate* gate, const common::Clock* clock,
                   std::string backup_dir)
      : db_(db), gate_(gate), clock_(clock), backup_dir_(std::move(backup_dir)) {}

  grpc::ServerWriteReactor<v1::BackupDatabaseChunk>* BackupDatabase(
      grpc::CallbackServerContext* ctx, const v1::BackupDatabaseRequest* req) override;

 private:
  storage::Database* const db_;
  rpc::CallGate* const gate_;
  const common::Clock* const clock_;
  const std::string backup_dir_;
};

}  // namespace relais::admin

#endif  // RELAIS_SERVICES_ADMIN_ADMIN_SERVICE_H_
