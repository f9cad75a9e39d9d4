#include "services/record/record_service.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "access/policy.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/common/commit.h"
#include "services/common/paging.h"
#include "services/record/record_store.h"
#include "services/record/youth_export.h"
#include "storage/keyed_hash.h"

namespace relais::record {

using rpc::CallAudit;
using rpc::Caller;
using storage::Connection;
using storage::crypto::FieldCrypto;

namespace {

constexpr size_t kMaxNameBytes = 200;
constexpr int kMaxGuardians = 4;

absl::Status CheckPurpose(v1::Purpose purpose) {
  if (purpose == v1::PURPOSE_UNSPECIFIED || !v1::Purpose_IsValid(purpose)) {
    return common::InvalidField("purpose", "invalid_enum", "a purpose is required");
  }
  return absl::OkStatus();
}

// One look-up by national number, counted before the database is consulted;
// RESOURCE_EXHAUSTED rate_limited past the member's hourly budget.
absl::Status CountLookup(LookupLimiter& limiter, absl::string_view member_id, absl::Time now) {
  ASSIGN_OR_RETURN(const bool counted, limiter.TryAcquire(member_id, now));
  if (counted) return absl::OkStatus();
  return rpc::Exhausted(v1::ACCESS_REASON_RATE_LIMITED,
                        "too many look-ups by national number this hour");
}

absl::Status CheckNationalNumber(absl::string_view n) {
  bool digits = n.size() == 11;
  for (char c : n) digits = digits && absl::ascii_isdigit(c);
  if (!digits) {
    return common::InvalidField("national_number", "malformed_national_number",
                                "must be 11 digits");
  }
  return absl::OkStatus();
}

}  // namespace

RecordServiceImpl::RecordServiceImpl(Options options, storage::Database* db,
                                     const common::Clock* clock, rpc::CallGate* gate,
                                     const access::CareFacts* care)
    : keys_(db, std::move(options.master_keys), options.key_cache),
      options_(std::move(options)),
      db_(db),
      clock_(clock),
      gate_(gate),
      care_(care),
      find_youth_limiter_(db, options_.find_youth_per_hour, absl::Hours(1)),
      reader_({.db = db, .keys = &keys_, .care = care, .gate = gate}),
      retention_({.db = db,
                  .keys = &keys_,
                  .care = care,
                  .audit = gate->audit(),
                  .clock = clock,
                  .policy = options_.retention}) {}

absl::Status RecordServiceImpl::Migrate(storage::Database* db) {
  RETURN_IF_ERROR(db->Migrate("record", store::Migrations(), store::PostgresMigrations()));
  return db->Read([](Connection& c) { return store::CheckNoPlaintextRecords(c); });
}

absl::StatusOr<YouthFacts> RecordServiceImpl::GetYouthFacts(absl::string_view youth_id) const {
  ASSIGN_OR_RETURN(const FieldCrypto* crypto, Crypto());
  std::optional<YouthFacts> facts;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(facts, store::GetYouthFacts(c, *crypto, youth_id));
    return absl::OkStatus();
  }));
  if (!facts.has_value()) return common::NotFound("youth_not_found", "no such youth record");
  if (facts->erased) return common::NotFound("erased", "the record has been erased");
  return *std::move(facts);
}

absl::StatusOr<EntryFacts> RecordServiceImpl::GetEntryFacts(absl::string_view entry_id) const {
  std::optional<store::SealedEntry> sealed;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(sealed, store::GetEntry(c, entry_id));
    return absl::OkStatus();
  }));
  if (!sealed.has_value()) return common::NotFound("entry_not_found", "no such entry");
  const v1::Entry& e = sealed->entry;
  return EntryFacts{e.id(), e.youth_id(), e.author_service_id(), e.visibility(), e.category()};
}

absl::StatusOr<std::string> RecordServiceImpl::SealForYouth(absl::string_view youth_id,
                                                            absl::string_view field,
                                                            absl::string_view row_id,
                                                            absl::string_view plaintext) const {
  return keys_.Seal(youth_id, field, row_id, plaintext);
}

absl::StatusOr<std::string> RecordServiceImpl::OpenForYouth(absl::string_view youth_id,
                                                            absl::string_view field,
                                                            absl::string_view row_id,
                                                            absl::string_view sealed) const {
  return keys_.Open(youth_id, field, row_id, sealed);
}

absl::Status RecordServiceImpl::Commit(CallAudit& call,
                                       absl::FunctionRef<absl::Status(Connection&)> fn) {
  return rpc::CommitAllowed(*db_, *gate_->audit(), call, fn);
}

grpc::ServerUnaryReactor* RecordServiceImpl::CreateYouth(grpc::CallbackServerContext* ctx,
                                                         const v1::CreateYouthRequest* req,
                                                         v1::Youth* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_CREATE_YOUTH,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.CreateYouth"));
        const v1::Youth& in = req->youth();
        RETURN_IF_ERROR(common::CheckText("youth.display_name", in.display_name(), kMaxNameBytes));
        absl::CivilDay dob;
        if (in.date_of_birth().size() != 10 || !absl::ParseCivilTime(in.date_of_birth(), &dob)) {
          return common::InvalidField("youth.date_of_birth", "malformed_date",
                                      "must be YYYY-MM-DD");
        }
        const absl::Time now = clock_->Now();
        const int age = AgeOn(dob, absl::ToCivilDay(now, absl::UTCTimeZone()));
        if (age < 0 || age > 30) {
          return common::InvalidField("youth.date_of_birth", "implausible_date",
                                      "the youth must be between 0 and 30 years old");
        }
        if (in.guardians_size() > kMaxGuardians) {
          return common::InvalidField("youth.guardians", "too_many", "at most 4 guardians");
        }
        for (const v1::Guardian& g : in.guardians()) {
          RETURN_IF_ERROR(
              common::CheckText("youth.guardians.display_name", g.display_name(), kMaxNameBytes));
          if (g.relationship().size() > 100) {
            return common::InvalidField("youth.guardians.relationship", "field_too_long",
                                        "at most 100 bytes");
          }
        }
        std::string national_hash;
        if (!req->national_number().empty()) {
          RETURN_IF_ERROR(CheckNationalNumber(req->national_number()));
          // "Already registered" answers whether a number exists, like FindYouth:
          // the same per-member limit, counted before the database is consulted.
          RETURN_IF_ERROR(CountLookup(find_youth_limiter_, caller.member_id(), clock_->Now()));
          ASSIGN_OR_RETURN(national_hash, storage::KeyedHash(options_.national_number_key,
                                                             req->national_number()));
        }
        v1::Youth y;
        y.set_id(common::NewId("y"));
        y.set_display_name(in.display_name());
        y.set_date_of_birth(absl::FormatCivilTime(dob));
        for (const v1::Guardian& g : in.guardians()) {
          v1::Guardian* out = y.add_guardians();
          out->set_id(common::NewId("g"));
          out->set_display_name(g.display_name());
          out->set_relationship(g.relationship());
        }
        *y.mutable_created_at() = common::ToProto(now);
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
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_FIND_YOUTH,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.FindYouth"));
        RETURN_IF_ERROR(CheckNationalNumber(req->national_number()));
        // Counted before the database is consulted, found or not, so that a
        // refusal says nothing about whether the number exists.
        RETURN_IF_ERROR(CountLookup(find_youth_limiter_, caller.member_id(), clock_->Now()));
        ASSIGN_OR_RETURN(std::string hash,
                         storage::KeyedHash(options_.national_number_key, req->national_number()));
        std::string id;
        RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
          ASSIGN_OR_RETURN(id, store::FindByNationalHash(c, hash));
          return absl::OkStatus();
        }));
        if (id.empty()) return common::NotFound("youth_not_found", "no record with this number");
        call.event.youth_id = id;
        RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
        resp->set_youth_id(id);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RecordServiceImpl::GetYouth(grpc::CallbackServerContext* ctx,
                                                      const v1::GetYouthRequest* req,
                                                      v1::Youth* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_READ_YOUTH,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        call.event.youth_id = req->youth_id();
        RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.GetYouth"));
        RETURN_IF_ERROR(common::CheckId("youth_id", req->youth_id()));
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
        if (!y.has_value()) return common::NotFound("youth_not_found", "no such youth record");
        RETURN_IF_ERROR(Commit(call, [](Connection&) { return absl::OkStatus(); }));
        *resp = *std::move(y);
        return absl::OkStatus();
      });
}

absl::Status RecordServiceImpl::CheckThread(const Caller& caller, v1::Entry& e) const {
  if (!e.concertation_id().empty()) {
    RETURN_IF_ERROR(common::CheckId("entry.concertation_id", e.concertation_id()));
    if (e.kind() != v1::ENTRY_KIND_CONCERTATION) {
      return common::InvalidField("entry.kind", "minutes_are_concertation",
                                  "a meeting's minutes are entries of kind CONCERTATION");
    }
    absl::StatusOr<access::ConcertationFacts> m = care_->GetConcertationFacts(e.concertation_id());
    if (!m.ok() && !absl::IsNotFound(m.status())) return m.status();  // integrity_violation
    const bool invited = m.ok() && m->youth_id == e.youth_id() &&
                         std::find(m->invited_service_ids.begin(), m->invited_service_ids.end(),
                                   caller.service_id()) != m->invited_service_ids.end();
    if (!invited) {
      return common::InvalidField("entry.concertation_id", "unknown_concertation",
                                  "no concertation of this youth your service was invited to");
    }
    if (m->cancelled) return common::Precondition("concertation_cancelled", "it was cancelled");
    if (m->handover_id.empty()) return absl::OkStatus();
    // A handover's meeting: its minutes join that handover's thread, where
    // every invited service may file them.
    if (!e.handover_id().empty() && e.handover_id() != m->handover_id) {
      return common::InvalidField("entry.handover_id", "not_the_meetings_handover",
                                  "the meeting is about another handover");
    }
    e.set_handover_id(m->handover_id);
    return absl::OkStatus();
  }
  if (e.handover_id().empty()) return absl::OkStatus();
  RETURN_IF_ERROR(common::CheckId("entry.handover_id", e.handover_id()));
  absl::StatusOr<access::HandoverFacts> h = care_->GetHandoverFacts(e.handover_id());
  if (!h.ok() || h->youth_id != e.youth_id() ||
      (h->from_service_id != caller.service_id() && h->to_service_id != caller.service_id())) {
    return common::InvalidField("entry.handover_id", "unknown_handover",
                                "no handover of this youth involving your service");
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* RecordServiceImpl::AddEntry(grpc::CallbackServerContext* ctx,
                                                      const v1::AddEntryRequest* req,
                                                      v1::Entry* resp) {
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_ADD_ENTRY,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.AddEntry"));
        const v1::Entry& in = req->entry();
        RETURN_IF_ERROR(common::CheckId("entry.youth_id", in.youth_id()));
        call.event.youth_id = in.youth_id();
        if (in.kind() == v1::ENTRY_KIND_UNSPECIFIED || !v1::EntryKind_IsValid(in.kind())) {
          return common::InvalidField("entry.kind", "invalid_enum", "unknown entry kind");
        }
        if (in.category() == v1::DATA_CATEGORY_UNSPECIFIED ||
            !v1::DataCategory_IsValid(in.category())) {
          return common::InvalidField("entry.category", "invalid_enum", "unknown data category");
        }
        if (in.visibility() == v1::VISIBILITY_UNSPECIFIED ||
            !v1::Visibility_IsValid(in.visibility())) {
          return common::InvalidField("entry.visibility", "invalid_enum",
                                      "must be SERVICE_PRIVATE or SHARED");
        }
        RETURN_IF_ERROR(common::CheckText("entry.body", in.body(), options_.max_body_bytes));
        ASSIGN_OR_RETURN(YouthFacts youth, GetYouthFacts(in.youth_id()));
        ASSIGN_OR_RETURN(access::AccessFacts facts,
                         care_->GatherFacts(caller.service_id(), youth.id, caller.member_id()));
        call.event.break_glass = facts.break_glass;
        access::Verdict v = access::DecideRecordWrite(facts, {youth.restricted, youth.erased});
        if (!v.allowed()) return rpc::Denied(v.reason, v.explanation);
        if (!in.supersedes_entry_id().empty()) {
          RETURN_IF_ERROR(common::CheckId("entry.supersedes_entry_id", in.supersedes_entry_id()));
          absl::StatusOr<EntryFacts> old = GetEntryFacts(in.supersedes_entry_id());
          if (!old.ok() || old->youth_id != in.youth_id() ||
              old->author_service_id != caller.service_id()) {
            return common::InvalidField("entry.supersedes_entry_id", "cannot_supersede",
                                        "only your service's own entries on this record");
          }
        }
        v1::Entry e = in;
        RETURN_IF_ERROR(CheckThread(caller, e));
        e.set_id(common::NewId("e"));
        e.set_author_member_id(caller.member_id());
        e.set_author_service_id(caller.service_id());
        *e.mutable_created_at() = common::ToProto(clock_->Now());
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
  return rpc::Serve(
      *gate_, ctx, v1::ACTION_LIST_ENTRIES,
      [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
        call.event.youth_id = req->youth_id();
        RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.ListEntries"));
        RETURN_IF_ERROR(common::CheckId("youth_id", req->youth_id()));
        RETURN_IF_ERROR(CheckPurpose(req->purpose()));
        call.event.purpose = req->purpose();
        if (!req->handover_id().empty())
          RETURN_IF_ERROR(common::CheckId("handover_id", req->handover_id()));
        if (!req->concertation_id().empty())
          RETURN_IF_ERROR(common::CheckId("concertation_id", req->concertation_id()));
        ASSIGN_OR_RETURN(const int page_size, rpc::PageSize(req->page_size(), rpc::kEntryPages));
        int64_t before = 0;
        if (!req->page_token().empty() &&
            (!absl::SimpleAtoi(req->page_token(), &before) || before <= 0)) {
          return common::InvalidField("page_token", "bad_page_token",
                                      "is not a token this server gave");
        }
        ASSIGN_OR_RETURN(EntryReader::Page page,
                         reader_.List(caller,
                                      {.youth_id = req->youth_id(),
                                       .handover_id = req->handover_id(),
                                       .concertation_id = req->concertation_id(),
                                       .purpose = req->purpose(),
                                       .page_size = page_size,
                                       .before = before,
                                       .include_superseded = req->include_superseded()},
                                      call, [ctx] { return rpc::CheckCallAlive(ctx); }));
        for (v1::Entry& e : page.entries) *resp->add_entries() = std::move(e);
        for (const auto& [reason, count] : page.withheld) {
          v1::WithheldCount* w = resp->add_withheld();
          w->set_reason(reason);
          w->set_reason_code(rpc::ReasonCode(reason));
          w->set_count(count);
        }
        resp->set_next_page_token(page.next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RecordServiceImpl::GetEntry(grpc::CallbackServerContext* ctx,
                                                      const v1::GetEntryRequest* req,
                                                      v1::Entry* resp) {
  return rpc::Serve(*gate_, ctx, v1::ACTION_READ_ENTRY,
                    [=, this](const Caller& caller, CallAudit& call) -> absl::Status {
                      RETURN_IF_ERROR(gate_->RequireRole(caller, "RecordService.GetEntry"));
                      RETURN_IF_ERROR(common::CheckId("entry_id", req->entry_id()));
                      call.event.entry_id = req->entry_id();
                      RETURN_IF_ERROR(CheckPurpose(req->purpose()));
                      call.event.purpose = req->purpose();
                      ASSIGN_OR_RETURN(*resp,
                                       reader_.Get(caller,
                                                   {.entry_id = req->entry_id(),
                                                    .purpose = req->purpose(),
                                                    .include_history = req->include_history()},
                                                   call));
                      return absl::OkStatus();
                    });
}

}  // namespace relais::record
