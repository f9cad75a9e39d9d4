#include "services/record/youth_keys.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/common/rpc.h"

namespace relais::record {

using storage::Connection;
using storage::crypto::FieldCrypto;
using storage::crypto::YouthKey;

YouthKeys::YouthKeys(storage::Database* db,
                     std::unique_ptr<storage::crypto::MasterKeyRing> master_keys,
                     storage::crypto::FieldCryptoOptions cache)
    : db_(db),
      crypto_(master_keys == nullptr
                  ? nullptr
                  : std::make_unique<FieldCrypto>(std::move(*master_keys), cache)) {}

absl::StatusOr<storage::crypto::MasterKeyRing> YouthKeys::LoadMasterKeys(
    storage::Database* db, storage::crypto::MasterKeySources sources) {
  std::map<std::string, int64_t> in_use;
  RETURN_IF_ERROR(db->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(in_use, storage::crypto::CountDataKeysByMasterKey(c));
    return absl::OkStatus();
  }));
  // Never generate a replacement for a lost key: it would open nothing.
  sources.allow_generate = in_use.empty();
  ASSIGN_OR_RETURN(storage::crypto::MasterKeyRing ring,
                   storage::crypto::MasterKeyRing::Load(sources));
  std::string missing;
  int64_t to_rewrap = 0;
  for (const auto& [id, count] : in_use) {
    if (ring.Find(id) == nullptr) {
      absl::StrAppend(&missing, missing.empty() ? "" : ", ", id, " (", count, " data keys)");
    } else if (id != ring.current().id()) {
      to_rewrap += count;
    }
  }
  if (!missing.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the database holds data keys wrapped under master key(s) ", missing,
                     " but the master key given (", ring.current().id(), ", from ", ring.origin(),
                     ") is not one of them; pass the right --master_key_file (and "
                     "--previous_master_key_file during a rotation)"));
  }
  common::LogFields fields = {{"master_key_id", ring.current().id()}, {"origin", ring.origin()}};
  for (const std::string& id : ring.previous_ids()) {
    fields.emplace_back("previous_master_key_id", id);
  }
  fields.emplace_back("data_keys_to_rewrap", absl::StrCat(to_rewrap));
  common::LogInfo("master keys loaded", fields);
  if (to_rewrap == 0 && !ring.previous_ids().empty()) {
    common::LogInfo(
        "no data key is wrapped under the previous master key any more; "
        "--previous_master_key_file can be dropped");
  }
  return ring;
}

absl::StatusOr<const FieldCrypto*> YouthKeys::Crypto() const {
  if (crypto_ == nullptr) {
    return common::Precondition("no_master_key", "the record service has no master key");
  }
  return crypto_.get();
}

absl::Status YouthKeys::WithKey(absl::string_view youth_id,
                                absl::FunctionRef<absl::Status(const YouthKey&)> fn) const {
  ASSIGN_OR_RETURN(const FieldCrypto* crypto, Crypto());
  return db_->Read([&](Connection& c) -> absl::Status {
    absl::StatusOr<YouthKey> key = crypto->KeyFor(c, youth_id);
    if (key.status().code() == absl::StatusCode::kNotFound) {
      return common::NotFound("erased", "the record has been erased");
    }
    RETURN_IF_ERROR(key.status());
    return fn(*key);
  });
}

absl::StatusOr<std::string> YouthKeys::Seal(absl::string_view youth_id, absl::string_view field,
                                            absl::string_view row_id,
                                            absl::string_view plaintext) const {
  std::string sealed;
  RETURN_IF_ERROR(WithKey(youth_id, [&](const YouthKey& key) -> absl::Status {
    ASSIGN_OR_RETURN(sealed, key.Seal({field, row_id}, plaintext));
    return absl::OkStatus();
  }));
  return sealed;
}

absl::StatusOr<std::string> YouthKeys::Open(absl::string_view youth_id, absl::string_view field,
                                            absl::string_view row_id,
                                            absl::string_view sealed) const {
  std::string plain;
  RETURN_IF_ERROR(WithKey(youth_id, [&](const YouthKey& key) -> absl::Status {
    ASSIGN_OR_RETURN(plain, key.Open({field, row_id}, sealed));
    return absl::OkStatus();
  }));
  return plain;
}

void YouthKeys::Forget(absl::string_view youth_id) const {
  if (crypto_ != nullptr) crypto_->Forget(youth_id);
}

void YouthKeys::PurgeExpired() const {
  if (crypto_ != nullptr) crypto_->PurgeExpired();
}

}  // namespace relais::record
