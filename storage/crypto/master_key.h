#ifndef RELAIS_STORAGE_CRYPTO_MASTER_KEY_H_
#define RELAIS_STORAGE_CRYPTO_MASTER_KEY_H_

// Master keys: the keys that wrap (encrypt) every youth's data key. They never
// touch the database; only their ids do.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/crypto/aead.h"

namespace relais::storage::crypto {

// The environment variable that may hold the master key, as base64 of 32 bytes.
inline constexpr char kMasterKeyEnv[] = "RELAIS_MASTER_KEY";
// The file name of the development key created under --keys_dir.
inline constexpr char kMasterKeyFileName[] = "master.key";

// One 256-bit master key and its id. The id ("mk_" + 16 hex digits) is derived
// from the key (HMAC-SHA-256 of a fixed label, truncated), so the same key
// always has the same id wherever it is loaded, two keys have different ids,
// and the id reveals nothing of the key. Ids are stored beside wrapped data
// keys and are safe to log; the key itself never is. Move-only.
class MasterKey {
 public:
  static absl::StatusOr<MasterKey> FromKey(SecretKey key);
  // INVALID_ARGUMENT unless `raw` is exactly 32 bytes.
  static absl::StatusOr<MasterKey> FromBytes(absl::string_view raw);
  // Standard base64 of 32 bytes; surrounding whitespace is ignored.
  // INVALID_ARGUMENT otherwise (the message never echoes the input).
  static absl::StatusOr<MasterKey> FromBase64(absl::string_view text);
  static absl::StatusOr<MasterKey> Generate();

  // Reads a key file holding either the 32 raw bytes or their base64 text.
  // NOT_FOUND if it does not exist; FAILED_PRECONDITION, naming the file, if it
  // is not a regular file, if group or others have any permission on it, or if
  // it does not hold a 32-byte key.
  static absl::StatusOr<MasterKey> ReadFile(const std::string& path);
  // Creates `path` (mode 0600, O_EXCL: never overwrites) holding the raw key,
  // and fsyncs it and its directory: a key whose file could vanish in a crash
  // while data sealed under it survives would lose that data.
  // ALREADY_EXISTS if the file exists; UNAVAILABLE on I/O errors.
  absl::Status WriteNewFile(const std::string& path) const;

  MasterKey(MasterKey&&) = default;
  MasterKey& operator=(MasterKey&&) = default;

  const std::string& id() const { return id_; }
  const SecretKey& key() const { return key_; }
  MasterKey Clone() const { return MasterKey(id_, key_.Clone()); }

 private:
  MasterKey(std::string id, SecretKey key) : id_(std::move(id)), key_(std::move(key)) {}
  std::string id_;
  SecretKey key_;
};

// Where relaisd (or a tool) takes its master keys from.
struct MasterKeySources {
  // --master_key_file. Wins over the environment variable when both are set.
  std::string file = {};
  // --previous_master_key_file: a key that only unwraps, during a rotation.
  std::string previous_file = {};
  // Development fallback when neither `file` nor RELAIS_MASTER_KEY is given:
  // <keys_dir>/master.key, created on first start. Empty: an in-memory random
  // key (tests only: data sealed under it is lost with the process).
  std::string keys_dir = {};
  // Whether a missing fallback key may be generated. The host clears it once
  // the database holds data keys, so that a lost key file is reported instead
  // of silently replaced by a new key that opens nothing.
  bool allow_generate = true;
};

// The master keys a process holds: the current one, which wraps every new or
// re-wrapped data key, and optionally older ones that only unwrap. Immutable
// after Load; thread-safe to share. Move-only.
class MasterKeyRing {
 public:
  // Loads per `sources`, in this order: `file`, then $RELAIS_MASTER_KEY, then
  // <keys_dir>/master.key (created if missing and allowed), then an in-memory
  // key (if keys_dir is empty and generation is allowed). Returns the status of
  // the first source that is set but unusable (see MasterKey::ReadFile);
  // FAILED_PRECONDITION if no key is found and none may be generated;
  // INVALID_ARGUMENT if the previous key equals the current one.
  static absl::StatusOr<MasterKeyRing> Load(const MasterKeySources& sources);

  explicit MasterKeyRing(MasterKey current, std::string origin = "given");
  // Adds a key that unwraps only. INVALID_ARGUMENT if its id is already held.
  absl::Status AddPrevious(MasterKey previous);

  MasterKeyRing(MasterKeyRing&&) = default;
  MasterKeyRing& operator=(MasterKeyRing&&) = default;

  const MasterKey& current() const { return keys_.front(); }
  // The key with this id, or null.
  const MasterKey* Find(absl::string_view id) const;
  // Ids of the previous (unwrap-only) keys.
  std::vector<std::string> previous_ids() const;
  // Where the current key came from: "file", "env", "keys_dir", "generated"
  // (a new keys_dir file), "memory" or "given". For logs.
  const std::string& origin() const { return origin_; }

 private:
  std::vector<MasterKey> keys_;  // [0] is current; never empty
  std::string origin_;
};

}  // namespace relais::storage::crypto

#endif  // RELAIS_STORAGE_CRYPTO_MASTER_KEY_H_
