#include "services/audit/audit_chain.h"

#include <openssl/evp.h>

#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace relais::audit {
namespace {

constexpr size_t kSha256Size = 32;

struct EvpMdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;

// Writers into a buffer sized beforehand (AppendCanonicalEncoding): a walk
// over a whole log encodes every event, byte by byte appends showed in its profile.
char* PutInt(char* p, uint8_t field, int64_t value) {
  *p++ = static_cast<char>(field);
  const uint64_t bits = static_cast<uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) *p++ = static_cast<char>((bits >> shift) & 0xff);
  return p;
}

char* PutString(char* p, uint8_t field, absl::string_view value) {
  *p++ = static_cast<char>(field);
  // Protobuf strings are below 2 GiB, so the length always fits in 4 bytes.
  const uint32_t size = static_cast<uint32_t>(value.size());
  for (int shift = 24; shift >= 0; shift -= 8) *p++ = static_cast<char>((size >> shift) & 0xff);
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  return p + value.size();
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

EventFields FieldsOf(const v1::AuditEvent& event) {
  EventFields f;
  f.sequence = event.sequence();
  // Unsigned arithmetic: a hostile Timestamp cannot cause overflow UB; every
  // time the log can store encodes exactly.
  f.time_micros = static_cast<int64_t>(static_cast<uint64_t>(event.time().seconds()) * 1000000u +
                                       static_cast<uint64_t>(int64_t{event.time().nanos()} / 1000));
  f.request_id = event.request_id();
  f.actor_member_id = event.actor_member_id();
  f.actor_service_id = event.actor_service_id();
  f.actor_roles = event.actor_roles();
  f.client_identity = event.client_identity();
  f.action = event.action();
  f.youth_id = event.youth_id();
  f.entry_id = event.entry_id();
  f.object_id = event.object_id();
  f.purpose = event.purpose();
  f.decision = event.decision();
  f.reason = event.reason();
  f.reason_code = event.reason_code();
  f.break_glass = event.break_glass();
  f.prev_hash = event.prev_hash();
  f.hash = event.hash();
  return f;
}

void AppendCanonicalEncoding(const EventFields& f, std::string& out) {
  constexpr size_t kInts = 7, kStrings = 9;
  const size_t text = f.request_id.size() + f.actor_member_id.size() + f.actor_service_id.size() +
                      f.actor_roles.size() + f.client_identity.size() + f.youth_id.size() +
                      f.entry_id.size() + f.object_id.size() + f.reason_code.size();
  const size_t start = out.size();
  out.resize(start + kCanonicalEncodingTag.size() + kInts * 9 + kStrings * 5 + text);
  char* p = out.data() + start;
  std::memcpy(p, kCanonicalEncodingTag.data(), kCanonicalEncodingTag.size());
  p += kCanonicalEncodingTag.size();
  p = PutInt(p, 1, f.sequence);
  p = PutInt(p, 2, f.time_micros);
  p = PutString(p, 3, f.request_id);
  p = PutString(p, 4, f.actor_member_id);
  p = PutString(p, 5, f.actor_service_id);
  p = PutString(p, 6, f.actor_roles);
  p = PutString(p, 7, f.client_identity);
  p = PutInt(p, 8, f.action);
  p = PutString(p, 9, f.youth_id);
  p = PutString(p, 10, f.entry_id);
  p = PutString(p, 11, f.object_id);
  p = PutInt(p, 12, f.purpose);
  p = PutInt(p, 13, f.decision);
  p = PutInt(p, 14, f.reason);
  p = PutString(p, 15, f.reason_code);
  PutInt(p, 16, f.break_glass ? 1 : 0);
}

std::string CanonicalEncoding(const v1::AuditEvent& event) {
  std::string out;
  out.reserve(256);
  AppendCanonicalEncoding(FieldsOf(event), out);
  return out;
}

namespace {
// Fetched once: verifying a log hashes every event, and an implicit fetch per
// hash costs a provider look-up under a lock.
const EVP_MD* Sha256() {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

// SHA-256(prev_raw || encoding) into `digest` (32 bytes) with `ctx`, which a
// verification walk reuses from event to event.
bool HashEvent(EVP_MD_CTX* ctx, absl::string_view prev_raw, absl::string_view encoding,
               unsigned char* digest) {
  unsigned int digest_size = 0;
  return ctx != nullptr && Sha256() != nullptr && EVP_DigestInit_ex(ctx, Sha256(), nullptr) == 1 &&
         EVP_DigestUpdate(ctx, prev_raw.data(), prev_raw.size()) == 1 &&
         EVP_DigestUpdate(ctx, encoding.data(), encoding.size()) == 1 &&
         EVP_DigestFinal_ex(ctx, digest, &digest_size) == 1 && digest_size == kSha256Size;
}

// Lower-case hex of a digest, as the chain stores it.
void HexDigest(const unsigned char* digest, char* hex) {
  constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < kSha256Size; ++i) {
    hex[2 * i] = kDigits[digest[i] >> 4];
    hex[2 * i + 1] = kDigits[digest[i] & 0xf];
  }
}
}  // namespace

absl::StatusOr<std::string> ComputeEventHash(const v1::AuditEvent& event) {
  return ComputeEventHash(FieldsOf(event));
}

absl::StatusOr<std::string> ComputeEventHash(const EventFields& event) {
  std::string prev_raw;
  if (!DecodeHash(event.prev_hash, prev_raw)) {
    return absl::InvalidArgumentError("prev_hash is not 64 lower-case hex digits");
  }
  std::string encoding;
  encoding.reserve(256);
  AppendCanonicalEncoding(event, encoding);
  unsigned char digest[kSha256Size];
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!HashEvent(ctx.get(), prev_raw, encoding, digest)) {
    return absl::InternalError("SHA-256 failed");
  }
  std::string hex(2 * kSha256Size, '0');
  HexDigest(digest, hex.data());
  return hex;
}

ChainVerifier::ChainVerifier() { DecodeHash(result_.head_hash, head_raw_); }

ChainVerifier::ChainVerifier(int64_t after_sequence, absl::string_view after_hash)
    : next_sequence_(after_sequence + 1) {
  result_.head_hash = std::string(after_hash);
  // Left empty if malformed: Add() then fails like ComputeEventHash would.
  if (!DecodeHash(after_hash, head_raw_)) head_raw_.clear();
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

absl::Status ChainVerifier::Add(const v1::AuditEvent& event) { return Add(FieldsOf(event)); }

absl::Status ChainVerifier::Add(const EventFields& event) {
  if (failed()) return absl::OkStatus();
  if (!CheckPosition(event.sequence, event.prev_hash)) return absl::OkStatus();
  // prev_hash equals the head, a hash that was recomputed (or the genesis, or
  // the trusted anchor, decoded once).
  if (head_raw_.size() != kSha256Size) {
    return absl::InvalidArgumentError("prev_hash is not 64 lower-case hex digits");
  }
  encoding_.clear();
  AppendCanonicalEncoding(event, encoding_);
  unsigned char digest[kSha256Size];
  if (ctx_ == nullptr) ctx_.reset(EVP_MD_CTX_new());
  if (!HashEvent(ctx_.get(), head_raw_, encoding_, digest)) {
    return absl::InternalError("SHA-256 failed");
  }
  char hex[2 * kSha256Size];
  HexDigest(digest, hex);
  if (absl::string_view(hex, sizeof hex) != event.hash) {
    Fail(kProblemHashMismatch, event.sequence);
    return absl::OkStatus();
  }
  ++result_.events_checked;
  ++next_sequence_;
  result_.head_hash.assign(hex, sizeof hex);
  head_raw_.assign(reinterpret_cast<const char*>(digest), kSha256Size);
  return absl::OkStatus();
}

void ChainVerifier::AddUndecodable(int64_t sequence, absl::string_view prev_hash) {
  if (failed()) return;
  if (!CheckPosition(sequence, prev_hash)) return;
  Fail(kProblemHashMismatch, sequence);
}

void ChainVerifier::CtxFree::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

}  // namespace relais::audit
