#ifndef RELAIS_AUTH_KEY_RING_H_
#define RELAIS_AUTH_KEY_RING_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "auth/signing_key.h"

namespace relais::auth {

// The service's Ed25519 token keys: one current key that signs, plus every
// older key, still accepted for verification so tokens issued before a
// rotation stay valid until they expire. RetireExpired() then drops an older
// key (and deletes its file) once no token it signed can still be valid.
//
// Key ids look like "k20261125T005300.123456Z-1a2b3c4d": the UTC creation
// time (microseconds) and 4 random bytes. Ids of one ring are strictly
// increasing in creation order, and "current" is always the greatest id, so
// sorting file names recovers the same current key after a restart.
//
// Thread-safe: all methods may be called concurrently.
class KeyRing {
 public:
  // Opens the key directory `dir`, creating it (mode 0700) if missing, and
  // loads every "signing-<key id>.pem" in it (other names are ignored). If it
  // holds no key, creates and persists a first one.
  // Errors: FailedPrecondition if `dir` is not a directory or is group/world
  // writable, if a key file is not a regular file or has any group/world
  // permission bit (the message names the file), or if a signing-*.pem name
  // holds no valid key id; DataLoss if a key file does not parse; errno-derived
  // codes (NotFound, PermissionDenied, ...) for filesystem failures.
  static absl::StatusOr<std::unique_ptr<KeyRing>> LoadOrCreate(absl::string_view dir);

  // A ring with one fresh key and no persistence, for tests and tools.
  // Aborts if OpenSSL cannot generate a key (a broken crypto library).
  static std::unique_ptr<KeyRing> InMemory();

  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;

  // Makes a fresh key current; older keys keep verifying. A directory-backed
  // ring writes the key file (0600, fsynced, then renamed into place) before
  // switching, so a failed write leaves the ring unchanged and returns the
  // filesystem error.
  absl::Status Rotate();

  // Id of the key SignWithCurrent would use right now.
  std::string CurrentKeyId() const;

  // Signs `data` with the current key; returns (key id, 64-byte signature),
  // both from the same key even if Rotate() runs concurrently.
  // Internal if OpenSSL fails.
  absl::StatusOr<std::pair<std::string, std::string>> SignWithCurrent(absl::string_view data) const;

  bool HasKey(absl::string_view key_id) const;

  // False for an unknown key id or a bad signature; use HasKey() to tell the
  // two apart.
  bool Verify(absl::string_view key_id, absl::string_view data, absl::string_view signature) const;

  // (key id, 32-byte raw Ed25519 public key) for every key, oldest first.
  std::vector<std::pair<std::string, std::string>> PublicKeys() const;

  // Retires every non-current key whose successor was created at or before
  // now - token_lifetime: the last token it signed was issued before its
  // successor existed, so it has expired. A retired key stops verifying and
  // leaves PublicKeys(); a directory-backed ring deletes its file first, so
  // the retirement survives a restart (and a key whose file cannot be deleted
  // stays, with the filesystem error returned). Returns how many were retired.
  // Creation times come from key ids (wall clock at rotation).
  absl::StatusOr<int> RetireExpired(absl::Time now, absl::Duration token_lifetime);

 private:
  // `dir` empty means in-memory.
  KeyRing(std::string dir, SigningKey current,
          std::map<std::string, VerifyingKey, std::less<>> verifying);

  // Makes a key whose id sorts after every id in the ring.
  absl::StatusOr<SigningKey> NewKey() const;

  const std::string dir_;
  // Held for all of Rotate(), so concurrent rotations cannot interleave
  // between picking an id and installing the key; mu_ is only taken briefly.
  absl::Mutex rotate_mu_;
  mutable absl::Mutex mu_;
  std::optional<SigningKey> current_ ABSL_GUARDED_BY(mu_);  // always set
  std::map<std::string, VerifyingKey, std::less<>> verifying_ ABSL_GUARDED_BY(mu_);
};

}  // namespace relais::auth

#endif  // RELAIS_AUTH_KEY_RING_H_
