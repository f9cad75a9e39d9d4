#include "services/record/youth_export.h"

#include <deque>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "access/policy.h"
#include "services/common/stream_reactor.h"

namespace relais::record {

using rpc::Caller;
using rpc::CallAudit;
using storage::Connection;

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

// One ExportYouth call (streamed by rpc::StreamReactor). Authorises, gathers
// the small parts (identity, care) and audits first, then reads the next page
// of entries only when the previous one has been sent.
class YouthExportSource final : public rpc::StreamSource<v1::ExportYouthItem> {
 public:
  YouthExportSource(ExportDeps deps, const v1::ExportYouthRequest& req) : deps_(deps), req_(req) {}

  absl::Status Begin(grpc::CallbackServerContext* ctx,
                     std::deque<v1::ExportYouthItem>& out) override {
    // A refused token is audited with the youth id too (when it is a
    // plausible id), so the youth's access report shows the attempt.
    const bool id_ok = rpc::CheckId("youth_id", req_.youth_id()).ok();
    RETURN_IF_ERROR(rpc::BeginStream(*deps_.gate, ctx, v1::ACTION_EXPORT_YOUTH,
                                     id_ok ? req_.youth_id() : "",
                                     [&](const Caller& caller, CallAudit& call) {
                                       return Authorise(caller, call, req_);
                                     }));
    out.swap(queue_);
    return absl::OkStatus();
  }

  absl::Status Fill(std::deque<v1::ExportYouthItem>& out) override {
    RETURN_IF_ERROR(FillPage());
    out.swap(queue_);
    return absl::OkStatus();
  }

 private:
  absl::Status Authorise(const Caller& caller, CallAudit& call, const v1::ExportYouthRequest& req) {
    call.event.youth_id = req.youth_id();
    // Not an emergency need: break-the-glass never admits an export.
    RETURN_IF_ERROR(deps_.gate->RequireRole(caller, "RecordService.ExportYouth"));
    RETURN_IF_ERROR(rpc::CheckId("youth_id", req.youth_id()));
    if (deps_.crypto == nullptr) {
      return rpc::Precondition("no_master_key", "the record service has no master key");
    }
    // NOT_FOUND "erased" / "youth_not_found" like every other call.
    ASSIGN_OR_RETURN(YouthFacts youth, deps_.records->GetYouthFacts(req.youth_id()));
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
      RETURN_IF_ERROR(rpc::CheckId("full_export_request_id", full_id));
      call.event.object_id = full_id;
      // Every body of the youth at once: step-up.
      RETURN_IF_ERROR(deps_.gate->RequireRecentLogin(caller));
    }
    scope_ = !admin_ ? v1::EXPORT_SCOPE_SERVICE
                     : (full_id.empty() ? v1::EXPORT_SCOPE_METADATA : v1::EXPORT_SCOPE_FULL);
    // A restricted record is exported all the same (art. 18 does not limit
    // the data subject's own access); the header says so. A metadata export
    // opens nothing: no identity.
    std::optional<v1::Youth> identity;
    if (scope_ != v1::EXPORT_SCOPE_METADATA) {
      RETURN_IF_ERROR(deps_.db->Read([&](Connection& c) -> absl::Status {
        ASSIGN_OR_RETURN(identity, store::GetYouth(c, *deps_.crypto, youth.id));
        return absl::OkStatus();
      }));
      if (!identity.has_value()) return rpc::NotFound("youth_not_found", "no such youth record");
    }
    // A metadata export opens nothing: handover reasons stay sealed, unread.
    access::CareFacts::TextOpener open_text;
    if (scope_ != v1::EXPORT_SCOPE_METADATA) {
      open_text = [records = deps_.records, id = youth.id](absl::string_view field,
                                                          absl::string_view row_id,
                                                          absl::string_view sealed) {
        return records->OpenForYouth(id, field, row_id, sealed);
      };
    }
    ASSIGN_OR_RETURN(access::CareExport care,
                     deps_.care->ExportCare(youth.id, youth.date_of_birth, open_text));

    // Audited before anything leaves; ids only. A full export uses its
    // approved request in the same transaction, once.
    call.event.decision = v1::DECISION_ALLOW;
    call.event.reason = v1::ACCESS_REASON_ALLOWED;
    call.event.reason_code = "allowed";
    if (scope_ == v1::EXPORT_SCOPE_FULL) {
      const absl::Time now = deps_.clock->Now();
      RETURN_IF_ERROR(deps_.db->Write([&](Connection& c) -> absl::Status {
        ASSIGN_OR_RETURN(std::optional<v1::FullExportRequest> grant,
                         store::GetFullExportRequest(c, full_id, now));
        if (!grant.has_value() || grant->youth_id() != youth.id ||
            grant->requested_by_member_id() != caller.member_id()) {
          return rpc::NotFound("export_request_not_found",
                               "no full-export request of this admin for this youth");
        }
        switch (grant->state()) {
          case v1::FULL_EXPORT_STATE_APPROVED: break;
          case v1::FULL_EXPORT_STATE_USED:
            return rpc::Precondition("export_request_used",
                                     "the full-export request was used already");
          case v1::FULL_EXPORT_STATE_EXPIRED:
            return rpc::Precondition("export_request_expired",
                                     "the full-export approval is older than 24 hours");
          default:
            return rpc::Precondition("export_request_not_approved",
                                     "a platform auditor has not approved the full export");
        }
        RETURN_IF_ERROR(store::MarkFullExportUsed(c, full_id, now));
        return deps_.gate->audit()->Append(c, call.event).status();
      }));
    } else {
      RETURN_IF_ERROR(deps_.gate->audit()->AppendStandalone(call.event).status());
    }
    call.recorded = true;

    youth_id_ = youth.id;
    pager_.emplace(deps_.db, youth.id);
    v1::ExportHeader* header = queue_.emplace_back().mutable_header();
    header->set_format_version(kExportFormatVersion);
    header->set_youth_id(youth.id);
    *header->mutable_generated_at() = rpc::ToProto(deps_.clock->Now());
    header->set_requested_by_service_id(caller.service_id());
    header->set_requested_by_role(admin_ ? v1::ROLE_ADMIN : v1::ROLE_COORDINATOR);
    header->set_scope(scope_);
    header->set_restricted(youth.restricted);
    if (identity.has_value()) {
      queue_.emplace_back().mutable_identity()->Swap(&*identity);
      ++trailer_.identities;
    }
    const bool metadata = scope_ == v1::EXPORT_SCOPE_METADATA;
    for (v1::Accompaniment& a : care.accompaniments) {
      queue_.emplace_back().mutable_accompaniment()->Swap(&a);
      ++trailer_.accompaniments;
    }
    for (v1::Handover& h : care.handovers) {
      if (metadata) {  // free text stays out (ExportCare left it unread)
        h.clear_reason();
        h.clear_closing_reason();
      }
      queue_.emplace_back().mutable_handover()->Swap(&h);
      ++trailer_.handovers;
    }
    for (v1::Consent& k : care.consents) {
      if (metadata) k.clear_receipt();  // its readable text
      queue_.emplace_back().mutable_consent()->Swap(&k);
      ++trailer_.consents;
    }
    return absl::OkStatus();
  }

  // Queues the next page of entries, or the trailer once they are all sent.
  absl::Status FillPage() {
    if (finished_) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<store::SealedEntry> page, pager_->Next());
    if (page.empty()) {
      v1::ExportTrailer* t = queue_.emplace_back().mutable_trailer();
      t->set_identities(trailer_.identities);
      t->set_accompaniments(trailer_.accompaniments);
      t->set_handovers(trailer_.handovers);
      t->set_consents(trailer_.consents);
      t->set_entries(trailer_.entries);
      t->set_withheld_entries(trailer_.withheld);
      finished_ = true;
      return absl::OkStatus();
    }
    // A full export: every body. A coordinator gets what the access rule lets
    // their service read for coordination. A metadata export: no body.
    std::vector<std::string> withheld(page.size());
    bool any_allowed = false;
    for (size_t i = 0; i < page.size(); ++i) {
      if (page[i].erased) {  // by retention: a tombstone, no body to open
        withheld[i] = rpc::ReasonCode(v1::ACCESS_REASON_RECORD_ERASED);
        continue;
      }
      if (scope_ == v1::EXPORT_SCOPE_METADATA) {
        withheld[i] = "export_metadata_only";
        continue;
      }
      if (scope_ == v1::EXPORT_SCOPE_FULL) {
        any_allowed = true;
        continue;
      }
      const v1::Entry& e = page[i].entry;
      access::Verdict v = access::DecideEntryRead(
          facts_, {/*restricted=*/false, /*erased=*/false},
          {e.author_service_id(), e.visibility(), e.category()}, v1::PURPOSE_COORDINATION);
      if (v.allowed()) {
        any_allowed = true;
      } else {
        withheld[i] = rpc::ReasonCode(v.reason);
      }
    }
    std::vector<v1::ExportedEntry> out(page.size());
    RETURN_IF_ERROR(deps_.db->Read([&](Connection& c) -> absl::Status {
      std::optional<storage::crypto::YouthKey> key;
      if (any_allowed) {
        // NOT_FOUND: erased while the export ran; the stream ends without
        // its trailer, so the client sees it is incomplete.
        ASSIGN_OR_RETURN(key, deps_.crypto->KeyFor(c, youth_id_));
      }
      for (size_t i = 0; i < page.size(); ++i) {
        if (withheld[i].empty()) {
          // Opened only once allowed; a body that does not open fails the call.
          ASSIGN_OR_RETURN(*out[i].mutable_entry(), store::OpenEntry(*key, page[i]));
        } else if (scope_ == v1::EXPORT_SCOPE_METADATA) {
          *out[i].mutable_entry() = MetadataOnly(page[i].entry);
          out[i].set_withheld(true);
          out[i].set_withheld_reason(withheld[i]);
        } else {
          *out[i].mutable_entry() = page[i].entry;  // metadata only: the body stays sealed
          out[i].set_withheld(true);
          out[i].set_withheld_reason(withheld[i]);
        }
      }
      return absl::OkStatus();
    }));
    for (v1::ExportedEntry& e : out) {
      ++trailer_.entries;
      if (e.withheld()) ++trailer_.withheld;
      queue_.emplace_back().mutable_entry()->Swap(&e);
    }
    return absl::OkStatus();
  }

  struct Counts {
    int identities = 0;
    int accompaniments = 0;
    int handovers = 0;
    int consents = 0;
    int entries = 0;
    int withheld = 0;
  };

  const ExportDeps deps_;
  const v1::ExportYouthRequest req_;
  bool admin_ = false;
  v1::ExportScope scope_ = v1::EXPORT_SCOPE_UNSPECIFIED;
  access::AccessFacts facts_;  // the caller's service, without emergency grant
  std::string youth_id_;
  std::optional<EntryPager> pager_;
  bool finished_ = false;  // trailer queued
  Counts trailer_;
  std::deque<v1::ExportYouthItem> queue_;  // handed to the reactor by Begin() and Fill()
};

}  // namespace

grpc::ServerWriteReactor<v1::ExportYouthItem>* StartYouthExport(
    ExportDeps deps, grpc::CallbackServerContext* ctx, const v1::ExportYouthRequest& req) {
  return rpc::StartStream<v1::ExportYouthItem>(
      ctx, std::make_unique<YouthExportSource>(deps, req), "export interrupted");
}

}  // namespace relais::record
