#ifndef RELAIS_STORAGE_FAULT_VFS_H_
#define RELAIS_STORAGE_FAULT_VFS_H_

// A fault-injecting SQLite VFS for tests: it forwards every call to SQLite's
// default VFS ("unix") and, on demand,
//   - fails writes with SQLITE_FULL (disk full) or SQLITE_IOERR_WRITE,
//   - fails fsync with SQLITE_IOERR_FSYNC,
//   - refuses the write lock with SQLITE_BUSY ("another process holds the
//     database locked": xLock above SHARED, and the WAL write lock in xShmLock),
//   - simulates a power loss: it remembers, per file, every write and truncate
//     since that file's last successful xSync; at a seeded crash point every
//     later write, sync, truncate and delete fails (the process is "dead"), and
//     once the connections are closed RestoreAfterCrash() puts each file back
//     the way its last sync left it (optionally keeping a seeded random subset
//     of the unsynced writes, as a disk cache that wrote back some pages in any
//     order would).
//
// Open a database through it with Database::Options::vfs = fault_vfs.name(),
// or sqlite3_open_v2(..., name). It is never made the default VFS.
//
// Model limits: deleting a file and creating one are taken as durable at once
// (SQLite syncs the directory after creating its journals); writes are lost
// whole, never torn inside one xWrite call; the -shm file (mapped memory, not
// durable by design) is not tracked.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace relais::storage {

class FaultVfs {
 public:
  enum class Fault {
    kNone,
    kDiskFull,    // xWrite -> SQLITE_FULL
    kWriteError,  // xWrite -> SQLITE_IOERR_WRITE
    kSyncError,   // xSync  -> SQLITE_IOERR_FSYNC
    kLocked,      // xLock > SHARED and the WAL write lock -> SQLITE_BUSY
  };

  // What RestoreAfterCrash() did.
  struct CrashReport {
    int64_t files_restored = 0;  // files that had unsynced changes
    int64_t writes_dropped = 0;  // unsynced xWrite/xTruncate calls undone
    int64_t bytes_dropped = 0;   // bytes those writes had written
    int64_t writes_kept = 0;     // unsynced calls kept (keep_probability > 0)
  };

  // Registers a VFS called `name` over the default VFS. AlreadyExists if a VFS
  // of that name is registered; Internal if SQLite has no default VFS. The
  // object must outlive every connection opened through it; the destructor
  // unregisters it.
  static absl::StatusOr<std::unique_ptr<FaultVfs>> Register(absl::string_view name);
  ~FaultVfs();
  FaultVfs(const FaultVfs&) = delete;
  FaultVfs& operator=(const FaultVfs&) = delete;

  const std::string& name() const;

  // Arms `fault` for the next `times` operations it applies to (-1: until
  // Clear()). Replaces any armed fault. Thread-safe, like everything below.
  void Inject(Fault fault, int times = -1);
  // Disarms the fault: the "disk" works again.
  void Clear();
  // How many operations the injected faults have failed since Register().
  int64_t faults_fired() const;

  // Power loss. While tracking is on, every write and truncate of a named file
  // is recorded until that file's next successful xSync (this costs a read of
  // the overwritten bytes per write). Turning it on forgets earlier history.
  void TrackUnsyncedWrites(bool on);
  // Mutating operations (xWrite, xSync, xTruncate, xDelete on named files) seen
  // since tracking was last turned on or ArmCrash() called: a dry run measures
  // how many a workload makes, to choose crash points in that range.
  int64_t operations() const;
  // The power goes at the `n`-th mutating operation from now (n >= 1): that
  // operation and every later one fails with an SQLITE_IOERR code and changes
  // nothing. n <= 0 disarms.
  void ArmCrash(int64_t n);
  // The power goes now.
  void CrashNow();
  bool crashed() const;
  // After a crash, once every file opened through this VFS is closed (close
  // the Database: its close-time checkpoint fails harmlessly): puts each file
  // back to what its last successful sync made durable, replaying each
  // unsynced write with probability `keep_probability` (chosen by `seed`), and
  // ends the crashed state. FailedPrecondition if not crashed or files are
  // still open; Unavailable if a file cannot be restored.
  absl::StatusOr<CrashReport> RestoreAfterCrash(uint64_t seed = 0, double keep_probability = 0);

  // Files currently open through this VFS.
  int open_files() const;

  struct State;  // implementation, in fault_vfs.cc

 private:
  explicit FaultVfs(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace relais::storage

#endif  // RELAIS_STORAGE_FAULT_VFS_H_
