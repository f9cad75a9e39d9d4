#include "services/audit/audit_chain.h"

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace relais::audit {
namespace {

constexpr size_t kSha256Size = 32;

struct EvpMdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;

void AppendInt(std::string& out, uint8_t field, int64_t value) {
  out.push_back(static_cast<char>(field));
  const uint64_t bits = static_cast<uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((bits >> shift) & 0xff));
  }
}

void AppendString(std::string& out, uint8_t field, absl::string_view value) {
  out.push_back(static_cast<char>(field));
  // Protobuf strings are below 2 GiB, so the length always fits in 4 bytes.
  const uint32_t size = static_cast<uint32_t>(value.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((size >> shift) & 0xff));
  }
  out.append(value.data(), value.size());
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

bool DecodeHash(absl::string_view hex, std::string& raw) {
  if (hex.size() != 2 * kSha256Size) return false;
  raw.resize(kSha256Size);
  for (size_t i = 0; i < kSha256Size; ++i) {
    const int hi = HexDigit(hex[2 * i]);
    const int lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    raw[i] = static_cast<char>(hi << 4 | lo);
  }
  return true;
}

std::string CanonicalEncoding(const v1::AuditEvent& event) {
  std::string out(kCanonicalEncodingTag);
  out.reserve(256);
  AppendInt(out, 1, event.sequence());
  // Unsigned arithmetic: a hostile Timestamp cannot cause overflow UB; every
  // time the log can store encodes exactly.
  const uint64_t micros = static_cast<uint64_t>(event.time().seconds()) * 1000000u +
                          static_cast<uint64_t>(int64_t{event.time().nanos()} / 1000);
  AppendInt(out, 2, static_cast<int64_t>(micros));
  AppendString(out, 3, event.request_id());
  AppendString(out, 4, event.actor_member_id());
  AppendString(out, 5, event.actor_service_id());
  AppendString(out, 6, event.actor_roles());
  AppendString(out, 7, event.client_identity());
  AppendInt(out, 8, event.action());
  AppendString(out, 9, event.youth_id());
  AppendString(out, 10, event.entry_id());
  AppendString(out, 11, event.object_id());
  AppendInt(out, 12, event.purpose());
  AppendInt(out, 13, event.decision());
  AppendInt(out, 14, event.reason());
  AppendString(out, 15, event.reason_code());
  AppendInt(out, 16, event.break_glass() ? 1 : 0);
  return out;
}

namespace {
// Fetched once: verifying a log hashes every event, and an implicit fetch per
// hash costs a provider look-up under a lock.
const EVP_MD* Sha256() {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}
}  // namespace

absl::StatusOr<std::string> ComputeEventHash(const v1::AuditEvent& event) {
  std::string prev_raw;
  if (!DecodeHash(event.prev_hash(), prev_raw)) {
    return absl::InvalidArgumentError("prev_hash is not 64 lower-case hex digits");
  }
  const std::string encoding = CanonicalEncoding(event);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (ctx == nullptr || Sha256() == nullptr ||
      EVP_DigestInit_ex(ctx.get(), Sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), prev_raw.data(), prev_raw.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), encoding.data(), encoding.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &digest_size) != 1 || digest_size != kSha256Size) {
    return absl::InternalError("SHA-256 failed");
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), digest_size));
}

ChainVerifier::ChainVerifier(int64_t after_sequence, absl::string_view after_hash)
    : next_sequence_(after_sequence + 1) {
  result_.head_hash = std::string(after_hash);
}

void ChainVerifier::Fail(absl::string_view problem, int64_t sequence) {
  result_.ok = false;
  result_.problem = std::string(problem);
  result_.first_bad_sequence = sequence;
}

bool ChainVerifier::CheckPosition(int64_t sequence, absl::string_view prev_hash) {
  if (sequence != next_sequence_) {
    // Also covers a sequence that goes backwards (only possible in an export):
    // next_sequence_ is then the first number not seen in its place.
    Fail(kProblemSequenceGap, next_sequence_);
    return false;
  }
  if (prev_hash != result_.head_hash) {
    Fail(kProblemChainBroken, sequence);
    return false;
  }
  return true;
}

absl::Status ChainVerifier::Add(const v1::AuditEvent& event) {
  if (failed()) return absl::OkStatus();
  if (!CheckPosition(event.sequence(), event.prev_hash())) return absl::OkStatus();
  // prev_hash equals a hash that was recomputed (or the genesis), so it is well
  // formed and ComputeEventHash can only fail inside OpenSSL.
  absl::StatusOr<std::string> hash = ComputeEventHash(event);
  if (!hash.ok()) return hash.status();
  if (*hash != event.hash()) {
    Fail(kProblemHashMismatch, event.sequence());
    return absl::OkStatus();
  }
  ++result_.events_checked;
  ++next_sequence_;
  result_.head_hash = std::move(*hash);
  return absl::OkStatus();
}

void ChainVerifier::AddUndecodable(int64_t sequence, absl::string_view prev_hash) {
  if (failed()) return;
  if (!CheckPosition(sequence, prev_hash)) return;
  Fail(kProblemHashMismatch, sequence);
}

}  // namespace relais::audit
