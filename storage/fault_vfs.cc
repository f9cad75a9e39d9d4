#include "storage/fault_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <new>
#include <random>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace relais::storage {

// One write or truncate not yet made durable by a sync.
struct Change {
  int64_t offset = 0;
  std::string before;  // the bytes it overwrote (or cut off), as far as they existed
  std::string after;   // what it wrote (empty for a truncate)
  bool truncate = false;
};

// What happened to one file since its last successful sync.
struct History {
  int64_t size_at_sync = 0;
  std::vector<Change> changes;
};

struct FaultVfs::State {
  std::string name;
  sqlite3_vfs vfs{};            // ours, registered with SQLite
  sqlite3_vfs* real = nullptr;  // the default VFS we forward to

  mutable absl::Mutex mu;
  Fault fault ABSL_GUARDED_BY(mu) = Fault::kNone;
  int remaining ABSL_GUARDED_BY(mu) = 0;  // -1: until Clear()
  int64_t fired ABSL_GUARDED_BY(mu) = 0;
  bool tracking ABSL_GUARDED_BY(mu) = false;
  int64_t operations ABSL_GUARDED_BY(mu) = 0;
  int64_t crash_at ABSL_GUARDED_BY(mu) = 0;  // 0: not armed
  bool crashed ABSL_GUARDED_BY(mu) = false;
  int open_files ABSL_GUARDED_BY(mu) = 0;
  std::map<std::string, History> unsynced ABSL_GUARDED_BY(mu);

  // True if the armed fault applies now; counts it down.
  bool Fire(Fault f) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (fault != f || remaining == 0) return false;
    if (remaining > 0) --remaining;
    ++fired;
    return true;
  }

  // Counts one mutating operation on a named file; true if the power is (now)
  // gone, in which case the operation must fail and change nothing.
  bool Dead(bool named) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (crashed) return true;
    if (!named) return false;
    ++operations;
    if (crash_at > 0 && operations >= crash_at) crashed = true;
    return crashed;
  }
};

namespace {

using State = FaultVfs::State;

// The sqlite3_file SQLite allocates for us (vfs.szOsFile bytes): this header,
// then the real VFS's file object at kRealOffset.
struct FaultFile {
  sqlite3_file base;  // must stay first: SQLite sees a sqlite3_file*
  State* state;
  sqlite3_file* real;
  std::string path;  // empty: temporary or nameless, never tracked
};

constexpr size_t kRealOffset = (sizeof(FaultFile) + 15) & ~size_t{15};

FaultFile* Self(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Self(f)->real; }
State* StateOf(sqlite3_vfs* vfs) { return static_cast<State*>(vfs->pAppData); }

int FileSize(sqlite3_file* real, int64_t* size) {
  sqlite3_int64 n = 0;
  const int rc = real->pMethods->xFileSize(real, &n);
  *size = n;
  return rc;
}

// Reads up to `amount` bytes at `offset` that exist in a file of `size` bytes.
std::string ReadExisting(sqlite3_file* real, int64_t size, int64_t offset, int64_t amount) {
  const int64_t n = std::max<int64_t>(0, std::min(amount, size - offset));
  std::string out(static_cast<size_t>(n), '\0');
  if (n > 0) real->pMethods->xRead(real, out.data(), static_cast<int>(n), offset);
  return out;
}

History& HistoryFor(State* s, FaultFile* f) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
  auto it = s->unsynced.find(f->path);
  if (it != s->unsynced.end()) return it->second;
  History h;
  FileSize(f->real, &h.size_at_sync);
  return s->unsynced.emplace(f->path, std::move(h)).first->second;
}

// --- sqlite3_io_methods -------------------------------------------------

int Close(sqlite3_file* f) {
  FaultFile* self = Self(f);
  State* s = self->state;
  const int rc =
      self->real->pMethods != nullptr ? self->real->pMethods->xClose(self->real) : SQLITE_OK;
  {
    absl::MutexLock lock(&s->mu);
    --s->open_files;
  }
  self->~FaultFile();
  return rc;
}

int Read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  return Real(f)->pMethods->xRead(Real(f), buf, amount, offset);
}

int Write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  FaultFile* self = Self(f);
  State* s = self->state;
  // Held across the real write so the recorded history matches the file.
  absl::MutexLock lock(&s->mu);
  if (s->Dead(!self->path.empty())) return SQLITE_IOERR_WRITE;
  if (s->Fire(FaultVfs::Fault::kDiskFull)) return SQLITE_FULL;
  if (s->Fire(FaultVfs::Fault::kWriteError)) return SQLITE_IOERR_WRITE;
  if (s->tracking && !self->path.empty()) {
    History& h = HistoryFor(s, self);
    int64_t size = 0;
    FileSize(self->real, &size);
    Change c;
    c.offset = offset;
    c.before = ReadExisting(self->real, size, offset, amount);
    c.after.assign(static_cast<const char*>(buf), static_cast<size_t>(amount));
    h.changes.push_back(std::move(c));
  }
  return self->real->pMethods->xWrite(self->real, buf, amount, offset);
}

int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  FaultFile* self = Self(f);
  State* s = self->state;
  absl::MutexLock lock(&s->mu);
  if (s->Dead(!self->path.empty())) return SQLITE_IOERR_TRUNCATE;
  if (s->tracking && !self->path.empty()) {
    History& h = HistoryFor(s, self);
    int64_t current = 0;
    FileSize(self->real, &current);
    Change c;
    c.offset = size;
    c.truncate = true;
    c.before = ReadExisting(self->real, current, size, current - size);
    h.changes.push_back(std::move(c));
  }
  return self->real->pMethods->xTruncate(self->real, size);
}

int Sync(sqlite3_file* f, int flags) {
  FaultFile* self = Self(f);
  State* s = self->state;
  absl::MutexLock lock(&s->mu);
  if (s->Dead(!self->path.empty())) return SQLITE_IOERR_FSYNC;
  if (s->Fire(FaultVfs::Fault::kSyncError)) return SQLITE_IOERR_FSYNC;
  const int rc = self->real->pMethods->xSync(self->real, flags);
  // fsync makes every write to the file durable, through whichever handle.
  if (rc == SQLITE_OK && !self->path.empty()) s->unsynced.erase(self->path);
  return rc;
}

int FileSizeMethod(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}

int Lock(sqlite3_file* f, int level) {
  if (level > SQLITE_LOCK_SHARED) {
    State* s = Self(f)->state;
    absl::MutexLock lock(&s->mu);
    if (s->Fire(FaultVfs::Fault::kLocked)) return SQLITE_BUSY;
  }
  return Real(f)->pMethods->xLock(Real(f), level);
}

int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }

int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}

int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}

int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }

int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}

int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  sqlite3_file* r = Real(f);
  if (r->pMethods->iVersion < 2) return SQLITE_IOERR_SHMMAP;
  return r->pMethods->xShmMap(r, region, size, extend, out);
}

int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  sqlite3_file* r = Real(f);
  if (r->pMethods->iVersion < 2) return SQLITE_IOERR_SHMLOCK;
  // Slot 0 of the WAL index locks is the write lock (WAL_WRITE_LOCK): taking
  // it exclusively is what BEGIN IMMEDIATE does in WAL mode.
  if ((flags & SQLITE_SHM_LOCK) && (flags & SQLITE_SHM_EXCLUSIVE) && offset == 0) {
    State* s = Self(f)->state;
    absl::MutexLock lock(&s->mu);
    if (s->Fire(FaultVfs::Fault::kLocked)) return SQLITE_BUSY;
  }
  return r->pMethods->xShmLock(r, offset, n, flags);
}

void ShmBarrier(sqlite3_file* f) {
  sqlite3_file* r = Real(f);
  if (r->pMethods->iVersion >= 2) r->pMethods->xShmBarrier(r);
}

int ShmUnmap(sqlite3_file* f, int delete_flag) {
  sqlite3_file* r = Real(f);
  if (r->pMethods->iVersion < 2) return SQLITE_OK;
  return r->pMethods->xShmUnmap(r, delete_flag);
}

int Fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  sqlite3_file* r = Real(f);
  if (r->pMethods->iVersion < 3) {
    *out = nullptr;
    return SQLITE_OK;
  }
  return r->pMethods->xFetch(r, offset, amount, out);
}

int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  sqlite3_file* r = Real(f);
  if (r->pMethods->iVersion < 3) return SQLITE_OK;
  return r->pMethods->xUnfetch(r, offset, p);
}

const sqlite3_io_methods kIoMethods = {
    3,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSizeMethod,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};

// --- sqlite3_vfs ----------------------------------------------------------

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  State* s = StateOf(vfs);
  FaultFile* self = new (file) FaultFile{};
  self->state = s;
  self->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kRealOffset);
  self->real->pMethods = nullptr;
  if (name != nullptr && (flags & SQLITE_OPEN_DELETEONCLOSE) == 0) self->path = name;
  const int rc = s->real->xOpen(s->real, name, self->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (self->real->pMethods != nullptr) self->real->pMethods->xClose(self->real);
    self->~FaultFile();
    file->pMethods = nullptr;  // SQLite then does not call xClose
    return rc;
  }
  self->base.pMethods = &kIoMethods;
  absl::MutexLock lock(&s->mu);
  ++s->open_files;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  State* s = StateOf(vfs);
  absl::MutexLock lock(&s->mu);
  if (s->Dead(true)) return SQLITE_IOERR_DELETE;
  const int rc = s->real->xDelete(s->real, name, sync_dir);
  if (rc == SQLITE_OK) s->unsynced.erase(name);  // deletion is taken as durable
  return rc;
}

int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  State* s = StateOf(vfs);
  return s->real->xAccess(s->real, name, flags, out);
}

int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  State* s = StateOf(vfs);
  return s->real->xFullPathname(s->real, name, n, out);
}

void* DlOpen(sqlite3_vfs* vfs, const char* name) {
  State* s = StateOf(vfs);
  return s->real->xDlOpen(s->real, name);
}

void DlError(sqlite3_vfs* vfs, int n, char* out) {
  State* s = StateOf(vfs);
  s->real->xDlError(s->real, n, out);
}

void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  State* s = StateOf(vfs);
  return s->real->xDlSym(s->real, handle, symbol);
}

void DlClose(sqlite3_vfs* vfs, void* handle) {
  State* s = StateOf(vfs);
  s->real->xDlClose(s->real, handle);
}

int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  State* s = StateOf(vfs);
  return s->real->xRandomness(s->real, n, out);
}

int Sleep(sqlite3_vfs* vfs, int micros) {
  State* s = StateOf(vfs);
  return s->real->xSleep(s->real, micros);
}

int CurrentTime(sqlite3_vfs* vfs, double* out) {
  State* s = StateOf(vfs);
  return s->real->xCurrentTime(s->real, out);
}

int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  State* s = StateOf(vfs);
  return s->real->xGetLastError != nullptr ? s->real->xGetLastError(s->real, n, out) : 0;
}

int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  State* s = StateOf(vfs);
  return s->real->xCurrentTimeInt64(s->real, out);
}

int SetSystemCall(sqlite3_vfs* vfs, const char* name, sqlite3_syscall_ptr call) {
  State* s = StateOf(vfs);
  return s->real->xSetSystemCall(s->real, name, call);
}

sqlite3_syscall_ptr GetSystemCall(sqlite3_vfs* vfs, const char* name) {
  State* s = StateOf(vfs);
  return s->real->xGetSystemCall(s->real, name);
}

const char* NextSystemCall(sqlite3_vfs* vfs, const char* name) {
  State* s = StateOf(vfs);
  return s->real->xNextSystemCall(s->real, name);
}

absl::Status PosixError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

bool WriteAll(int fd, const std::string& bytes, int64_t offset) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FaultVfs>> FaultVfs::Register(absl::string_view name) {
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (real == nullptr) return absl::InternalError("SQLite has no default VFS");
  auto state = std::make_unique<State>();
  state->name = std::string(name);
  if (sqlite3_vfs_find(state->name.c_str()) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("a VFS named ", name, " is registered"));
  }
  state->real = real;
  sqlite3_vfs& v = state->vfs;
  v.iVersion = std::min(real->iVersion, 3);
  v.szOsFile = static_cast<int>(kRealOffset) + real->szOsFile;
  v.mxPathname = real->mxPathname;
  v.zName = state->name.c_str();
  v.pAppData = state.get();
  v.xOpen = Open;
  v.xDelete = Delete;
  v.xAccess = Access;
  v.xFullPathname = FullPathname;
  v.xDlOpen = DlOpen;
  v.xDlError = DlError;
  v.xDlSym = DlSym;
  v.xDlClose = DlClose;
  v.xRandomness = Randomness;
  v.xSleep = Sleep;
  v.xCurrentTime = CurrentTime;
  v.xGetLastError = GetLastError;
  if (v.iVersion >= 2) v.xCurrentTimeInt64 = CurrentTimeInt64;
  if (v.iVersion >= 3) {
    v.xSetSystemCall = SetSystemCall;
    v.xGetSystemCall = GetSystemCall;
    v.xNextSystemCall = NextSystemCall;
  }
  const int rc = sqlite3_vfs_register(&state->vfs, /*makeDflt=*/0);
  if (rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("sqlite3_vfs_register: ", sqlite3_errstr(rc)));
  }
  return absl::WrapUnique(new FaultVfs(std::move(state)));
}

FaultVfs::FaultVfs(std::unique_ptr<State> state) : state_(std::move(state)) {}

FaultVfs::~FaultVfs() { sqlite3_vfs_unregister(&state_->vfs); }

const std::string& FaultVfs::name() const { return state_->name; }

void FaultVfs::Inject(Fault fault, int times) {
  absl::MutexLock lock(&state_->mu);
  state_->fault = fault;
  state_->remaining = fault == Fault::kNone ? 0 : times;
}

void FaultVfs::Clear() { Inject(Fault::kNone, 0); }

int64_t FaultVfs::faults_fired() const {
  absl::MutexLock lock(&state_->mu);
  return state_->fired;
}

void FaultVfs::TrackUnsyncedWrites(bool on) {
  absl::MutexLock lock(&state_->mu);
  state_->tracking = on;
  state_->unsynced.clear();
  state_->operations = 0;
}

int64_t FaultVfs::operations() const {
  absl::MutexLock lock(&state_->mu);
  return state_->operations;
}

void FaultVfs::ArmCrash(int64_t n) {
  absl::MutexLock lock(&state_->mu);
  state_->operations = 0;
  state_->crash_at = n > 0 ? n : 0;
}

void FaultVfs::CrashNow() {
  absl::MutexLock lock(&state_->mu);
  state_->crashed = true;
}

bool FaultVfs::crashed() const {
  absl::MutexLock lock(&state_->mu);
  return state_->crashed;
}

int FaultVfs::open_files() const {
  absl::MutexLock lock(&state_->mu);
  return state_->open_files;
}

absl::StatusOr<FaultVfs::CrashReport> FaultVfs::RestoreAfterCrash(uint64_t seed,
                                                                  double keep_probability) {
  absl::MutexLock lock(&state_->mu);
  if (!state_->crashed) return absl::FailedPreconditionError("no crash to restore from");
  if (state_->open_files != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(state_->open_files, " files are still open through ", state_->name));
  }
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution keep(std::clamp(keep_probability, 0.0, 1.0));
  CrashReport report;
  for (const auto& [path, history] : state_->unsynced) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return PosixError("open", path);
    bool ok = true;
    // Undo newest first, so each byte ends as the oldest change found it:
    // what the last sync left.
    for (auto it = history.changes.rbegin(); ok && it != history.changes.rend(); ++it) {
      ok = WriteAll(fd, it->before, it->offset);
    }
    ok = ok && ::ftruncate(fd, static_cast<off_t>(history.size_at_sync)) == 0;
    // Then replay, in order, the changes the disk happened to write back.
    for (const Change& c : history.changes) {
      if (!ok) break;
      if (keep_probability > 0 && keep(rng)) {
        ok = c.truncate ? ::ftruncate(fd, static_cast<off_t>(c.offset)) == 0
                        : WriteAll(fd, c.after, c.offset);
        ++report.writes_kept;
      } else {
        ++report.writes_dropped;
        report.bytes_dropped += static_cast<int64_t>(c.truncate ? c.before.size() : c.after.size());
      }
    }
    ok = ok && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return PosixError("restore", path);
    ++report.files_restored;
  }
  state_->unsynced.clear();
  state_->crashed = false;
  state_->crash_at = 0;
  state_->operations = 0;
  return report;
}

}  // namespace relais::storage
