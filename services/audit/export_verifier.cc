#include "services/audit/export_verifier.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/io/zero_copy_stream_impl.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "services/audit/checkpoint.h"

namespace relais::audit {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Reads every item of `input` into `verifier`, stopping at the first problem.
absl::Status Walk(google::protobuf::io::ZeroCopyInputStream* input, ExportVerifier& verifier) {
  v1::ExportItem item;
  while (!verifier.failed()) {
    bool clean_eof = false;
    item.Clear();  // parsing merges into the message
    if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&item, input, &clean_eof)) {
      if (!clean_eof) verifier.AddMalformed("bytes that do not parse as an ExportItem");
      break;
    }
    absl::Status status = verifier.Add(item);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ExportVerifier> ExportVerifier::Create(std::vector<auth::VerifyingKey> trusted,
                                                      int64_t from_sequence) {
  if (trusted.empty()) return absl::InvalidArgumentError("no trusted audit public key");
  if (from_sequence < 1) return absl::InvalidArgumentError("from_sequence must be at least 1");
  return ExportVerifier(std::move(trusted), from_sequence);
}

void ExportVerifier::Fail(absl::string_view problem, int64_t sequence, std::string detail) {
  report_.ok = false;
  report_.problem = std::string(problem);
  report_.problem_sequence = sequence;
  report_.detail = std::move(detail);
}

absl::Status ExportVerifier::Add(const v1::ExportItem& item) {
  if (failed()) return absl::OkStatus();
  switch (item.item_case()) {
    case v1::ExportItem::kKey: {
      ++report_.keys_listed;
      for (const auth::VerifyingKey& key : trusted_) {
        if (key.Raw() == item.key().public_key()) {
          ++report_.keys_trusted;
          break;
        }
      }
      return absl::OkStatus();
    }
    case v1::ExportItem::kCheckpoint:
      AddCheckpoint(item.checkpoint());
      return absl::OkStatus();
    case v1::ExportItem::kEvent:
      return AddEvent(item.event());
    case v1::ExportItem::ITEM_NOT_SET:
      break;
  }
  AddMalformed("an item that is neither event, checkpoint nor key");
  return absl::OkStatus();
}

void ExportVerifier::AddMalformed(absl::string_view why) {
  if (failed()) return;
  const int64_t next = report_.events == 0 ? from_sequence_ : report_.last_sequence + 1;
  Fail(kProblemMalformedExport, next, absl::StrCat("the export holds ", why));
}

void ExportVerifier::AddUndecodableEvent(int64_t sequence, absl::string_view prev_hash) {
  if (failed()) return;
  CheckWitnessedCheckpointArrived();
  if (failed() || !StartChain(sequence, prev_hash)) return;
  chain_->AddUndecodable(sequence, prev_hash);
  ChainFailed();
}

void ExportVerifier::SetWitness(Witness witness) {
  witness_ = std::move(witness);
  report_.witness_given = true;
}

void ExportVerifier::FailWitness(absl::string_view why) {
  report_.witness_given = true;
  if (failed()) return;
  Fail(kProblemWitnessInvalid, 0, absl::StrCat("the witness cannot be trusted: ", why));
}

bool ExportVerifier::StartChain(int64_t sequence, absl::string_view prev_hash) {
  if (chain_.has_value()) return true;
  if (sequence != from_sequence_) {
    Fail(kProblemSequenceGap, from_sequence_,
         absl::StrCat("the export should start at event ", from_sequence_, " but starts at ",
                      sequence));
    return false;
  }
  // From the genesis for a full export; otherwise trust the first link.
  chain_.emplace(from_sequence_ - 1, from_sequence_ == 1 ? kGenesisHash : prev_hash);
  report_.first_sequence = sequence;
  return true;
}

bool ExportVerifier::ChainFailed() {
  const VerifyResult& chain = chain_->result();
  if (chain.ok) return false;
  const char* what = chain.problem == kProblemSequenceGap   ? "is missing or out of place"
                     : chain.problem == kProblemChainBroken ? "does not point to its predecessor"
                                                            : "does not match its hash";
  Fail(chain.problem, chain.first_bad_sequence,
       absl::StrCat("event ", chain.first_bad_sequence, " ", what));
  return true;
}

void ExportVerifier::CheckWitnessedCheckpointArrived() {
  if (awaiting_checkpoint_ == 0) return;
  Fail(kProblemCheckpointMissing, awaiting_checkpoint_,
       absl::StrCat("the witness holds a checkpoint of event ", awaiting_checkpoint_,
                    " that is missing here: it was removed"));
}

absl::Status ExportVerifier::AddEvent(const v1::AuditEvent& event) {
  CheckWitnessedCheckpointArrived();
  if (failed() || !StartChain(event.sequence(), event.prev_hash())) return absl::OkStatus();
  if (absl::Status s = chain_->Add(event); !s.ok()) return s;
  if (ChainFailed()) return absl::OkStatus();
  EventPassed(event.sequence(), event.hash());
  return absl::OkStatus();
}

void ExportVerifier::EventPassed(int64_t sequence, absl::string_view hash) {
  const VerifyResult& chain = chain_->result();
  report_.events = chain.events_checked;
  report_.last_sequence = sequence;
  report_.head_hash = chain.head_hash;
  if (witness_.has_value()) {
    auto witnessed = witness_->find(sequence);
    if (witnessed != witness_->end()) {
      if (witnessed->second.head_hash() != hash) {
        Fail(kProblemWitnessMismatch, sequence,
             absl::StrCat("event ", sequence,
                          " does not have the hash the witness file recorded: the chain up to"
                          " it was rewritten"));
        return;
      }
      ++report_.witness_matched;
      awaiting_checkpoint_ = sequence;
    }
  }
  // Checkpoints announced ahead: those naming this event are checked now; one
  // naming an earlier event (before the export's start) can never be.
  while (!pending_.empty() && pending_.begin()->first <= sequence) {
    v1::Checkpoint checkpoint = std::move(pending_.begin()->second);
    pending_.erase(pending_.begin());
    MatchCheckpoint(checkpoint);
    if (failed()) break;
  }
}

void ExportVerifier::AddCheckpoint(const v1::Checkpoint& checkpoint) {
  if (!VerifyCheckpointSignature(checkpoint, trusted_)) {
    Fail(kProblemCheckpointSignatureInvalid, checkpoint.sequence(),
         absl::StrCat("the checkpoint of event ", checkpoint.sequence(),
                      " is not signed by a trusted key"));
    return;
  }
  if (witness_.has_value()) {
    auto witnessed = witness_->find(checkpoint.sequence());
    if (witnessed != witness_->end()) {
      const v1::Checkpoint& w = witnessed->second;
      if (w.head_hash() != checkpoint.head_hash() ||
          TimestampMicros(w.time()) != TimestampMicros(checkpoint.time()) ||
          w.signature() != checkpoint.signature()) {
        Fail(kProblemWitnessMismatch, checkpoint.sequence(),
             absl::StrCat("the checkpoint of event ", checkpoint.sequence(),
                          " differs from the one the witness file recorded"));
        return;
      }
      if (checkpoint.sequence() == awaiting_checkpoint_) awaiting_checkpoint_ = 0;
    }
  }
  if (report_.events == 0 || checkpoint.sequence() > report_.last_sequence) {
    pending_.emplace(checkpoint.sequence(), checkpoint);
    return;
  }
  MatchCheckpoint(checkpoint);
}

void ExportVerifier::MatchCheckpoint(const v1::Checkpoint& checkpoint) {
  if (checkpoint.sequence() != report_.last_sequence) {
    // Only the newest event's hash is kept (constant memory), and the server
    // never places a checkpoint after a later event.
    Fail(kProblemCheckpointMismatch, checkpoint.sequence(),
         absl::StrCat("the checkpoint of event ", checkpoint.sequence(),
                      " is out of place: it does not follow its event"));
    return;
  }
  if (checkpoint.head_hash() != report_.head_hash) {
    Fail(kProblemCheckpointMismatch, checkpoint.sequence(),
         absl::StrCat("event ", checkpoint.sequence(),
                      " does not have the hash the server signed: the chain up to it was"
                      " rewritten"));
    return;
  }
  ++report_.checkpoints;
  if (checkpoint.sequence() >= report_.anchored_through) {
    report_.anchored_through = checkpoint.sequence();
    report_.anchored_time = absl::FromUnixMicros(TimestampMicros(checkpoint.time()));
  }
}

ExportReport ExportVerifier::Finish() {
  if (!failed() && !pending_.empty()) {
    const int64_t missing = pending_.begin()->first;
    Fail(kProblemCheckpointBeyondEnd, missing,
         absl::StrCat("a signed checkpoint names event ", missing, " but the export ends at ",
                      report_.last_sequence, ": it was cut short"));
  }
  if (!failed() && report_.events == 0) {
    Fail(kProblemMalformedExport, from_sequence_, "the export holds no events");
  }
  if (!failed()) CheckWitnessedCheckpointArrived();
  if (!failed() && report_.checkpoints == 0) {
    Fail(kProblemNoCheckpoint, report_.last_sequence,
         "no checkpoint signed by a trusted key covers these events: anyone could have written"
         " them");
  }
  if (!failed() && report_.anchored_through < report_.last_sequence) {
    Fail(kProblemUnanchoredTail, report_.anchored_through + 1,
         absl::StrCat("events ", report_.anchored_through + 1, " to ", report_.last_sequence,
                      " follow the last signed checkpoint: nothing vouches for them"));
  }
  if (!failed() && witness_.has_value() && witness_->count(report_.last_sequence) == 0) {
    Fail(kProblemWitnessMissing, report_.last_sequence,
         absl::StrCat("the checkpoint of event ", report_.last_sequence,
                      " is not in the witness file: use a witness copied after the export"));
  }
  if (report_.events > 0) {
    const int64_t anchored = std::max(report_.anchored_through, report_.first_sequence - 1);
    report_.unanchored = std::max<int64_t>(0, report_.last_sequence - anchored);
  }
  if (witness_.has_value()) {
    report_.witness_beyond = static_cast<int64_t>(
        std::distance(witness_->upper_bound(report_.last_sequence), witness_->end()));
  }
  return report_;
}

absl::StatusOr<ExportReport> VerifyExportBytes(absl::string_view bytes,
                                               std::vector<auth::VerifyingKey> trusted,
                                               int64_t from_sequence, const Witness* witness) {
  absl::StatusOr<ExportVerifier> verifier =
      ExportVerifier::Create(std::move(trusted), from_sequence);
  if (!verifier.ok()) return verifier.status();
  if (witness != nullptr) verifier->SetWitness(*witness);
  google::protobuf::io::ArrayInputStream input(bytes.data(), static_cast<int>(bytes.size()));
  if (absl::Status s = Walk(&input, *verifier); !s.ok()) return s;
  return verifier->Finish();
}

absl::StatusOr<ExportReport> VerifyExportFile(const std::string& path,
                                              std::vector<auth::VerifyingKey> trusted,
                                              int64_t from_sequence, const Witness* witness) {
  absl::StatusOr<ExportVerifier> verifier =
      ExportVerifier::Create(std::move(trusted), from_sequence);
  if (!verifier.ok()) return verifier.status();
  if (witness != nullptr) verifier->SetWitness(*witness);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  google::protobuf::io::FileInputStream input(fd);
  input.SetCloseOnDelete(true);
  if (absl::Status s = Walk(&input, *verifier); !s.ok()) return s;
  if (input.GetErrno() != 0) {
    return absl::ErrnoToStatus(input.GetErrno(), absl::StrCat("cannot read ", path));
  }
  return verifier->Finish();
}

absl::StatusOr<std::vector<auth::VerifyingKey>> ParsePublicKeysPem(absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  std::vector<auth::VerifyingKey> keys;
  while (true) {
    PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (key == nullptr) break;
    if (EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519) {
      return absl::InvalidArgumentError("a public key is not Ed25519");
    }
    unsigned char raw[auth::kEd25519PublicKeyBytes];
    size_t size = sizeof(raw);
    if (EVP_PKEY_get_raw_public_key(key.get(), raw, &size) != 1 || size != sizeof(raw)) {
      return absl::InvalidArgumentError("cannot read an Ed25519 public key");
    }
    absl::StatusOr<auth::VerifyingKey> verifying = auth::VerifyingKey::FromRaw(
        "", absl::string_view(reinterpret_cast<const char*>(raw), size));
    if (!verifying.ok()) return verifying.status();
    keys.push_back(*std::move(verifying));
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (keys.empty()) return absl::InvalidArgumentError("no PEM PUBLIC KEY block found");
  return keys;
}

absl::StatusOr<std::string> PublicKeyPem(absl::string_view raw32) {
  if (raw32.size() != auth::kEd25519PublicKeyBytes) {
    return absl::InvalidArgumentError("an Ed25519 public key has 32 bytes");
  }
  PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(raw32.data()),
                                          raw32.size()));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (key == nullptr || bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
    return absl::InternalError("cannot encode the public key as PEM");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  if (size <= 0 || data == nullptr) return absl::InternalError("cannot encode the public key");
  return std::string(data, static_cast<size_t>(size));
}

std::string FormatReport(const ExportReport& r) {
  std::string out = r.ok ? "ok\n"
                         : absl::StrCat("FAILED: ", r.problem, " at sequence ", r.problem_sequence,
                                        "\n  ", r.detail, "\n");
  absl::StrAppend(&out, "events verified:   ", r.events);
  if (r.events > 0) absl::StrAppend(&out, " (", r.first_sequence, "..", r.last_sequence, ")");
  absl::StrAppend(&out, "\nhead hash:         ", r.head_hash.empty() ? "-" : r.head_hash,
                  "\ncheckpoints:       ", r.checkpoints, " verified\nanchored through:  ");
  if (r.anchored_through > 0) {
    absl::StrAppend(
        &out, "event ", r.anchored_through, ", signed ",
        absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", *r.anchored_time, absl::UTCTimeZone()));
  } else {
    out += "no checkpoint";
  }
  absl::StrAppend(&out, "\nunanchored events: ", r.unanchored,
                  r.unanchored > 0 ? " (after the last checkpoint: nothing vouches for them)" : "",
                  "\nkeys in export:    ", r.keys_listed, " (", r.keys_trusted, " trusted)\n");
  if (r.witness_given) {
    absl::StrAppend(&out, "witness:           ", r.witness_matched, " entries matched, ",
                    r.witness_beyond, " after the export's last event\n");
  }
  return out;
}

}  // namespace relais::audit
