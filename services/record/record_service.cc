#include "services/record/record_service.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "access/policy.h"
#include "services/common/commit.h"
#include "services/common/ids.h"
#include "services/common/paging.h"
#include "services/record/record_store.h"
#include "services/record/youth_export.h"
#include "storage/keyed_hash.h"

namespace relais::record {

using rpc::Caller;
using rpc::CallAudit;
using storage::Connection;
using storage::crypto::FieldCrypto;
using storage::crypto::YouthKey;

namespace {

constexpr size_t kMaxNameBytes = 200;
constexpr int kMaxGuardians = 4;

absl::Status CheckPurpose(v1::Purpose purpose) {
  if (purpose == v1::PURPOSE_UNSPECIFIED || !v1::Purpose_IsValid(purpose)) {
    return rpc::InvalidField("purpose", "invalid_enum", "a purpose is required");
  }
  return absl::OkStatus();
}

absl::Status CheckNationalNumber(absl::string_view n) {
  bool digits = n.size() == 11;
  for (char c : n) digits = digits && absl::ascii_isdigit(c);
  if (!digits) {
    return rpc::InvalidField("national_number", "malformed_national_number",
                             "must be 11 digits");
  }
  return absl::OkStatus();
}

audit::EventInput EntryEvent(const CallAudit& call, const v1::Entry& e,
                             const access::Verdict& v) {
  audit::EventInput ev = call.event;
  ev.action = v1::ACTION_READ_ENTRY;
  ev.entry_id = e.id();
  ev.decision = v.decision;
  ev.reason = v.reason;
  ev.reason_code = rpc::ReasonCode(v.reason);
  ev.object_id = v.consent_id;
  return ev;
}

// An entry the rule allowed but retention erased: audited as not returned.
void MarkErased(audit::EventInput& ev) {
  ev.decision = v1::DECISION_DENY;
  ev.reason = v1::ACCESS_REASON_RECORD_ERASED;
  ev.reason_code = rpc::ReasonCode(ev.reason);
}

}  // namespace

RecordServiceImpl::RecordServiceImpl(Options options, storage::Database* db,
                                     const common::Clock* clock, rpc::CallGate* gate,
                                     const access::CareFacts* care)
    : crypto_(options.master_keys == nullptr
                  ? nullptr
                  : std::make_unique<FieldCrypto>(std::move(*options.master_keys),
                                                  options.key_cache)),
      options_(std::move(options)),
      db_(db),
      clock_(clock),
      gate_(gate),
      care_(care),
      find_youth_limiter_(options_.find_youth_per_hour, absl::Hours(1)) {}

absl::Status RecordServiceImpl::Migrate(storage::Database* db) {
  RETURN_IF_ERROR(db->Migrate("record", store::Migrations()));
  return db->Read([](Connection& c) { return store::CheckNoPlaintextRecords(c); });
}

absl::StatusOr<storage::crypto::MasterKeyRing> RecordServiceImpl::LoadMasterKeys(
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
    return absl::FailedPreconditionError(absl::StrCat(
        "the database holds data keys wrapped under master key(s) ", missing,
        " but the master key given (", ring.current().id(), ", from ", ring.origin(),
        ") is not one of them; pass the right --master_key_file (and "
        "--previous_master_key_file during a rotation)"));
  }
  common::LogFields fields = {{"master_key_id", ring.current().id()},
                              {"origin", ring.origin()}};
  for (const std::string& id : ring.previous_ids()) {
    fields.emplace_back("previous_master_key_id", id);
  }
  fields.emplace_back("data_keys_to_rewrap", absl::StrCat(to_rewrap));
  common::LogInfo("master keys loaded", fields);
  if (to_rewrap == 0 && !ring.previous_ids().empty()) {
    common::LogInfo("no data key is wrapped under the previous master key any more; "
                    "--previous_master_key_file can be dropped");
  }
  return ring;
}

void RecordServiceImpl::PurgeExpiredKeys() const {
  if (crypto_ != nullptr) crypto_->PurgeExpired();
}

absl::StatusOr<const FieldCrypto*> RecordServiceImpl::Crypto() const {
  if (crypto_ == nullptr) {
    return rpc::Precondition("no_master_key", "the record service has no master key");
  }
  return crypto_.get();
}

absl::StatusOr<YouthFacts> RecordServiceImpl::GetYouthFacts(absl::string_view youth_id) const {
  ASSIGN_OR_RETURN(const FieldCrypto* crypto, Crypto());
  std::optional<YouthFacts> facts;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(facts, store::GetYouthFacts(c, *crypto, youth_id));
    return absl::OkStatus();
  }));
  if (!facts.has_value()) return rpc::NotFound("youth_not_found", "no such youth record");
  if (facts->erased) return rpc::NotFound("erased", "the record has been erased");
  return *std::move(facts);
}

absl::StatusOr<EntryFacts> RecordServiceImpl::GetEntryFacts(absl::string_view entry_id) const {
  std::optional<store::SealedEntry> sealed;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(sealed, store::GetEntry(c, entry_id));
    return absl::OkStatus();
  }));
  if (!sealed.has_value()) return rpc::NotFound("entry_not_found", "no such entry");
  const v1::Entry& e = sealed->entry;
  return EntryFacts{e.id(), e.youth_id(), e.author_service_id(), e.visibility(), e.category()};
}

absl::StatusOr<std::string> RecordServiceImpl::SealForYouth(absl::string_view youth_id,
                                                             absl::string_view field,
                                                             absl::string_view row_id,
                                                             absl::string_view plaintext) const {
  ASSIGN_OR_RETURN(const FieldCrypto* crypto, Crypto());
  std::string sealed;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    absl::StatusOr<YouthKey> key = crypto->KeyFor(c, youth_id);
    if (key.status().code() == absl::StatusCode::kNotFound) {
      return rpc::NotFound("erased", "the record has been erased");
    }
    RETURN_IF_ERROR(key.status());
    ASSIGN_OR_RETURN(sealed, key->Seal({field, row_id}, plaintext));
    return absl::OkStatus();
  }));
  return sealed;
}

absl::StatusOr<std::string> RecordServiceImpl::OpenForYouth(absl::string_view youth_id,
                                                             absl::string_view field,
                                                             absl::string_view row_id,
                                                             absl::string_view sealed) const {
  ASSIGN_OR_RETURN(const FieldCrypto* crypto, Crypto());
  std::string plain;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    absl::StatusOr<YouthKey> key = crypto->KeyFor(c, youth_id);
    if (key.status().code() == absl::StatusCode::kNotFound) {
      return rpc::NotFound("erased", "the record has been erased");
    }
    RETURN_IF_ERROR(key.status());
    ASSIGN_OR_RETURN(plain, key->Open({field, row_id}, sealed));
    return absl::OkStatus();
  }));
  return plain;
}

absl::Status RecordServiceImpl::Commit(CallAudit& call,
                                       absl::FunctionRef<absl::Status(Connection&)> fn) {
  return rpc::CommitAllowed(*db_, *gate_->audit(), call, fn);
}

grpc::ServerUnaryReactor* RecordServiceImpl::CreateYouth(grpc::CallbackServerContext* ctx,
                                                         const v1::CreateYouthRequest* req,
                                                         v1::Youth* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_CREATE_YOUTH,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.CreateYouth"));
    const v1::Youth& in = req->youth();
    RETURN_IF_ERROR(rpc::CheckText("youth.display_name", in.display_name(), kMaxNameBytes));
    absl::CivilDay dob;
    if (in.date_of_birth().size() != 10 || !absl::ParseCivilTime(in.date_of_birth(), &dob)) {
      return rpc::InvalidField("youth.date_of_birth", "malformed_date", "must be YYYY-MM-DD");
    }
    const absl::Time now = clock_->Now();
    const int age = AgeOn(dob, absl::ToCivilDay(now, absl::UTCTimeZone()));
    if (age < 0 || age > 30) {
      return rpc::InvalidField("youth.date_of_birth", "implausible_date",
                               "the youth must be between 0 and 30 years old");
    }
    if (in.guardians_size() > kMaxGuardians) {
      return rpc::InvalidField("youth.guardians", "too_many", "at most 4 guardians");
    }
    for (const v1::Guardian& g : in.guardians()) {
      RETURN_IF_ERROR(rpc::CheckText("youth.guardians.display_name", g.display_name(),
                                     kMaxNameBytes));
      if (g.relationship().size() > 100) {
        return rpc::InvalidField("youth.guardians.relationship", "field_too_long",
                                 "at most 100 bytes");
      }
    }
    std::string national_hash;
    if (!req->national_number().empty()) {
      RETURN_IF_ERROR(CheckNationalNumber(req->national_number()));
      // "Already registered" answers whether a number exists, like FindYouth:
      // the same per-member limit, counted before the database is consulted.
      if (!find_youth_limiter_.TryAcquire(caller.member_id(), clock_->Now())) {
        return rpc::Exhausted(v1::ACCESS_REASON_RATE_LIMITED,
                              "too many look-ups by national number this hour");
      }
      ASSIGN_OR_RETURN(national_hash,
                       storage::KeyedHash(options_.national_number_key, req->national_number()));
    }
    v1::Youth y;
    y.set_id(rpc::NewId("y"));
    y.set_display_name(in.display_name());
    y.set_date_of_birth(absl::FormatCivilTime(dob));
    for (const v1::Guardian& g : in.guardians()) {
      v1::Guardian* out = y.add_guardians();
      out->set_id(rpc::NewId("g"));
      out->set_display_name(g.display_name());
      out->set_relationship(g.relationship());
    }
    *y.mutable_created_at() = rpc::ToProto(now);
    call.event.youth_id = y.id();
    ASSIGN_OR_RETURN(const FieldCrypto* crypto, Crypto());
    absl::Status s = Commit(call, [&](Connection& c) -> absl::Status {
      return store::InsertYouth(c, *crypto, y, national_hash, caller.service_id());
    });
    if (s.code() == absl::StatusCode::kAlreadyExists) {
      call.event.youth_id.clear();
      return common::AlreadyExists("youth_already_registered",
                                   "a record with this national number exists; use FindYouth");
    }
    RETURN_IF_ERROR(s);
    *resp = std::move(y);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RecordServiceImpl::FindYouth(grpc::CallbackServerContext* ctx,
                                                       const v1::FindYouthRequest* req,
                                                       v1::FindYouthResponse* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_FIND_YOUTH,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.FindYouth"));
    RETURN_IF_ERROR(CheckNationalNumber(req->national_number()));
    // Counted before the database is consulted, found or not, so that a
    // refusal says nothing about whether the number exists.
    if (!find_youth_limiter_.TryAcquire(caller.member_id(), clock_->Now())) {
      return rpc::Exhausted(v1::ACCESS_REASON_RATE_LIMITED,
                            "too many look-ups by national number this hour");
    }
    ASSIGN_OR_RETURN(std::string hash,
                     storage::KeyedHash(options_.national_number_key, req->national_number()));
    std::string id;
    RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(id, store::FindByNationalHash(c, hash));
      return absl::OkStatus();
    }));
    if (id.empty()) return rpc::NotFound("youth_not_found", "no record with this number");
    call.event.youth_id = id;
    RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
    resp->set_youth_id(id);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RecordServiceImpl::GetYouth(grpc::CallbackServerContext* ctx,
                                                      const v1::GetYouthRequest* req,
                                                      v1::Youth* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_READ_YOUTH,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    call.event.youth_id = req->youth_id();
    RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.GetYouth"));
    RETURN_IF_ERROR(rpc::CheckId("youth_id", req->youth_id()));
    RETURN_IF_ERROR(CheckPurpose(req->purpose()));
    call.event.purpose = req->purpose();
    ASSIGN_OR_RETURN(YouthFacts youth, GetYouthFacts(req->youth_id()));
    ASSIGN_OR_RETURN(access::AccessFacts facts,
                     care_->GatherFacts(caller.service_id(), youth.id, caller.member_id()));
    call.event.break_glass = facts.break_glass;
    access::Verdict v = access::DecideRecordRead(facts, {youth.restricted, youth.erased});
    if (!v.allowed()) return rpc::Denied(v.reason, v.explanation);
    ASSIGN_OR_RETURN(const FieldCrypto* crypto, Crypto());
    std::optional<v1::Youth> y;
    RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(y, store::GetYouth(c, *crypto, req->youth_id()));
      return absl::OkStatus();
    }));
    if (!y.has_value()) return rpc::NotFound("youth_not_found", "no such youth record");
    RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
    *resp = *std::move(y);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RecordServiceImpl::AddEntry(grpc::CallbackServerContext* ctx,
                                                      const v1::AddEntryRequest* req,
                                                      v1::Entry* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_ADD_ENTRY,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.AddEntry"));
    const v1::Entry& in = req->entry();
    RETURN_IF_ERROR(rpc::CheckId("entry.youth_id", in.youth_id()));
    call.event.youth_id = in.youth_id();
    if (in.kind() == v1::ENTRY_KIND_UNSPECIFIED || !v1::EntryKind_IsValid(in.kind())) {
      return rpc::InvalidField("entry.kind", "invalid_enum", "unknown entry kind");
    }
    if (in.category() == v1::DATA_CATEGORY_UNSPECIFIED ||
        !v1::DataCategory_IsValid(in.category())) {
      return rpc::InvalidField("entry.category", "invalid_enum", "unknown data category");
    }
    if (in.visibility() == v1::VISIBILITY_UNSPECIFIED || !v1::Visibility_IsValid(in.visibility())) {
      return rpc::InvalidField("entry.visibility", "invalid_enum",
                               "must be SERVICE_PRIVATE or SHARED");
    }
    RETURN_IF_ERROR(rpc::CheckText("entry.body", in.body(), options_.max_body_bytes));
    ASSIGN_OR_RETURN(YouthFacts youth, GetYouthFacts(in.youth_id()));
    ASSIGN_OR_RETURN(access::AccessFacts facts,
                     care_->GatherFacts(caller.service_id(), youth.id, caller.member_id()));
    call.event.break_glass = facts.break_glass;
    access::Verdict v = access::DecideRecordWrite(facts, {youth.restricted, youth.erased});
    if (!v.allowed()) return rpc::Denied(v.reason, v.explanation);
    if (!in.supersedes_entry_id().empty()) {
      RETURN_IF_ERROR(rpc::CheckId("entry.supersedes_entry_id", in.supersedes_entry_id()));
      absl::StatusOr<EntryFacts> old = GetEntryFacts(in.supersedes_entry_id());
      if (!old.ok() || old->youth_id != in.youth_id() ||
          old->author_service_id != caller.service_id()) {
        return rpc::InvalidField("entry.supersedes_entry_id", "cannot_supersede",
                                 "only your service's own entries on this record");
      }
    }
    if (!in.handover_id().empty()) {
      RETURN_IF_ERROR(rpc::CheckId("entry.handover_id", in.handover_id()));
      absl::StatusOr<access::HandoverFacts> h = care_->GetHandoverFacts(in.handover_id());
      if (!h.ok() || h->youth_id != in.youth_id() ||
          (h->from_service_id != caller.service_id() && h->to_service_id != caller.service_id())) {
        return rpc::InvalidField("entry.handover_id", "unknown_handover",
                                 "no handover of this youth involving your service");
      }
    }
    v1::Entry e = in;
    e.set_id(rpc::NewId("e"));
    e.set_author_member_id(caller.member_id());
    e.set_author_service_id(caller.service_id());
    *e.mutable_created_at() = rpc::ToProto(clock_->Now());
    call.event.entry_id = e.id();
    ASSIGN_OR_RETURN(const FieldCrypto* crypto, Crypto());
    RETURN_IF_ERROR(
        Commit(call, [&](Connection& c) { return store::InsertEntry(c, *crypto, e); }));
    *resp = std::move(e);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RecordServiceImpl::ListEntries(grpc::CallbackServerContext* ctx,
                                                         const v1::ListEntriesRequest* req,
                                                         v1::ListEntriesResponse* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_LIST_ENTRIES,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    call.event.youth_id = req->youth_id();
    RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.ListEntries"));
    RETURN_IF_ERROR(rpc::CheckId("youth_id", req->youth_id()));
    RETURN_IF_ERROR(CheckPurpose(req->purpose()));
    call.event.purpose = req->purpose();
    if (!req->handover_id().empty()) RETURN_IF_ERROR(rpc::CheckId("handover_id", req->handover_id()));
    ASSIGN_OR_RETURN(const int page_size, rpc::PageSize(req->page_size(), rpc::kEntryPages));
    int64_t before = 0;
    if (!req->page_token().empty() &&
        (!absl::SimpleAtoi(req->page_token(), &before) || before <= 0)) {
      return rpc::InvalidField("page_token", "bad_page_token", "is not a token this server gave");
    }
    ASSIGN_OR_RETURN(YouthFacts youth, GetYouthFacts(req->youth_id()));
    ASSIGN_OR_RETURN(access::AccessFacts facts,
                     care_->GatherFacts(caller.service_id(), youth.id, caller.member_id()));
    call.event.break_glass = facts.break_glass;
    const access::YouthState state{youth.restricted, youth.erased};
    access::Verdict record_verdict = access::DecideRecordRead(facts, state);
    if (!record_verdict.allowed()) {
      return rpc::Denied(record_verdict.reason, record_verdict.explanation);
    }
    std::vector<store::SealedEntry> allowed;
    std::vector<audit::EventInput> events;
    std::map<v1::AccessReason, int> withheld;
    std::string next_token;
    constexpr int kBatch = 200;
    bool more = true;
    while (more && static_cast<int>(allowed.size()) < page_size) {
      RETURN_IF_ERROR(rpc::CheckCallAlive(ctx));
      std::vector<store::SealedEntry> batch;
      std::vector<int64_t> positions;
      RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
        ASSIGN_OR_RETURN(batch, store::ListEntries(c, youth.id, req->handover_id(), before,
                                                   kBatch, &positions,
                                                   req->include_superseded()));
        return absl::OkStatus();
      }));
      more = static_cast<int>(batch.size()) == kBatch;
      for (size_t i = 0; i < batch.size(); ++i) {
        const v1::Entry& e = batch[i].entry;
        before = positions[i];
        access::Verdict v = access::DecideEntryRead(
            facts, state, {e.author_service_id(), e.visibility(), e.category()}, req->purpose());
        events.push_back(EntryEvent(call, e, v));
        if (v.allowed() && batch[i].erased) {
          // Erased by retention: counted, like what the rule withholds.
          MarkErased(events.back());
          ++withheld[v1::ACCESS_REASON_RECORD_ERASED];
        } else if (v.allowed()) {
          allowed.push_back(std::move(batch[i]));
          if (static_cast<int>(allowed.size()) == page_size) {
            if (i + 1 < batch.size() || more) next_token = absl::StrCat(before);
            break;
          }
        } else if (v.reason != v1::ACCESS_REASON_ENTRY_PRIVATE) {
          // Another service's private entries are neither shown nor counted.
          ++withheld[v.reason];
        }
      }
    }
    // Only the entries the rule allowed are decrypted, under one unwrap of the
    // youth's data key. A body that does not open fails the whole call
    // (DATA_LOSS, logged): an entry is never returned altered or blank.
    std::vector<v1::Entry> opened;
    if (!allowed.empty()) {
      ASSIGN_OR_RETURN(const FieldCrypto* crypto, Crypto());
      RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
        ASSIGN_OR_RETURN(YouthKey key, crypto->KeyFor(c, youth.id));
        for (const store::SealedEntry& sealed : allowed) {
          ASSIGN_OR_RETURN(v1::Entry e, store::OpenEntry(key, sealed));
          opened.push_back(std::move(e));
        }
        return absl::OkStatus();
      }));
    }
    // The whole listing is audited, the call then each entry's decision, in one
    // transaction, before anything is returned.
    call.event.decision = v1::DECISION_ALLOW;
    call.event.reason = v1::ACCESS_REASON_ALLOWED;
    call.event.reason_code = "allowed";
    RETURN_IF_ERROR(db_->Write([&](Connection& c) -> absl::Status {
      RETURN_IF_ERROR(gate_->audit()->Append(c, call.event).status());
      for (const audit::EventInput& ev : events) {
        RETURN_IF_ERROR(gate_->audit()->Append(c, ev).status());
      }
      return absl::OkStatus();
    }));
    call.recorded = true;
    for (v1::Entry& e : opened) *resp->add_entries() = std::move(e);
    for (const auto& [reason, count] : withheld) {
      v1::WithheldCount* w = resp->add_withheld();
      w->set_reason(reason);
      w->set_reason_code(rpc::ReasonCode(reason));
      w->set_count(count);
    }
    resp->set_next_page_token(next_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RecordServiceImpl::GetEntry(grpc::CallbackServerContext* ctx,
                                                      const v1::GetEntryRequest* req,
                                                      v1::Entry* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_READ_ENTRY,
                    [&](const Caller& caller, CallAudit& call) -> absl::Status {
    RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.GetEntry"));
    RETURN_IF_ERROR(rpc::CheckId("entry_id", req->entry_id()));
    call.event.entry_id = req->entry_id();
    RETURN_IF_ERROR(CheckPurpose(req->purpose()));
    call.event.purpose = req->purpose();
    std::optional<store::SealedEntry> sealed;
    RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(sealed, store::GetEntry(c, req->entry_id()));
      return absl::OkStatus();
    }));
    if (!sealed.has_value()) return rpc::NotFound("entry_not_found", "no such entry");
    const v1::Entry* e = &sealed->entry;
    call.event.youth_id = e->youth_id();
    ASSIGN_OR_RETURN(YouthFacts youth, GetYouthFacts(e->youth_id()));
    ASSIGN_OR_RETURN(access::AccessFacts facts,
                     care_->GatherFacts(caller.service_id(), youth.id, caller.member_id()));
    call.event.break_glass = facts.break_glass;
    access::Verdict v = access::DecideEntryRead(facts, {youth.restricted, youth.erased},
                                            {e->author_service_id(), e->visibility(), e->category()},
                                            req->purpose());
    if (!v.allowed()) {
      call.event.reason = v.reason;
      // Another service's private entry is not revealed to exist; the audit log
      // still records the real reason.
      if (v.reason == v1::ACCESS_REASON_ENTRY_PRIVATE) {
        absl::Status audited = gate_->AuditDenial(call.event, rpc::Denied(v.reason, "private"));
        if (audited.code() == absl::StatusCode::kUnavailable) return audited;
        call.recorded = true;
        return rpc::NotFound("entry_not_found", "no such entry");
      }
      return rpc::Denied(v.reason, v.explanation);
    }
    call.event.object_id = v.consent_id;
    if (sealed->erased) return rpc::NotFound("erased", "the entry was erased (retention)");
    // The correction chain (include_history): walk to the current version, then
    // back to the first; each version is decided and audited on its own, and
    // only the allowed ones are opened.
    std::vector<store::SealedEntry> chain;
    std::vector<audit::EventInput> events;
    if (req->include_history()) {
      constexpr int kMaxChain = 100;
      RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
        std::vector<store::SealedEntry> newer;
        std::string next = e->superseded_by_entry_id();
        while (!next.empty() && static_cast<int>(newer.size()) < kMaxChain) {
          ASSIGN_OR_RETURN(std::optional<store::SealedEntry> n, store::GetEntry(c, next));
          if (!n.has_value()) break;
          next = n->entry.superseded_by_entry_id();
          newer.push_back(*std::move(n));
        }
        for (auto it = newer.rbegin(); it != newer.rend(); ++it) chain.push_back(*it);
        chain.push_back(*sealed);
        std::string prev = e->supersedes_entry_id();
        while (!prev.empty() && static_cast<int>(chain.size()) < 2 * kMaxChain) {
          ASSIGN_OR_RETURN(std::optional<store::SealedEntry> p, store::GetEntry(c, prev));
          if (!p.has_value()) break;
          prev = p->entry.supersedes_entry_id();
          chain.push_back(*std::move(p));
        }
        return absl::OkStatus();
      }));
    }
    std::vector<const store::SealedEntry*> readable;
    for (const store::SealedEntry& version : chain) {
      if (version.entry.id() == e->id()) {
        readable.push_back(&version);
        continue;
      }
      const v1::Entry& ve = version.entry;
      access::Verdict vv = access::DecideEntryRead(facts, {youth.restricted, youth.erased},
                                               {ve.author_service_id(), ve.visibility(),
                                                ve.category()},
                                               req->purpose());
      events.push_back(EntryEvent(call, ve, vv));
      if (vv.allowed() && version.erased) {
        MarkErased(events.back());
      } else if (vv.allowed()) {
        readable.push_back(&version);
      }
    }
    // Decrypted only once allowed. A body that does not open on this row
    // (moved, altered, key destroyed) fails the call with its status.
    ASSIGN_OR_RETURN(const FieldCrypto* crypto, Crypto());
    v1::Entry opened;
    std::vector<v1::Entry> history;
    RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(YouthKey key, crypto->KeyFor(c, e->youth_id()));
      ASSIGN_OR_RETURN(opened, store::OpenEntry(key, *sealed));
      for (const store::SealedEntry* version : readable) {
        ASSIGN_OR_RETURN(v1::Entry h, store::OpenEntry(key, *version));
        history.push_back(std::move(h));
      }
      return absl::OkStatus();
    }));
    RETURN_IF_ERROR(Commit(call, [&](Connection& c) -> absl::Status {
      for (const audit::EventInput& ev : events) {
        RETURN_IF_ERROR(gate_->audit()->Append(c, ev).status());
      }
      return absl::OkStatus();
    }));
    *resp = std::move(opened);
    for (v1::Entry& h : history) *resp->add_history() = std::move(h);
    return absl::OkStatus();
  });
}

}  // namespace relais::record
