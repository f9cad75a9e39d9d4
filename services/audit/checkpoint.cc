#include "services/audit/checkpoint.h"

#include <string>
#include <utility>

#include "services/audit/audit_chain.h"

namespace relais::audit {
namespace {

void AppendInt64(std::string& out, int64_t value) {
  const uint64_t bits = static_cast<uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((bits >> shift) & 0xff));
  }
}

constexpr absl::string_view kAlgorithm = "Ed25519";

}  // namespace

int64_t TimestampMicros(const google::protobuf::Timestamp& ts) {
  // Unsigned arithmetic: a hostile Timestamp cannot cause overflow UB; the
  // same formula as CanonicalEncoding() uses for event times.
  const uint64_t micros = static_cast<uint64_t>(ts.seconds()) * 1000000u +
                          static_cast<uint64_t>(int64_t{ts.nanos()} / 1000);
  return static_cast<int64_t>(micros);
}

void SetTimestampMicros(google::protobuf::Timestamp* ts, int64_t micros) {
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    --seconds;
  }
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>(rest * 1000));
}

absl::StatusOr<std::string> CheckpointSigningInput(int64_t sequence, absl::string_view head_hash,
                                                   int64_t time_us) {
  std::string raw_hash;
  if (!DecodeHash(head_hash, raw_hash)) {
    return absl::InvalidArgumentError("checkpoint head_hash is not 64 lower-case hex digits");
  }
  std::string out(kCheckpointEncodingTag);
  out.reserve(kCheckpointEncodingTag.size() + 8 + raw_hash.size() + 8);
  AppendInt64(out, sequence);
  out += raw_hash;
  AppendInt64(out, time_us);
  return out;
}

absl::StatusOr<std::string> CheckpointSigningInput(const v1::Checkpoint& checkpoint) {
  return CheckpointSigningInput(checkpoint.sequence(), checkpoint.head_hash(),
                                TimestampMicros(checkpoint.time()));
}

absl::StatusOr<v1::Checkpoint> SignCheckpoint(const auth::KeyRing& keys, int64_t sequence,
                                              absl::string_view head_hash, absl::Time time) {
  if (sequence < 1) return absl::InvalidArgumentError("a checkpoint covers at least one event");
  const int64_t time_us = absl::ToUnixMicros(time);
  absl::StatusOr<std::string> input = CheckpointSigningInput(sequence, head_hash, time_us);
  if (!input.ok()) return input.status();
  absl::StatusOr<std::pair<std::string, std::string>> signed_by = keys.SignWithCurrent(*input);
  if (!signed_by.ok()) return signed_by.status();
  v1::Checkpoint checkpoint;
  checkpoint.set_sequence(sequence);
  checkpoint.set_head_hash(std::string(head_hash));
  SetTimestampMicros(checkpoint.mutable_time(), time_us);
  checkpoint.set_key_id(std::move(signed_by->first));
  checkpoint.set_signature(std::move(signed_by->second));
  return checkpoint;
}

bool VerifyCheckpointSignature(const v1::Checkpoint& checkpoint,
                               const std::vector<auth::VerifyingKey>& trusted) {
  absl::StatusOr<std::string> input = CheckpointSigningInput(checkpoint);
  if (!input.ok()) return false;
  for (const auth::VerifyingKey& key : trusted) {
    if (key.key_id() == checkpoint.key_id() && key.Verify(*input, checkpoint.signature())) {
      return true;
    }
  }
  for (const auth::VerifyingKey& key : trusted) {
    if (key.key_id() != checkpoint.key_id() && key.Verify(*input, checkpoint.signature())) {
      return true;
    }
  }
  return false;
}

std::vector<auth::VerifyingKey> TrustedKeys(const auth::KeyRing& keys) {
  std::vector<auth::VerifyingKey> out;
  for (auto& [id, raw] : keys.PublicKeys()) {
    // The ring made these keys: they always parse.
    absl::StatusOr<auth::VerifyingKey> key = auth::VerifyingKey::FromRaw(id, raw);
    if (key.ok()) out.push_back(*std::move(key));
  }
  return out;
}

std::vector<v1::PublicKey> AuditPublicKeys(const auth::KeyRing& keys) {
  std::vector<v1::PublicKey> out;
  for (auto& [id, raw] : keys.PublicKeys()) {
    v1::PublicKey& key = out.emplace_back();
    key.set_key_id(id);
    key.set_algorithm(std::string(kAlgorithm));
    key.set_public_key(raw);
  }
  return out;
}

}  // namespace relais::audit
