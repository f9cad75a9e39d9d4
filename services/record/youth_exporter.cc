#include "services/record/youth_exporter.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "access/policy.h"
#include "common/proto_time.h"
#include "common/reason.h"
#include "common/status_macros.h"
#include "services/common/commit.h"
#include "services/record/gdpr_store.h"

namespace relais::record {

using rpc::CallAudit;
using rpc::Caller;
using storage::Connection;
using storage::crypto::FieldCrypto;

absl::StatusOr<std::vector<store::SealedEntry>> EntryPager::Next() {
  std::vector<store::SealedEntry> page;
  if (done_) return page;
  std::vector<int64_t> positions;
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> absl::Status {
    ASSIGN_OR_RETURN(page, store::EntriesAfter(c, youth_id_, after_, page_size_, &positions));
    return absl::OkStatus();
  }));
  ++pages_read_;
  if (static_cast<int>(page.size()) < page_size_) done_ = true;
  if (!positions.empty()) after_ = positions.back();
  return page;
}

namespace {

constexpr int kExportFormatVersion = 1;

// What an admin's metadata export shows of an entry: ids, author service,
// category, visibility, dates and correction links; not its author member,
// kind, thread or body.
v1::Entry MetadataOnly(const v1::Entry& e) {
  v1::Entry m;
  m.set_id(e.id());
  m.set_youth_id(e.youth_id());
  m.set_author_service_id(e.author_service_id());
  m.set_category(e.category());
  m.set_visibility(e.visibility());
  *m.mutable_created_at() = e.created_at();
  m.set_supersedes_entry_id(e.supersedes_entry_id());
  m.set_superseded_by_entry_id(e.superseded_by_entry_id());
  return m;
}

// OK if `grant` is an approved, unused full-export request of `member_id` for
// `youth_id`.
absl::Status CheckFullExportGrant(const std::optional<v1::FullExportRequest>& grant,
                                  absl::string_view youth_id, absl::string_view member_id) {
  if (!grant.has_value() || grant->youth_id() != youth_id ||
      grant->requested_by_member_id() != member_id) {
    return common::NotFound("export_request_not_found",
                            "no full-export request of this admin for this youth");
  }
  switch (grant->state()) {
    case v1::FULL_EXPORT_STATE_APPROVED:
      return absl::OkStatus();
    case v1::FULL_EXPORT_STATE_USED:
      return common::Precondition("export_request_used",
                                  "the full-export request was used already");
    case v1::FULL_EXPORT_STATE_EXPIRED:
      return common::Precondition("export_request_expired",
                                  "the full-export approval is older than 24 hours");
    default:
      return common::Precondition("export_request_not_approved",
                                  "a platform auditor has not approved the full export");
  }
}

}  // namespace

absl::Status YouthExporter::Begin(const Caller& caller, CallAudit& call,
                                  const v1::ExportYouthRequest& req,
                                  std::deque<v1::ExportYouthItem>& out) {
  call.event.youth_id = req.youth_id();
  // Not an emergency need: break-the-glass never admits an export.
  RETURN_IF_ERROR(deps_.gate->RequireRole(caller, "RecordService.ExportYouth"));
  RETURN_IF_ERROR(common::CheckId("youth_id", req.youth_id()));
  ASSIGN_OR_RETURN(const FieldCrypto* crypto, deps_.keys->Crypto());
  // NOT_FOUND "erased" / "youth_not_found" like every other call.
  ASSIGN_OR_RETURN(YouthFacts youth, deps_.records->GetYouthFacts(req.youth_id()));
  RETURN_IF_ERROR(Authorise(caller, call, req, youth));
  // A restricted record is exported all the same (art. 18 does not limit
  // the data subject's own access); the header says so. A metadata export
  // opens nothing: no identity, and handover reasons stay sealed, unread.
  const bool metadata = scope_ == v1::EXPORT_SCOPE_METADATA;
  std::optional<v1::Youth> identity;
  access::CareFacts::TextOpener open_text;
  if (!metadata) {
    RETURN_IF_ERROR(deps_.db->Read([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(identity, store::GetYouth(c, *crypto, youth.id));
      return absl::OkStatus();
    }));
    if (!identity.has_value()) return common::NotFound("youth_not_found", "no such youth record");
    open_text = [records = deps_.records, id = youth.id](
                    absl::string_view field, absl::string_view row_id, absl::string_view sealed) {
      return records->OpenForYouth(id, field, row_id, sealed);
    };
  }
  ASSIGN_OR_RETURN(access::CareExport care,
                   deps_.care->ExportCare(youth.id, youth.date_of_birth, open_text));
  RETURN_IF_ERROR(Record(caller, call, req.full_export_request_id(), youth.id));
  QueueHead(caller, youth, std::move(identity), std::move(care), out);
  return absl::OkStatus();
}

absl::Status YouthExporter::Authorise(const Caller& caller, CallAudit& call,
                                      const v1::ExportYouthRequest& req, const YouthFacts& youth) {
  admin_ = caller.HasRole(v1::ROLE_ADMIN);
  ASSIGN_OR_RETURN(facts_, deps_.care->GatherFacts(caller.service_id(), youth.id));
  facts_.break_glass = false;
  facts_.break_glass_grant_id.clear();
  if (!admin_) {
    // Rule 2 as for any read (a pending accompaniment says so).
    const access::Verdict v = access::DecideRecordRead(facts_, {});
    if (!v.allowed()) return rpc::Denied(v.reason, v.explanation);
  }
  // An admin answers for the operator, not for a service: metadata only,
  // unless a platform auditor approved a full export (two persons).
  const std::string& full_id = req.full_export_request_id();
  if (!full_id.empty()) {
    if (!admin_) {
      return rpc::Denied(v1::ACCESS_REASON_ROLE_NOT_PERMITTED,
                         "only an admin names a full-export request");
    }
    RETURN_IF_ERROR(common::CheckId("full_export_request_id", full_id));
    call.event.object_id = full_id;
    // Every body of the youth at once: step-up.
    RETURN_IF_ERROR(deps_.gate->RequireRecentLogin(caller));
  }
  scope_ = !admin_ ? v1::EXPORT_SCOPE_SERVICE
                   : (full_id.empty() ? v1::EXPORT_SCOPE_METADATA : v1::EXPORT_SCOPE_FULL);
  return absl::OkStatus();
}

absl::Status YouthExporter::Record(const Caller& caller, CallAudit& call, absl::string_view full_id,
                                   absl::string_view youth_id) {
  // Audited before anything leaves; ids only.
  call.event = rpc::Allowed(std::move(call.event));
  if (scope_ == v1::EXPORT_SCOPE_FULL) {
    const absl::Time now = deps_.clock->Now();
    RETURN_IF_ERROR(deps_.db->Write([&](Connection& c) -> absl::Status {
      ASSIGN_OR_RETURN(std::optional<v1::FullExportRequest> grant,
                       store::GetFullExportRequest(c, full_id, now));
      RETURN_IF_ERROR(CheckFullExportGrant(grant, youth_id, caller.member_id()));
      RETURN_IF_ERROR(store::MarkFullExportUsed(c, full_id, now));
      return rpc::AuditAppended(deps_.gate->audit()->Append(c, call.event).status());
    }));
  } else {
    RETURN_IF_ERROR(rpc::AuditAppended(deps_.gate->audit()->AppendStandalone(call.event).status()));
  }
  call.recorded = true;
  return absl::OkStatus();
}

void YouthExporter::QueueHead(const Caller& caller, const YouthFacts& youth,
                              std::optional<v1::Youth> identity, access::CareExport care,
                              std::deque<v1::ExportYouthItem>& out) {
  youth_id_ = youth.id;
  pager_.emplace(deps_.db, youth.id);
  v1::ExportHeader* header = out.emplace_back().mutable_header();
  header->set_format_version(kExportFormatVersion);
  header->set_youth_id(youth.id);
  *header->mutable_generated_at() = common::ToProto(deps_.clock->Now());
  header->set_requested_by_service_id(caller.service_id());
  header->set_requested_by_role(admin_ ? v1::ROLE_ADMIN : v1::ROLE_COORDINATOR);
  header->set_scope(scope_);
  header->set_restricted(youth.restricted);
  if (identity.has_value()) {
    out.emplace_back().mutable_identity()->Swap(&*identity);
    ++trailer_.identities;
  }
  const bool metadata = scope_ == v1::EXPORT_SCOPE_METADATA;
  for (v1::Accompaniment& a : care.accompaniments) {
    out.emplace_back().mutable_accompaniment()->Swap(&a);
    ++trailer_.accompaniments;
  }
  for (v1::Handover& h : care.handovers) {
    if (metadata) {  // free text stays out (ExportCare left it unread)
      h.clear_reason();
      h.clear_closing_reason();
    }
    out.emplace_back().mutable_handover()->Swap(&h);
    ++trailer_.handovers;
  }
  for (v1::Consent& k : care.consents) {
    if (metadata) k.clear_receipt();  // its readable text
    out.emplace_back().mutable_consent()->Swap(&k);
    ++trailer_.consents;
  }
  for (v1::Concertation& m : care.concertations) {
    out.emplace_back().mutable_concertation()->Swap(&m);
    ++trailer_.concertations;
  }
}

std::string YouthExporter::WithheldReason(const store::SealedEntry& sealed) const {
  // A full export: every body. A coordinator gets what the access rule lets
  // their service read for coordination. A metadata export: no body.
  if (sealed.erased) {  // by retention: a tombstone, no body to open
    return rpc::ReasonCode(v1::ACCESS_REASON_RECORD_ERASED);
  }
  if (scope_ == v1::EXPORT_SCOPE_METADATA) return "export_metadata_only";
  if (scope_ == v1::EXPORT_SCOPE_FULL) return "";
  const v1::Entry& e = sealed.entry;
  const access::Verdict v = access::DecideEntryRead(
      facts_, {/*restricted=*/false, /*erased=*/false},
      {e.author_service_id(), e.visibility(), e.category()}, v1::PURPOSE_COORDINATION);
  return v.allowed() ? "" : rpc::ReasonCode(v.reason);
}

absl::Status YouthExporter::Fill(std::deque<v1::ExportYouthItem>& out) {
  if (finished_) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<store::SealedEntry> page, pager_->Next());
  if (page.empty()) {
    v1::ExportTrailer* t = out.emplace_back().mutable_trailer();
    t->set_identities(trailer_.identities);
    t->set_accompaniments(trailer_.accompaniments);
    t->set_handovers(trailer_.handovers);
    t->set_consents(trailer_.consents);
    t->set_concertations(trailer_.concertations);
    t->set_entries(trailer_.entries);
    t->set_withheld_entries(trailer_.withheld);
    finished_ = true;
    return absl::OkStatus();
  }
  std::vector<std::string> withheld(page.size());
  bool any_allowed = false;
  for (size_t i = 0; i < page.size(); ++i) {
    withheld[i] = WithheldReason(page[i]);
    any_allowed = any_allowed || withheld[i].empty();
  }
  ASSIGN_OR_RETURN(const FieldCrypto* crypto, deps_.keys->Crypto());
  std::vector<v1::ExportedEntry> entries(page.size());
  RETURN_IF_ERROR(deps_.db->Read([&](Connection& c) -> absl::Status {
    std::optional<storage::crypto::YouthKey> key;
    if (any_allowed) {
      // NOT_FOUND: erased while the export ran; the stream ends without
      // its trailer, so the client sees it is incomplete.
      ASSIGN_OR_RETURN(key, crypto->KeyFor(c, youth_id_));
    }
    for (size_t i = 0; i < page.size(); ++i) {
      if (withheld[i].empty()) {
        // Opened only once allowed; a body that does not open fails the call.
        ASSIGN_OR_RETURN(*entries[i].mutable_entry(), store::OpenEntry(*key, page[i]));
        continue;
      }
      // Metadata only: the body stays sealed (an admin's sees less still).
      *entries[i].mutable_entry() =
          scope_ == v1::EXPORT_SCOPE_METADATA ? MetadataOnly(page[i].entry) : page[i].entry;
      entries[i].set_withheld(true);
      entries[i].set_withheld_reason(withheld[i]);
    }
    return absl::OkStatus();
  }));
  for (v1::ExportedEntry& e : entries) {
    ++trailer_.entries;
    if (e.withheld()) ++trailer_.withheld;
    out.emplace_back().mutable_entry()->Swap(&e);
  }
  return absl::OkStatus();
}

}  // namespace relais::record
