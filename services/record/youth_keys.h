#ifndef RELAIS_SERVICES_RECORD_YOUTH_KEYS_H_
#define RELAIS_SERVICES_RECORD_YOUTH_KEYS_H_

// The youths' data keys as the record service holds them: the master keys
// that wrap them, the cache of unwrapped keys, and sealing free text that
// other services keep about a youth (RecordApi::SealForYouth/OpenForYouth).

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/crypto/field_crypto.h"
#include "storage/crypto/master_key.h"
#include "storage/database.h"

namespace relais::record {

// Thread-safe. Never logs a key or a plaintext.
class YouthKeys {
 public:
  // `db` is borrowed and must outlive this object. Without `master_keys`
  // (null) every call that needs a key fails with FAILED_PRECONDITION
  // "no_master_key": nothing is ever stored in plaintext.
  YouthKeys(storage::Database* db, std::unique_ptr<storage::crypto::MasterKeyRing> master_keys,
            storage::crypto::FieldCryptoOptions cache = {});

  // Loads the master keys per `sources` (after the record migrations) and
  // checks them against the database: a missing development key is generated
  // only while no data key exists, and FAILED_PRECONDITION names any master
  // key id that live data keys are wrapped under but `sources` does not
  // provide. Logs the key ids (never key material) and how many data keys
  // still wait for re-wrapping.
  static absl::StatusOr<storage::crypto::MasterKeyRing> LoadMasterKeys(
      storage::Database* db, storage::crypto::MasterKeySources sources);

  // The field crypto, or FAILED_PRECONDITION "no_master_key". The pointer
  // lives as long as this object.
  absl::StatusOr<const storage::crypto::FieldCrypto*> Crypto() const;

  // Seals `plaintext` with the youth's data key, bound to `field` and `row_id`;
  // Open reverses it. NOT_FOUND "erased" once the youth's key was destroyed;
  // Open: DATA_LOSS "ciphertext_mismatch" if `sealed` was not sealed there.
  absl::StatusOr<std::string> Seal(absl::string_view youth_id, absl::string_view field,
                                   absl::string_view row_id, absl::string_view plaintext) const;
  absl::StatusOr<std::string> Open(absl::string_view youth_id, absl::string_view field,
                                   absl::string_view row_id, absl::string_view sealed) const;

  // Drops the youth's cached key (call after its erasure committed).
  void Forget(absl::string_view youth_id) const;
  // Drops unwrapped data keys cached past their TTL. Call periodically.
  void PurgeExpired() const;

 private:
  // Runs `fn` with the youth's data key on a read transaction; NOT_FOUND
  // "erased" if the key was destroyed.
  absl::Status WithKey(absl::string_view youth_id,
                       absl::FunctionRef<absl::Status(const storage::crypto::YouthKey&)> fn) const;

  storage::Database* const db_;
  const std::unique_ptr<const storage::crypto::FieldCrypto> crypto_;  // null: no master key
};

}  // namespace relais::record

#endif  // RELAIS_SERVICES_RECORD_YOUTH_KEYS_H_
