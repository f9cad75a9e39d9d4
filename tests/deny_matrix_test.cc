// The deny matrix (issue #3, item 5): every RPC of every relais.v1 service,
// called by every kind of principal that must be refused (and by the few that
// may go ahead), through one generic code path. Each answer is compared with
// the expectation table below, written from DESIGN.md's access rule (not
// derived from the server), and each decision is then found in the audit log
// by the x-request-id the call carried.
//
// The columns are the principals of the issue (no, expired and forged token;
// a member of an unrelated service; an auditor; a caseworker without
// accompaniment; one with an accompaniment but no consent; a restricted
// record), plus the coordinator on that restricted record, without whom the
// coordinators' writes would never get past rule 1 on it. The record is
// restricted through RecordService.RestrictYouth (in the database if the
// server did not implement it).
//
// The RPCs are enumerated at run time, from the generated descriptors of the
// five services (and any other service declared in their relais.v1 files) and
// from the server's own reflection service: an RPC without a row fails the
// test, and so does a row naming an RPC that no longer exists. Rows run in
// table order, so rows whose success changes what a column may do later
// (break-the-glass, ending an accompaniment, erasure) come last.

#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "auth/base64url.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "relais/v1/admin.grpc.pb.h"
#include "services/common/rpc.h"
#include "tests/tamper.h"
#include "tests/test_env.h"

namespace relais::testing {
namespace {

using ::grpc::StatusCode;

// ---- The principals: the columns of the matrix ------------------------------

enum Principal {
  // No authorization metadata at all.
  kNoToken,
  // amo.camille's token, issued an hour before the calls (tokens live 15 minutes).
  kExpiredToken,
  // A valid amo.camille token with one byte of its signature flipped.
  kForgedToken,
  // pms.pauline: caseworker of a PMS centre (another sector), no link with the youth.
  kUnrelatedService,
  // dpo: auditor of the AGAJ.
  kAuditorPrincipal,
  // saj.sam: the youth consented to share with the SAJ and the AMO proposed a
  // handover to it, not yet accepted: consent, but no accompaniment.
  kNoAccompaniment,
  // ssm.cw: caseworker of a mental-health service that accompanies the youth,
  // with no consent of the youth covering it.
  kNoConsent,
  // amo.camille (her service accompanies the youth, wrote its entries and is
  // covered by a consent) on a record whose processing is restricted (art. 18).
  kRestrictedRecord,
  // amo.coord, her coordinator, on the same restricted record: the only column
  // that gets past the role check of the coordinators' writes (accompaniments,
  // handover decisions, restriction, erasure), so that rule 4 is tried there too.
  kRestrictedCoordinator,
  kPrincipalCount
};

constexpr const char* kPrincipalNames[kPrincipalCount] = {
    "no token",
    "expired token",
    "forged token",
    "unrelated service (PMS caseworker)",
    "auditor",
    "caseworker without accompaniment (SAJ)",
    "caseworker with accompaniment, without consent (mental health)",
    "restricted record (AMO caseworker)",
    "restricted record (AMO coordinator)"};

// ---- The cells --------------------------------------------------------------

struct Cell {
  StatusCode code;
  // The reason code: ErrorDetail.reason of an error; "allowed" for a success,
  // or the reason_code of the answer when the RPC explains a decision
  // (CheckAccess answers OK and explains a denial).
  const char* reason;
  // Whether the call leaves an event (with its request id) in the audit log.
  bool audited = true;
};

constexpr Cell Ok{StatusCode::OK, "allowed"};
// No valid token: rule 1 fails before anything else is looked at.
constexpr Cell Missing{StatusCode::UNAUTHENTICATED, "token_missing"};
constexpr Cell Expired{StatusCode::UNAUTHENTICATED, "token_expired"};
constexpr Cell Forged{StatusCode::UNAUTHENTICATED, "token_signature_invalid"};
// Rule 1: the role does not allow the action.
constexpr Cell Role{StatusCode::PERMISSION_DENIED, "role_not_permitted"};
// Rule 2: the caller's service does not accompany the youth.
constexpr Cell NoAcc{StatusCode::PERMISSION_DENIED, "no_active_accompaniment"};
// Rule 3: no consent of the youth covers the caller's service.
constexpr Cell NoConsent{StatusCode::PERMISSION_DENIED, "no_consent"};
// Rule 4: a restricted record cannot change.
constexpr Cell Restricted{StatusCode::PERMISSION_DENIED, "record_restricted"};
// Four eyes: the requester's own service may not approve.
constexpr Cell SeparationOfDuties{StatusCode::PERMISSION_DENIED, "separation_of_duties"};
// The other party of the handover must do this.
constexpr Cell WrongService{StatusCode::PERMISSION_DENIED, "wrong_service"};
// A handover the caller's service is no party to is not revealed to exist
// (like another service's private entry); the refusal is still audited.
constexpr Cell NoSuchHandover{StatusCode::NOT_FOUND, "handover_not_found"};
// Likewise a concertation meeting the caller's service was not invited to.
constexpr Cell NoSuchConcertation{StatusCode::NOT_FOUND, "concertation_not_found"};
// Login with a wrong password, whatever token the metadata carries.
constexpr Cell BadLogin{StatusCode::UNAUTHENTICATED, "invalid_credentials"};
// CheckAccess answers OK and explains the decision, which is what is audited.
constexpr Cell ExplainsNoAcc{StatusCode::OK, "no_active_accompaniment"};
constexpr Cell ExplainsNoConsent{StatusCode::OK, "no_consent"};
// Public data, not audited by design (AuthService.PublicKeys).
constexpr Cell Public{StatusCode::OK, "allowed", /*audited=*/false};
// A protocol that does not concern the caller's service and roles.
constexpr Cell NotConcerned{StatusCode::PERMISSION_DENIED, "not_concerned"};

// ---- The rows: one per RPC ----------------------------------------------------

struct Row {
  const char* service;  // in package relais.v1
  const char* method;
  // The action its audit event names (a relais.v1.Action value name).
  const char* action;
  // The request, in protobuf text format, with placeholders filled per column:
  // $YOUTH, $NATIONAL_NUMBER, $ENTRY, $HANDOVER (AMO -> SAJ, proposed),
  // $CONSENT (a consent that can be withdrawn), $ACCOMPANIMENT (the AMO's),
  // $MEMBER / $OWN_SERVICE (the caller's), $LOGIN, $TARGET_SERVICE (a CPAS no
  // one hands over to yet), $SPARE_MEMBER, $GRANT (an emergency grant to
  // review), $PENDING (another service's pending accompaniment), $ERASURE (an
  // erasure request to approve and cancel), $FULL_EXPORT (an admin's
  // full-export request), $CONVENTION / $PROTOCOL (PartnershipService's),
  // $CONCERTATION (the AMO's meeting on $HANDOVER), $AMO_SERVICE, $SSM_SERVICE,
  // $NOW / $END (seconds), $COL.
  const char* request;
  // In the order of Principal.
  Cell cells[kPrincipalCount];
  // The call ends the token it presents (Refresh rotates it, Logout revokes
  // it): each column holding a valid token presents a fresh one instead.
  bool own_token = false;
};

// clang-format off
const Row kMatrix[] = {
  // Columns: no token, expired, forged, PMS (unrelated), auditor,
  //          SAJ (no accompaniment), mental health (no consent), restricted record,
  //          and on the next line: the coordinator on the restricted record.

  // --- DirectoryService: admin manages, every member reads.
  {"DirectoryService", "CreateSector", "ACTION_MANAGE_DIRECTORY",
   R"pb(sector { id: "dm_sector_$COL" name: "Secteur $COL" })pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Role}},
  {"DirectoryService", "ListSectors", "ACTION_READ_DIRECTORY", "",
   {Missing, Expired, Forged, Ok, Ok, Ok, Ok, Ok,
    Ok}},
  {"DirectoryService", "CreateService", "ACTION_MANAGE_DIRECTORY",
   R"pb(service { name: "Service $COL" sector_id: "aide_jeunesse" kind: "AMO" })pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Role}},
  {"DirectoryService", "ListServices", "ACTION_READ_DIRECTORY", "page_size: 10",
   {Missing, Expired, Forged, Ok, Ok, Ok, Ok, Ok,
    Ok}},
  // Admin, or a coordinator of that service: no caseworker, no auditor.
  {"DirectoryService", "AddMember", "ACTION_MANAGE_DIRECTORY",
   R"pb(member { service_id: "$OWN_SERVICE" display_name: "Nouveau membre" login: "dm.new.$COL"
               roles: ROLE_CASEWORKER })pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  {"DirectoryService", "RemoveMember", "ACTION_MANAGE_DIRECTORY",
   R"pb(member_id: "$SPARE_MEMBER")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  {"DirectoryService", "SetMemberRoles", "ACTION_MANAGE_DIRECTORY",
   R"pb(member_id: "$SPARE_MEMBER" roles: ROLE_CASEWORKER)pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  // Same callers as SetMemberRoles (the coordinator's token is fresh: step-up passes).
  {"DirectoryService", "ResetPassword", "ACTION_RESET_PASSWORD",
   R"pb(member_id: "$SPARE_MEMBER")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  {"DirectoryService", "Glossary", "ACTION_READ_DIRECTORY", "",
   {Missing, Expired, Forged, Ok, Ok, Ok, Ok, Ok,
    Ok}},
  // A coordinator describes their own service (the only column that may).
  {"DirectoryService", "UpdateServiceProfile", "ACTION_MANAGE_DIRECTORY",
   R"pb(service_id: "$OWN_SERVICE"
        profile { mission: "Mission $COL" offer: "Offre" min_age: 12 max_age: 18
                  needs: "school_dropout" communes: "Charleroi" contact: "accueil@x.example" })pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  {"DirectoryService", "SearchServices", "ACTION_READ_DIRECTORY",
   R"pb(need: "school_dropout" commune: "charleroi" age: 15)pb",
   {Missing, Expired, Forged, Ok, Ok, Ok, Ok, Ok,
    Ok}},
  {"DirectoryService", "DefineTerm", "ACTION_MANAGE_DIRECTORY",
   R"pb(definition { term: "terme $COL" sector_id: "aide_jeunesse" text: "Définition." })pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Role}},

  // --- AuthService: Login and PublicKeys need no token by design.
  // Every column logs in with its own login (or an unknown one) and a wrong
  // password: the token in the metadata changes nothing.
  {"AuthService", "Login", "ACTION_LOGIN",
   R"pb(login: "$LOGIN" password: "not-the-password-$COL")pb",
   {BadLogin, BadLogin, BadLogin, BadLogin, BadLogin, BadLogin, BadLogin, BadLogin,
    BadLogin}},
  // Like Login: the current password, not a token, says who calls.
  {"AuthService", "ChangePassword", "ACTION_CHANGE_PASSWORD",
   R"pb(login: "$LOGIN" current_password: "not-the-password-$COL"
        new_password: "un-nouveau-mot-de-passe-$COL")pb",
   {BadLogin, BadLogin, BadLogin, BadLogin, BadLogin, BadLogin, BadLogin, BadLogin,
    BadLogin}},
  // Any member may exchange a valid token for a fresh one.
  {"AuthService", "Refresh", "ACTION_LOGIN", "",
   {Missing, Expired, Forged, Ok, Ok, Ok, Ok, Ok,
    Ok}, /*own_token=*/true},
  {"AuthService", "PublicKeys", "ACTION_UNSPECIFIED", "",
   {Public, Public, Public, Public, Public, Public, Public, Public,
    Public}},
  // Any member ends their own session.
  {"AuthService", "Logout", "ACTION_LOGOUT", "",
   {Missing, Expired, Forged, Ok, Ok, Ok, Ok, Ok,
    Ok}, /*own_token=*/true},
  // An admin, or a coordinator of the member's service (the AMO's here).
  {"AuthService", "UnlockAccount", "ACTION_UNLOCK_ACCOUNT",
   R"pb(member_id: "$SPARE_MEMBER")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},

  // --- RecordService: caseworkers and coordinators, never auditors.
  // Any caseworker may open a record or look one up by national number (the
  // answer is an id only); seeing it needs an accompaniment.
  {"RecordService", "CreateYouth", "ACTION_CREATE_YOUTH",
   R"pb(youth { display_name: "Jeune $COL" date_of_birth: "2012-05-01" })pb",
   {Missing, Expired, Forged, Ok, Role, Ok, Ok, Ok,
    Ok}},
  {"RecordService", "FindYouth", "ACTION_FIND_YOUTH",
   R"pb(national_number: "$NATIONAL_NUMBER")pb",
   {Missing, Expired, Forged, Ok, Role, Ok, Ok, Ok,
    Ok}},
  // Reads: rules 1 and 2; a restricted record stays readable.
  {"RecordService", "GetYouth", "ACTION_READ_YOUTH",
   R"pb(youth_id: "$YOUTH" purpose: PURPOSE_COORDINATION)pb",
   {Missing, Expired, Forged, NoAcc, Role, NoAcc, Ok, Ok,
    Ok}},
  // Writes: rules 1, 2 and no restriction.
  {"RecordService", "AddEntry", "ACTION_ADD_ENTRY",
   R"pb(entry { youth_id: "$YOUTH" kind: ENTRY_KIND_NOTE category: DATA_CATEGORY_GENERAL
              visibility: VISIBILITY_SHARED body: "Note de suivi $COL" })pb",
   {Missing, Expired, Forged, NoAcc, Role, NoAcc, Ok, Restricted,
    Restricted}},
  // A listing answers what may be read and counts what was withheld.
  {"RecordService", "ListEntries", "ACTION_LIST_ENTRIES",
   R"pb(youth_id: "$YOUTH" purpose: PURPOSE_COORDINATION)pb",
   {Missing, Expired, Forged, NoAcc, Role, NoAcc, Ok, Ok,
    Ok}},
  // $ENTRY is the AMO's shared general entry: rule 3 for everyone but the AMO.
  {"RecordService", "GetEntry", "ACTION_READ_ENTRY",
   R"pb(entry_id: "$ENTRY" purpose: PURPOSE_COORDINATION)pb",
   {Missing, Expired, Forged, NoAcc, Role, NoAcc, NoConsent, Ok,
    Ok}},
  // GDPR art. 18 / 17: coordinators of an accompanying service or admins
  // (legal holds: admins only). Restricting again is an idempotent success.
  {"RecordService", "RestrictYouth", "ACTION_RESTRICT_YOUTH",
   R"pb(youth_id: "$YOUTH" reason: "Demande de limitation (art. 18)")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  {"RecordService", "SetLegalHold", "ACTION_SET_LEGAL_HOLD",
   R"pb(youth_id: "$YOUTH" reason: "Réquisition judiciaire")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Role}},
  {"RecordService", "LiftLegalHold", "ACTION_LIFT_LEGAL_HOLD",
   R"pb(youth_id: "$YOUTH" reason: "Fin de la réquisition")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Role}},

  // --- CareService.
  // Accompaniments are opened and ended by coordinators.
  {"CareService", "OpenAccompaniment", "ACTION_OPEN_ACCOMPANIMENT",
   R"pb(youth_id: "$YOUTH" referent_member_id: "$MEMBER" basis: ACCOMPANIMENT_BASIS_VOLUNTARY)pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Restricted}},
  // Vouching (issue #10) is a coordinator's of a service that accompanies
  // the youth; no column but the last is a coordinator, and its record is restricted.
  {"CareService", "ConfirmAccompaniment", "ACTION_CONFIRM_ACCOMPANIMENT",
   R"pb(accompaniment_id: "$PENDING")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Restricted}},
  {"CareService", "DeclineAccompaniment", "ACTION_DECLINE_ACCOMPANIMENT",
   R"pb(accompaniment_id: "$PENDING")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Restricted}},
  {"CareService", "ListPendingAccompaniments", "ACTION_READ_CARE", "",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  // A coordinator's own service's youths and expiring consents (issue #16):
  // scoped to the caller's service, so nothing to name; coordinators only.
  {"CareService", "ListServiceAccompaniments", "ACTION_READ_CARE", "",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  {"CareService", "ListExpiringConsents", "ACTION_READ_CARE", R"pb(within_days: 30)pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  {"CareService", "ListAccompaniments", "ACTION_READ_CARE",
   R"pb(youth_id: "$YOUTH")pb",
   {Missing, Expired, Forged, NoAcc, Role, NoAcc, Ok, Ok,
    Ok}},
  // A proposal is a write by the accompanying service.
  {"CareService", "ProposeHandover", "ACTION_PROPOSE_HANDOVER",
   R"pb(youth_id: "$YOUTH" to_service_id: "$TARGET_SERVICE" reason: "Relais vers le CPAS"
      overlap_start { seconds: $NOW } overlap_end { seconds: $END })pb",
   {Missing, Expired, Forged, NoAcc, Role, NoAcc, Ok, Restricted,
    Restricted}},
  // Accept, decline and complete are the coordinators'.
  {"CareService", "AcceptHandover", "ACTION_ACCEPT_HANDOVER",
   R"pb(handover_id: "$HANDOVER" referent_member_id: "$MEMBER")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    WrongService}},
  {"CareService", "DeclineHandover", "ACTION_DECLINE_HANDOVER",
   R"pb(handover_id: "$HANDOVER" reason: "Pas de place")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    WrongService}},
  // Cancel is the proposing service's; the receiving SAJ is the wrong party.
  {"CareService", "CancelHandover", "ACTION_CANCEL_HANDOVER",
   R"pb(handover_id: "$HANDOVER" reason: "Proposition retirée")pb",
   {Missing, Expired, Forged, NoSuchHandover, Role, WrongService, NoSuchHandover, Restricted,
    Restricted}},
  {"CareService", "CompleteHandover", "ACTION_COMPLETE_HANDOVER",
   R"pb(handover_id: "$HANDOVER")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Restricted}},
  // Either party reads a handover (the SAJ must see what it is asked to accept).
  {"CareService", "GetHandover", "ACTION_READ_CARE",
   R"pb(handover_id: "$HANDOVER")pb",
   {Missing, Expired, Forged, NoSuchHandover, Role, Ok, NoSuchHandover, Ok,
    Ok}},
  // Handovers involving the caller's own service (none for the PMS: empty).
  {"CareService", "ListHandovers", "ACTION_READ_CARE",
   R"pb(youth_id: "$YOUTH")pb",
   {Missing, Expired, Forged, Ok, Role, Ok, Ok, Ok,
    Ok}},
  // Any accompanying service schedules (the SSM invites the AMO); the
  // restricted record takes no new meeting.
  {"CareService", "ScheduleConcertation", "ACTION_SCHEDULE_CONCERTATION",
   R"pb(youth_id: "$YOUTH" scheduled_at { seconds: $END }
        invited_service_ids: "$AMO_SERVICE" invited_service_ids: "$SSM_SERVICE")pb",
   {Missing, Expired, Forged, NoAcc, Role, NoAcc, Ok, Restricted,
    Restricted}},
  // Only the organizing service (the AMO) records the outcome; the SAJ is
  // invited, the others do not learn that the meeting exists.
  {"CareService", "RecordConcertation", "ACTION_RECORD_CONCERTATION",
   R"pb(concertation_id: "$CONCERTATION" outcome: CONCERTATION_STATE_CANCELLED)pb",
   {Missing, Expired, Forged, NoSuchConcertation, Role, WrongService, NoSuchConcertation,
    Restricted, Restricted}},
  // The SAJ, invited to the handover's meeting, sees it before it accompanies.
  {"CareService", "ListConcertations", "ACTION_READ_CARE",
   R"pb(youth_id: "$YOUTH")pb",
   {Missing, Expired, Forged, NoAcc, Role, Ok, Ok, Ok,
    Ok}},
  // Recording a consent is a write by an accompanying service.
  {"CareService", "GrantConsent", "ACTION_GRANT_CONSENT",
   R"pb(consent { youth_id: "$YOUTH" giver: CONSENT_GIVER_YOUTH
                recipients { sector_id: "prevention" }
                categories: DATA_CATEGORY_EDUCATION purposes: PURPOSE_COORDINATION
                valid_until { seconds: $END } })pb",
   {Missing, Expired, Forged, NoAcc, Role, NoAcc, Ok, Restricted,
    Restricted}},
  // Withdrawal narrows sharing: it is the youth's right at any time (GDPR
  // art. 7(3)) and is honoured on a restricted record too.
  {"CareService", "WithdrawConsent", "ACTION_WITHDRAW_CONSENT",
   R"pb(consent_id: "$CONSENT")pb",
   {Missing, Expired, Forged, NoAcc, Role, NoAcc, Ok, Ok,
    Ok}},
  {"CareService", "ListConsents", "ACTION_READ_CARE",
   R"pb(youth_id: "$YOUTH")pb",
   {Missing, Expired, Forged, NoAcc, Role, NoAcc, Ok, Ok,
    Ok}},
  // The receipt of a consent (issue #4 item 4): read like ListConsents.
  {"CareService", "GetConsentReceipt", "ACTION_READ_CARE",
   R"pb(consent_id: "$CONSENT")pb",
   {Missing, Expired, Forged, NoAcc, Role, NoAcc, Ok, Ok,
    Ok}},
  // Explains (and audits) the decision the caller would get on $ENTRY.
  {"CareService", "CheckAccess", "ACTION_CHECK_ACCESS",
   R"pb(youth_id: "$YOUTH" entry_id: "$ENTRY" purpose: PURPOSE_COORDINATION)pb",
   {Missing, Expired, Forged, ExplainsNoAcc, Role, ExplainsNoAcc, ExplainsNoConsent, Ok,
    Ok}},

  // --- AuditService: auditors (and, for one youth's access report, the
  // coordinators of a service accompanying it).
  {"AuditService", "QueryEvents", "ACTION_QUERY_AUDIT",
   R"pb(youth_id: "$YOUTH" page_size: 5)pb",
   {Missing, Expired, Forged, Role, Ok, Role, Role, Role,
    Role}},
  {"AuditService", "AccessReport", "ACTION_ACCESS_REPORT",
   R"pb(youth_id: "$YOUTH")pb",
   {Missing, Expired, Forged, Role, Ok, Role, Role, Role,
    Ok}},
  {"AuditService", "VerifyLog", "ACTION_VERIFY_AUDIT", "",
   {Missing, Expired, Forged, Role, Ok, Role, Role, Role,
    Role}},
  // Server streaming.
  {"AuditService", "ExportEvents", "ACTION_EXPORT_AUDIT", "from_sequence: 0",
   {Missing, Expired, Forged, Role, Ok, Role, Role, Role,
    Role}},
  // GDPR export (art. 15/20), server streaming: coordinators of an
  // accompanying service or admins; a restricted record is still exported
  // (art. 18 does not limit the data subject's own access).
  {"RecordService", "ExportYouth", "ACTION_EXPORT_YOUTH", R"pb(youth_id: "$YOUTH")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  // Server streaming; admins only (no column is an admin): the whole database.
  {"AdminService", "BackupDatabase", "ACTION_BACKUP", "",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Role}},

  // --- PartnershipService (issue #14): coordinators bind their own service;
  // every member reads the terms (nothing about a youth). $CONVENTION is one
  // between the SAJ and the AMO that the SAJ proposed; $PROTOCOL is the AMO's,
  // for its caseworkers and coordinators.
  {"PartnershipService", "ProposeConvention", "ACTION_PROPOSE_CONVENTION",
   R"pb(convention { title: "Convention $COL" purpose: "Coordination"
                    party_service_ids: "$OWN_SERVICE" party_service_ids: "$TARGET_SERVICE"
                    scope { categories: DATA_CATEGORY_GENERAL purposes: PURPOSE_COORDINATION
                            max_overlap_days: 30 }
                    start_time { seconds: $NOW } end_time { seconds: $END }
                    review_time { seconds: $END } })pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  {"PartnershipService", "SignConvention", "ACTION_SIGN_CONVENTION",
   R"pb(convention_id: "$CONVENTION")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  {"PartnershipService", "ReviewConvention", "ACTION_REVIEW_CONVENTION",
   R"pb(convention_id: "$CONVENTION" next_review_time { seconds: $END })pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  {"PartnershipService", "GetConvention", "ACTION_READ_PARTNERSHIP",
   R"pb(convention_id: "$CONVENTION")pb",
   {Missing, Expired, Forged, Ok, Ok, Ok, Ok, Ok,
    Ok}},
  {"PartnershipService", "ListConventions", "ACTION_READ_PARTNERSHIP", "due_within_days: 30",
   {Missing, Expired, Forged, Ok, Ok, Ok, Ok, Ok,
    Ok}},
  {"PartnershipService", "CreateProtocol", "ACTION_PUBLISH_PROTOCOL",
   R"pb(protocol { title: "Protocole $COL" service_ids: "$OWN_SERVICE" roles: ROLE_CASEWORKER
                  review_time { seconds: $END } }
        first_version { summary: "Première version" link: "https://example.org/p" })pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  // The field acknowledges what concerns its service and role.
  {"PartnershipService", "AcknowledgeProtocol", "ACTION_ACKNOWLEDGE_PROTOCOL",
   R"pb(protocol_id: "$PROTOCOL" version: 1)pb",
   {Missing, Expired, Forged, NotConcerned, Role, NotConcerned, NotConcerned, Ok,
    Ok}},
  {"PartnershipService", "PublishProtocolVersion", "ACTION_PUBLISH_PROTOCOL",
   R"pb(protocol_id: "$PROTOCOL" version { summary: "V2" link: "https://example.org/p2" }
        review_time { seconds: $END })pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  {"PartnershipService", "GetProtocol", "ACTION_READ_PARTNERSHIP",
   R"pb(protocol_id: "$PROTOCOL")pb",
   {Missing, Expired, Forged, Ok, Ok, Ok, Ok, Ok,
    Ok}},
  {"PartnershipService", "ListProtocols", "ACTION_READ_PARTNERSHIP", "",
   {Missing, Expired, Forged, Ok, Ok, Ok, Ok, Ok,
    Ok}},
  {"PartnershipService", "ProtocolCoverage", "ACTION_READ_PARTNERSHIP",
   R"pb(protocol_id: "$PROTOCOL")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  // Ends the convention for both parties: after its other rows.
  {"PartnershipService", "TerminateConvention", "ACTION_TERMINATE_CONVENTION",
   R"pb(convention_id: "$CONVENTION" reason: "Fin du partenariat")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},

  // --- InboxService (issue #14): every member reads their own inbox (an
  // auditor's or an unrelated service's may be empty); the newcomer's view is
  // the field's. Watch asks to stop once caught up, so the call ends.
  {"InboxService", "ListInbox", "ACTION_READ_INBOX", "",
   {Missing, Expired, Forged, Ok, Ok, Ok, Ok, Ok,
    Ok}},
  {"InboxService", "Watch", "ACTION_READ_INBOX", "until_caught_up: true",
   {Missing, Expired, Forged, Ok, Ok, Ok, Ok, Ok,
    Ok}},
  {"InboxService", "Orientation", "ACTION_READ_INBOX", "",
   {Missing, Expired, Forged, Ok, Role, Ok, Ok, Ok,
    Ok}},

  // --- Break-the-glass (issue #4 item 3), after every read row: a grant
  // changes what its opener may read. A caseworker of a service that
  // accompanies the youth (vouched; issue #10) may open one (justified,
  // time-limited, reviewed), but never on a restricted record.
  {"CareService", "OpenEmergencyAccess", "ACTION_OPEN_EMERGENCY_ACCESS",
   R"pb(youth_id: "$YOUTH" justification: "Urgence: fugue signalée, colonne $COL")pb",
   {Missing, Expired, Forged, NoAcc, Role, NoAcc, Ok, Restricted,
    Restricted}},
  // The review queue is the auditors'.
  {"AuditService", "ListEmergencyAccesses", "ACTION_LIST_EMERGENCY_ACCESS",
   "pending_only: true",
   {Missing, Expired, Forged, Role, Ok, Role, Role, Role,
    Role}},
  // $GRANT is a MADO caseworker's emergency grant on the youth, opened
  // during the set-up: the auditor (of another service) reviews it (once).
  {"AuditService", "ReviewEmergencyAccess", "ACTION_REVIEW_EMERGENCY_ACCESS",
   R"pb(grant_id: "$GRANT" verdict: EMERGENCY_VERDICT_JUSTIFIED note: "Urgence avérée")pb",
   {Missing, Expired, Forged, Role, Ok, Role, Role, Role,
    Role}},

  // --- Last, the calls that would be destructive if wrongly allowed, or that
  // end the restricted record.
  // Ending an accompaniment is a write: refused on a restricted record, like
  // CompleteHandover, which ends one too.
  {"CareService", "EndAccompaniment", "ACTION_END_ACCOMPANIMENT",
   R"pb(accompaniment_id: "$ACCOMPANIMENT")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Restricted}},
  // Turnover: a coordinator's, on its own service's accompaniment; a
  // restricted record keeps its referent too.
  {"CareService", "ReassignReferent", "ACTION_REASSIGN_REFERENT",
   R"pb(accompaniment_id: "$ACCOMPANIMENT" referent_member_id: "$MEMBER")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Restricted}},
  // Erasure (art. 17) stays the youth's right on a restricted record: a
  // restriction is no legal hold (SetLegalHold is what forbids erasure). It is
  // a request: a second person approves it, and the server erases later.
  {"RecordService", "EraseYouth", "ACTION_REQUEST_ERASURE",
   R"pb(youth_id: "$YOUTH" reason: "Demande d'effacement (art. 17)")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  // The youth's erasure requests: admins, platform auditors (the matrix's
  // auditor is the DPO: its AGAJ is the platform service) and coordinators of
  // an accompanying service.
  {"RecordService", "ListErasureRequests", "ACTION_READ_YOUTH",
   R"pb(youth_id: "$YOUTH")pb",
   {Missing, Expired, Forged, Role, Ok, Role, Role, Role,
    Ok}},
  // $ERASURE: the AMO coordinator's request to erase a third youth that the
  // AMO accompanies.
  {"RecordService", "GetErasureRequest", "ACTION_READ_YOUTH",
   R"pb(request_id: "$ERASURE")pb",
   {Missing, Expired, Forged, Role, Ok, Role, Role, Role,
    Ok}},
  // Four eyes: the DPO approves (the grace period keeps it from running);
  // never the requester's service.
  {"RecordService", "ApproveErasure", "ACTION_APPROVE_ERASURE",
   R"pb(request_id: "$ERASURE")pb",
   {Missing, Expired, Forged, Role, Ok, Role, Role, Role,
    SeparationOfDuties}},
  {"RecordService", "CancelErasure", "ACTION_CANCEL_ERASURE",
   R"pb(request_id: "$ERASURE" reason: "Le jeune retire sa demande")pb",
   {Missing, Expired, Forged, Role, Ok, Role, Role, Role,
    Ok}},
  // Two-person full export: an admin asks (no column is one), a platform
  // auditor approves ($FULL_EXPORT: an admin's request on the record).
  {"RecordService", "RequestFullExport", "ACTION_REQUEST_FULL_EXPORT",
   R"pb(youth_id: "$YOUTH" reason: "Réquisition judiciaire")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Role}},
  {"RecordService", "ApproveFullExport", "ACTION_APPROVE_FULL_EXPORT",
   R"pb(request_id: "$FULL_EXPORT")pb",
   {Missing, Expired, Forged, Role, Ok, Role, Role, Role,
    Role}},
  // A pending erasure request does not freeze the record: its coordinator may
  // still lift the restriction (the request restricted nothing: it already was).
  {"RecordService", "LiftRestriction", "ACTION_LIFT_RESTRICTION",
   R"pb(youth_id: "$YOUTH" reason: "Fin de la limitation")pb",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Ok}},
  // Retention (issue #4 item 6): the sweep is an admin's alone, dry run or not.
  {"RecordService", "SweepRetention", "ACTION_RETENTION_SWEEP", "dry_run: false",
   {Missing, Expired, Forged, Role, Role, Role, Role, Role,
    Role}},
};
// clang-format on

std::string CodeName(StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// ---- One generic code path for every method ------------------------------------

struct CallResult {
  grpc::Status status;
  std::vector<std::string> responses;  // serialized messages received
};

// Calls `path` ("/pkg.Service/Method") with one serialized request, as a
// stream (so unary, server-streaming and bidi methods go the same way):
// start, write, half-close, read everything, finish.
CallResult CallMethod(grpc::GenericStub& stub, const std::string& path, const std::string& request,
                      const std::vector<std::pair<std::string, std::string>>& metadata) {
  CallResult result;
  grpc::ClientContext ctx;
  for (const auto& [key, value] : metadata) ctx.AddMetadata(key, value);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::CompletionQueue cq;
  void* tag = nullptr;
  bool ok = false;
  auto wait = [&]() {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    return ok;
  };
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call = stub.PrepareCall(&ctx, path, &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  wait();
  grpc::Slice slice(request);
  grpc::ByteBuffer out(&slice, 1);
  call->Write(out, reinterpret_cast<void*>(2));
  wait();
  call->WritesDone(reinterpret_cast<void*>(3));
  wait();
  for (;;) {
    grpc::ByteBuffer in;
    call->Read(&in, reinterpret_cast<void*>(4));
    if (!wait()) break;
    std::vector<grpc::Slice> slices;
    EXPECT_TRUE(in.Dump(&slices).ok());
    std::string bytes;
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    result.responses.push_back(std::move(bytes));
  }
  call->Finish(&result.status, reinterpret_cast<void*>(5));
  wait();
  call.reset();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return result;
}

// The services the server registered, from its reflection service
// (grpc.reflection.v1alpha, hand-encoded: Debian ships no client for it).
std::vector<std::string> ServedServices(grpc::GenericStub& stub) {
  // ServerReflectionRequest { list_services (7): "*" }
  const CallResult r =
      CallMethod(stub, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                 std::string("\x3a\x01*", 3), {});
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  std::vector<std::string> names;
  using google::protobuf::UnknownField;
  using google::protobuf::UnknownFieldSet;
  auto nested = [](const UnknownField& f, int number) {
    return f.number() == number && f.type() == UnknownField::TYPE_LENGTH_DELIMITED;
  };
  for (const std::string& bytes : r.responses) {
    UnknownFieldSet response;  // ServerReflectionResponse
    EXPECT_TRUE(response.ParseFromString(bytes));
    for (int i = 0; i < response.field_count(); ++i) {
      if (!nested(response.field(i), 6)) continue;  // list_services_response
      UnknownFieldSet list;
      EXPECT_TRUE(list.ParseFromString(response.field(i).length_delimited()));
      for (int j = 0; j < list.field_count(); ++j) {
        if (!nested(list.field(j), 1)) continue;  // repeated ServiceResponse service
        UnknownFieldSet service;
        EXPECT_TRUE(service.ParseFromString(list.field(j).length_delimited()));
        for (int k = 0; k < service.field_count(); ++k) {
          if (nested(service.field(k), 1)) names.push_back(service.field(k).length_delimited());
        }
      }
    }
  }
  return names;
}

// Every relais.v1 service: the five by their generated names, any other
// declared in their files (or relais.v1 files those import), and any other
// relais service the server serves.
std::vector<const google::protobuf::ServiceDescriptor*> RelaisServices(grpc::GenericStub& stub) {
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  std::set<std::string> names;
  std::set<const google::protobuf::FileDescriptor*> files;
  for (const char* name :
       {v1::DirectoryService::service_full_name(), v1::AuthService::service_full_name(),
        v1::RecordService::service_full_name(), v1::CareService::service_full_name(),
        v1::AuditService::service_full_name(), v1::AdminService::service_full_name(),
        v1::PartnershipService::service_full_name()}) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name);
    EXPECT_NE(service, nullptr) << name;
    if (service == nullptr) continue;
    names.insert(service->full_name());
    files.insert(service->file());
  }
  std::vector<const google::protobuf::FileDescriptor*> todo(files.begin(), files.end());
  while (!todo.empty()) {
    const google::protobuf::FileDescriptor* file = todo.back();
    todo.pop_back();
    for (int i = 0; i < file->dependency_count(); ++i) {
      const google::protobuf::FileDescriptor* dep = file->dependency(i);
      if (dep->package() == "relais.v1" && files.insert(dep).second) todo.push_back(dep);
    }
  }
  for (const google::protobuf::FileDescriptor* file : files) {
    for (int i = 0; i < file->service_count(); ++i) names.insert(file->service(i)->full_name());
  }
  const std::vector<std::string> served = ServedServices(stub);
  EXPECT_GE(served.size(), 5u) << "the reflection service listed too few services";
  for (const std::string& name : served) {
    if (absl::StartsWith(name, "relais.")) names.insert(name);
  }
  std::vector<const google::protobuf::ServiceDescriptor*> services;
  for (const std::string& name : names) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name);
    EXPECT_NE(service, nullptr) << "served but not in the generated pool: " << name;
    if (service != nullptr) services.push_back(service);
  }
  return services;
}

// A request of `method` ("relais.v1.Service.Method") from protobuf text format.
std::unique_ptr<google::protobuf::Message> NewRequest(
    const google::protobuf::MethodDescriptor& method, const std::string& text) {
  std::unique_ptr<google::protobuf::Message> request(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(method.input_type())
          ->New());
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, request.get()))
      << method.full_name() << ": " << text;
  return request;
}

std::string PathOf(const google::protobuf::MethodDescriptor& method) {
  return absl::StrCat("/", method.service()->full_name(), "/", method.name());
}

// ---- Setting the scene -----------------------------------------------------

constexpr char kSsmCaseworker[] = "ssm.cw";
constexpr char kSsmCoordinator[] = "ssm.coord";
constexpr char kSpareMember[] = "amo.spare";

// One youth record as the matrix uses it.
struct Record {
  std::string youth;
  std::string national_number;
  std::string entry;          // the AMO's shared general entry
  std::string handover;       // AMO -> SAJ, proposed
  std::string consent;        // a consent to withdraw (recipient: the prevention sector)
  std::string accompaniment;  // the AMO's
  std::string pending;        // a prevention service's, waiting to be vouched for
  std::string concertation;   // the AMO's meeting on the handover, the SAJ invited
};

std::string Consent(RelaisEnv& env, const std::string& youth, v1::Recipient recipient,
                    v1::DataCategory category) {
  v1::GrantConsentRequest req;
  v1::Consent* k = req.mutable_consent();
  k->set_youth_id(youth);
  k->set_giver(v1::CONSENT_GIVER_YOUTH);
  *k->add_recipients() = std::move(recipient);
  k->add_categories(category);
  k->add_purposes(v1::PURPOSE_COORDINATION);
  *k->mutable_valid_until() = common::ToProto(env.clock().Now() + absl::Hours(24 * 182));
  v1::Consent out;
  grpc::Status s = env.care().GrantConsent(env.As(kAmoCaseworker).get(), req, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return out.id();
}

// A 15-year-old accompanied by the AMO, with a shared general entry by the
// AMO, a consent covering the SAJ (general), a spare consent, and a handover
// proposed to the SAJ.
Record MakeRecord(RelaisEnv& env, const std::string& national_number) {
  Record r;
  r.national_number = national_number;
  const absl::CivilDay today = absl::ToCivilDay(env.clock().Now(), absl::UTCTimeZone());
  v1::CreateYouthRequest create;
  create.mutable_youth()->set_display_name("Jeune de la matrice");
  create.mutable_youth()->set_date_of_birth(
      absl::FormatCivilTime(absl::CivilDay(today.year() - 15, today.month(), today.day())));
  create.mutable_youth()->add_guardians()->set_display_name("Parent de la matrice");
  create.set_national_number(national_number);
  v1::Youth youth;
  grpc::Status s = env.record().CreateYouth(env.As(kAmoCaseworker).get(), create, &youth);
  EXPECT_TRUE(s.ok()) << s.error_message();
  r.youth = youth.id();
  env.Accompany(r.youth, kAmoCoordinator, kAmoCaseworker);

  v1::AddEntryRequest add;
  add.mutable_entry()->set_youth_id(r.youth);
  add.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
  add.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
  add.mutable_entry()->set_visibility(v1::VISIBILITY_SHARED);
  add.mutable_entry()->set_body("Suivi de la matrice");
  v1::Entry entry;
  s = env.record().AddEntry(env.As(kAmoCaseworker).get(), add, &entry);
  EXPECT_TRUE(s.ok()) << s.error_message();
  r.entry = entry.id();

  v1::Recipient saj, schools, prevention;
  saj.set_service_id(env.service_id("saj"));
  schools.set_sector_id("enseignement");
  prevention.set_sector_id("prevention");
  Consent(env, r.youth, saj, v1::DATA_CATEGORY_GENERAL);
  Consent(env, r.youth, schools, v1::DATA_CATEGORY_GENERAL);
  r.consent = Consent(env, r.youth, prevention, v1::DATA_CATEGORY_SOCIAL);

  v1::ProposeHandoverRequest propose;
  propose.set_youth_id(r.youth);
  propose.set_to_service_id(env.service_id("saj"));
  propose.set_reason("Mandat du SAJ");
  *propose.mutable_overlap_start() = common::ToProto(env.clock().Now());
  *propose.mutable_overlap_end() = common::ToProto(env.clock().Now() + absl::Hours(24 * 30));
  v1::Handover handover;
  s = env.care().ProposeHandover(env.As(kAmoCaseworker).get(), propose, &handover);
  EXPECT_TRUE(s.ok()) << s.error_message();
  r.handover = handover.id();

  v1::ScheduleConcertationRequest meet;
  meet.set_youth_id(r.youth);
  meet.set_handover_id(r.handover);
  meet.add_invited_service_ids(env.service_id("saj"));
  *meet.mutable_scheduled_at() = common::ToProto(env.clock().Now() + absl::Hours(24 * 7));
  v1::Concertation concertation;
  s = env.care().ScheduleConcertation(env.As(kAmoCaseworker).get(), meet, &concertation);
  EXPECT_TRUE(s.ok()) << s.error_message();
  r.concertation = concertation.id();

  v1::ListAccompanimentsRequest list;
  list.set_youth_id(r.youth);
  v1::ListAccompanimentsResponse accompaniments;
  s = env.care().ListAccompaniments(env.As(kAmoCoordinator).get(), list, &accompaniments);
  EXPECT_TRUE(s.ok()) << s.error_message();
  for (const auto& a : accompaniments.accompaniments()) {
    if (a.service_id() == env.service_id("amo")) r.accompaniment = a.id();
  }
  EXPECT_FALSE(r.accompaniment.empty());
  return r;
}

std::string TokenFor(RelaisEnv& env, const directory::MemberInfo& m) {
  std::vector<std::string> roles;
  for (v1::Role r : m.roles) roles.push_back(access::RoleName(r));
  auto token = env.host().issuer().Issue(m.id, m.service_id, roles);
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? *token : "";
}

directory::MemberInfo Member(RelaisEnv& env, absl::string_view login) {
  auto found = env.host().directory().FindCredentials(login);
  EXPECT_TRUE(found.ok()) << login << ": " << found.status();
  return found.ok() ? found->member : directory::MemberInfo();
}

directory::MemberInfo AddMember(RelaisEnv& env, const std::string& service_id,
                                const std::string& login, v1::Role role) {
  directory::MemberInfo info;
  info.service_id = service_id;
  info.display_name = absl::StrCat("Membre ", login);
  info.login = login;
  info.roles = {role};
  auto added = env.host().directory().AddMember(info, kPassword);
  EXPECT_TRUE(added.ok()) << added.status();
  return added.ok() ? *added : info;
}

// The column's identity: its metadata and what its requests name.
struct Column {
  std::string authorization;  // "" = none
  std::string member_id;      // the audited actor; "" when not authenticated
  std::string login;          // for Login
  std::string service_id;     // its own service ($OWN_SERVICE)
  const Record* record = nullptr;
};

// ---- The test ----------------------------------------------------------------

TEST(DenyMatrix, EveryRpcTimesEveryPrincipalIsDecidedAsDesignedAndAudited) {
  auto env = RelaisEnv::Start();
  ASSERT_NE(env, nullptr);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", env->host().port()),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);

  // The expired token is issued now; everything else happens an hour later.
  const directory::MemberInfo camille = Member(*env, kAmoCaseworker);
  const std::string expired_token = TokenFor(*env, camille);
  env->clock().Advance(absl::Hours(1));

  // A mental-health service accompanies the youth without any consent, and a
  // CPAS is there to receive handover proposals.
  directory::ServiceInfo ssm_info{"", "Service de santé mentale", "sante_mentale", "SSM"};
  auto ssm = env->host().directory().CreateService(ssm_info);
  ASSERT_TRUE(ssm.ok()) << ssm.status();
  directory::ServiceInfo cpas_info{"", "CPAS de Charleroi", "action_sociale", "CPAS"};
  auto cpas = env->host().directory().CreateService(cpas_info);
  ASSERT_TRUE(cpas.ok()) << cpas.status();
  const directory::MemberInfo ssm_cw =
      AddMember(*env, ssm->id, kSsmCaseworker, v1::ROLE_CASEWORKER);
  const directory::MemberInfo ssm_coord =
      AddMember(*env, ssm->id, kSsmCoordinator, v1::ROLE_COORDINATOR);
  const directory::MemberInfo spare =
      AddMember(*env, env->service_id("amo"), kSpareMember, v1::ROLE_CASEWORKER);

  Record record = MakeRecord(*env, "09031512345");
  Record restricted = MakeRecord(*env, "09031554321");
  // Opens an accompaniment as `coordinator` (pending: the AMO created the
  // record) and, with `voucher`, has it confirmed.
  auto open_as = [&](const directory::MemberInfo& coordinator,
                     const directory::MemberInfo& referent, const std::string& youth,
                     const directory::MemberInfo* voucher) {
    v1::OpenAccompanimentRequest open;
    open.set_youth_id(youth);
    open.set_referent_member_id(referent.id);
    open.set_basis(v1::ACCOMPANIMENT_BASIS_VOLUNTARY);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", TokenFor(*env, coordinator)));
    v1::Accompaniment acc;
    grpc::Status s = env->care().OpenAccompaniment(&ctx, open, &acc);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(acc.vouch(), v1::VOUCH_PENDING);
    if (voucher != nullptr) {
      v1::ConfirmAccompanimentRequest confirm;
      confirm.set_accompaniment_id(acc.id());
      grpc::ClientContext c2;
      c2.AddMetadata("authorization", absl::StrCat("Bearer ", TokenFor(*env, *voucher)));
      v1::Accompaniment out;
      s = env->care().ConfirmAccompaniment(&c2, confirm, &out);
      EXPECT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(out.vouch(), v1::VOUCH_CONFIRMED);
    }
    return acc.id();
  };
  const directory::MemberInfo amo_coord = Member(*env, kAmoCoordinator);
  // The mental-health service accompanies the youth, vouched for by the AMO.
  open_as(ssm_coord, ssm_cw, record.youth, &amo_coord);
  // A prevention service asked to accompany both youths; no one vouched yet.
  directory::ServiceInfo prev_info{"", "Service de prévention", "prevention", "Prévention"};
  auto prev = env->host().directory().CreateService(prev_info);
  ASSERT_TRUE(prev.ok()) << prev.status();
  const directory::MemberInfo prev_coord =
      AddMember(*env, prev->id, "prev.coord", v1::ROLE_COORDINATOR);
  record.pending = open_as(prev_coord, prev_coord, record.youth, nullptr);
  restricted.pending = open_as(prev_coord, prev_coord, restricted.youth, nullptr);

  // Restrict the second record: through RecordService.RestrictYouth (as the
  // AMO's coordinator) where the server implements it, else in the database.
  {
    const google::protobuf::MethodDescriptor* method =
        google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
            "relais.v1.RecordService.RestrictYouth");
    bool restricted_by_rpc = false;
    if (method != nullptr) {
      const CallResult r =
          CallMethod(stub, PathOf(*method),
                     NewRequest(*method, absl::StrCat("youth_id: \"", restricted.youth,
                                                      "\" reason: \"Demande du jeune\""))
                         ->SerializeAsString(),
                     {{"authorization",
                       absl::StrCat("Bearer ", TokenFor(*env, Member(*env, kAmoCoordinator)))}});
      if (r.status.ok()) {
        restricted_by_rpc = true;
      } else {
        ASSERT_EQ(r.status.error_code(), StatusCode::UNIMPLEMENTED) << r.status.error_message();
      }
    }
    if (!restricted_by_rpc) {
      std::cout << "note: RestrictYouth is not served; restricting in the database\n";
      Sql(env->db_path(),
          absl::StrCat("UPDATE rec_youth SET restricted = 1 WHERE id = '", restricted.youth, "'"));
    }
    // The restriction is in force.
    v1::GetYouthRequest get;
    get.set_youth_id(restricted.youth);
    get.set_purpose(v1::PURPOSE_COORDINATION);
    v1::Youth youth;
    grpc::Status s = env->record().GetYouth(env->As(kAmoCaseworker).get(), get, &youth);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_TRUE(youth.restricted());
  }

  // A MADO caseworker, whose service accompanies the youth (vouched for by the
  // AMO), breaks the glass: the grant the DPO reviews.
  std::string grant;
  {
    directory::ServiceInfo mado_info{"", "MADO", "aide_jeunesse", "MADO"};
    auto mado = env->host().directory().CreateService(mado_info);
    ASSERT_TRUE(mado.ok()) << mado.status();
    const directory::MemberInfo cpas_cw = AddMember(*env, mado->id, "mado.cw", v1::ROLE_CASEWORKER);
    const directory::MemberInfo mado_coord =
        AddMember(*env, mado->id, "mado.coord", v1::ROLE_COORDINATOR);
    open_as(mado_coord, cpas_cw, record.youth, &amo_coord);
    const google::protobuf::MethodDescriptor* method =
        google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
            "relais.v1.CareService.OpenEmergencyAccess");
    ASSERT_NE(method, nullptr);
    const CallResult r = CallMethod(
        stub, PathOf(*method),
        NewRequest(*method, absl::StrCat("youth_id: \"", record.youth,
                                         "\" justification: \"Fugue signalée cette nuit, "
                                         "hébergement d'urgence\""))
            ->SerializeAsString(),
        {{"authorization", absl::StrCat("Bearer ", TokenFor(*env, cpas_cw))}});
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    ASSERT_EQ(r.responses.size(), 1u);
    std::unique_ptr<google::protobuf::Message> response(
        google::protobuf::MessageFactory::generated_factory()
            ->GetPrototype(method->output_type())
            ->New());
    ASSERT_TRUE(response->ParseFromString(r.responses[0]));
    const google::protobuf::FieldDescriptor* id = response->GetDescriptor()->FindFieldByName("id");
    ASSERT_NE(id, nullptr);
    grant = response->GetReflection()->GetString(*response, id);
    ASSERT_FALSE(grant.empty());
  }

  // An erasure request (by the AMO's coordinator, on a third youth) and an
  // admin's full-export request (on the record), to approve and cancel.
  std::string erasure;
  std::string full_export;
  {
    const Record erasable = MakeRecord(*env, "09031567890");
    v1::EraseYouthRequest erase;
    erase.set_youth_id(erasable.youth);
    erase.set_reason("Le jeune demande l'effacement");
    v1::ErasureRequest requested;
    grpc::Status s = env->record().EraseYouth(env->As(kAmoCoordinator).get(), erase, &requested);
    ASSERT_TRUE(s.ok()) << s.error_message();
    erasure = requested.id();
    v1::RequestFullExportRequest full;
    full.set_youth_id(record.youth);
    full.set_reason("Réquisition judiciaire");
    v1::FullExportRequest asked;
    s = env->record().RequestFullExport(env->As(kAdmin).get(), full, &asked);
    ASSERT_TRUE(s.ok()) << s.error_message();
    full_export = asked.id();
  }

  // The partnership fixtures: a convention the SAJ proposed to the AMO, and a
  // protocol of the AMO for its field staff.
  std::string convention;
  std::string protocol;
  {
    v1::ProposeConventionRequest propose;
    v1::Convention* c = propose.mutable_convention();
    c->set_title("SAJ – AMO");
    c->set_purpose("Coordination des accompagnements");
    c->add_party_service_ids(env->service_id("saj"));
    c->add_party_service_ids(env->service_id("amo"));
    c->mutable_scope()->add_categories(v1::DATA_CATEGORY_GENERAL);
    c->mutable_scope()->add_purposes(v1::PURPOSE_COORDINATION);
    c->mutable_scope()->set_max_overlap_days(30);
    const absl::Time t = env->clock().Now();
    *c->mutable_start_time() = common::ToProto(t);
    *c->mutable_end_time() = common::ToProto(t + absl::Hours(24 * 365));
    *c->mutable_review_time() = common::ToProto(t + absl::Hours(24 * 180));
    v1::Convention made;
    grpc::Status s =
        env->partnership().ProposeConvention(env->As(kSajCoordinator).get(), propose, &made);
    ASSERT_TRUE(s.ok()) << s.error_message();
    convention = made.id();
    v1::CreateProtocolRequest create;
    create.mutable_protocol()->set_title("Accueil des jeunes");
    create.mutable_protocol()->add_service_ids(env->service_id("amo"));
    create.mutable_protocol()->add_roles(v1::ROLE_CASEWORKER);
    create.mutable_protocol()->add_roles(v1::ROLE_COORDINATOR);
    *create.mutable_protocol()->mutable_review_time() = common::ToProto(t + absl::Hours(24 * 90));
    create.mutable_first_version()->set_summary("Première version");
    create.mutable_first_version()->set_text("Accueillir, écouter, orienter.");
    v1::Protocol p;
    s = env->partnership().CreateProtocol(env->As(kAmoCoordinator).get(), create, &p);
    ASSERT_TRUE(s.ok()) << s.error_message();
    protocol = p.id();
  }

  // The columns.
  std::string forged_token = TokenFor(*env, camille);
  {
    const size_t dot = forged_token.rfind('.');
    std::optional<std::string> signature =
        auth::internal::DecodeBase64Url(absl::string_view(forged_token).substr(dot + 1));
    ASSERT_TRUE(signature.has_value());
    (*signature)[10] ^= 0x01;
    forged_token =
        absl::StrCat(forged_token.substr(0, dot + 1), auth::internal::EncodeBase64Url(*signature));
  }
  auto member_column = [&](absl::string_view login, const Record* r) {
    const directory::MemberInfo m = Member(*env, login);
    return Column{absl::StrCat("Bearer ", TokenFor(*env, m)), m.id, std::string(login),
                  m.service_id, r};
  };
  Column columns[kPrincipalCount];
  columns[kNoToken] = {"", "", "dm.nobody", env->service_id("amo"), &record};
  columns[kExpiredToken] = {absl::StrCat("Bearer ", expired_token), "", kAmoCaseworker,
                            env->service_id("amo"), &record};
  columns[kForgedToken] = {absl::StrCat("Bearer ", forged_token), "", kAmoCoordinator,
                           env->service_id("amo"), &record};
  columns[kUnrelatedService] = member_column(kPmsCaseworker, &record);
  columns[kAuditorPrincipal] = member_column(kAuditor, &record);
  columns[kNoAccompaniment] = member_column(kSajCaseworker, &record);
  columns[kNoConsent] = member_column(kSsmCaseworker, &record);
  columns[kRestrictedRecord] = member_column(kAmoCaseworker, &restricted);
  columns[kRestrictedCoordinator] = member_column(kAmoCoordinator, &restricted);

  // Every RPC has a row, and every row an RPC.
  std::map<std::string, const google::protobuf::MethodDescriptor*> methods;
  for (const google::protobuf::ServiceDescriptor* service : RelaisServices(stub)) {
    for (int i = 0; i < service->method_count(); ++i) {
      methods[service->method(i)->full_name()] = service->method(i);
    }
  }
  std::set<std::string> rows;
  for (const Row& row : kMatrix) {
    const std::string name = absl::StrCat("relais.v1.", row.service, ".", row.method);
    EXPECT_TRUE(rows.insert(name).second) << "two rows for " << name;
    for (int col = 0; col < kPrincipalCount; ++col) {
      EXPECT_NE(row.cells[col].reason, nullptr)
          << name << " has no cell for \"" << kPrincipalNames[col] << "\"";
    }
    EXPECT_TRUE(methods.count(name)) << "the matrix has a row for " << name
                                     << ", which is not an RPC of relais.v1 (renamed? removed?)";
  }
  for (const auto& [name, method] : methods) {
    EXPECT_TRUE(rows.count(name)) << "RPC " << name
                                  << " has no row in the deny matrix: add one to kMatrix";
  }
  ASSERT_FALSE(::testing::Test::HasFailure()) << "the matrix does not match the API";

  // Call every cell.
  struct Made {
    const Row* row;
    int column;
    std::string request_id;
    grpc::Status status;
  };
  std::vector<Made> made;
  std::map<std::string, int> tally;
  const int64_t now = absl::ToUnixSeconds(env->clock().Now());
  for (const Row& row : kMatrix) {
    const std::string name = absl::StrCat("relais.v1.", row.service, ".", row.method);
    const google::protobuf::MethodDescriptor* method = methods.at(name);
    v1::Action action;
    ASSERT_TRUE(v1::Action_Parse(row.action, &action)) << name << ": " << row.action;
    for (int col = 0; col < kPrincipalCount; ++col) {
      const Column& c = columns[col];
      const Cell& want = row.cells[col];
      const std::string text = absl::StrReplaceAll(
          row.request, {{"$YOUTH", c.record->youth},
                        {"$NATIONAL_NUMBER", c.record->national_number},
                        {"$ENTRY", c.record->entry},
                        {"$HANDOVER", c.record->handover},
                        {"$CONCERTATION", c.record->concertation},
                        {"$AMO_SERVICE", env->service_id("amo")},
                        {"$SSM_SERVICE", ssm->id},
                        {"$CONSENT", c.record->consent},
                        {"$ACCOMPANIMENT", c.record->accompaniment},
                        {"$PENDING", c.record->pending},
                        {"$MEMBER", c.member_id.empty() ? camille.id : c.member_id},
                        {"$OWN_SERVICE", c.service_id},
                        {"$LOGIN", c.login},
                        {"$TARGET_SERVICE", cpas->id},
                        {"$SPARE_MEMBER", spare.id},
                        {"$GRANT", grant},
                        {"$ERASURE", erasure},
                        {"$FULL_EXPORT", full_export},
                        {"$CONVENTION", convention},
                        {"$PROTOCOL", protocol},
                        {"$NOW", absl::StrCat(now)},
                        {"$END", absl::StrCat(now + 30 * 24 * 3600)},
                        {"$COL", absl::StrCat(col)}});
      const std::unique_ptr<google::protobuf::Message> request = NewRequest(*method, text);
      const std::string request_id = absl::StrCat("dm-", row.service, "-", row.method, "-", col);
      std::vector<std::pair<std::string, std::string>> metadata = {{"x-request-id", request_id}};
      std::string authorization = c.authorization;
      if (row.own_token && !c.member_id.empty()) {
        authorization = absl::StrCat("Bearer ", TokenFor(*env, Member(*env, c.login)));
      }
      if (!authorization.empty()) metadata.emplace_back("authorization", authorization);
      const CallResult got =
          CallMethod(stub, PathOf(*method), request->SerializeAsString(), metadata);

      // The reason: the error's, or the one the answer explains.
      std::string reason = ReasonCode(got.status);
      if (got.status.ok()) {
        reason = "allowed";
        for (const std::string& bytes : got.responses) {
          std::unique_ptr<google::protobuf::Message> response(
              google::protobuf::MessageFactory::generated_factory()
                  ->GetPrototype(method->output_type())
                  ->New());
          ASSERT_TRUE(response->ParseFromString(bytes)) << name;
          const google::protobuf::FieldDescriptor* field =
              response->GetDescriptor()->FindFieldByName("reason_code");
          if (field != nullptr && field->type() == google::protobuf::FieldDescriptor::TYPE_STRING &&
              !field->is_repeated()) {
            reason = response->GetReflection()->GetString(*response, field);
          }
        }
        if (method->server_streaming() && name == "relais.v1.InboxService.Watch") {
          // An inbox may be empty: caught up at once.
        } else if (method->server_streaming()) {
          EXPECT_GE(got.responses.size(), 1u) << name;
        } else {
          EXPECT_EQ(got.responses.size(), 1u) << name;
        }
      } else {
        EXPECT_THAT(got.responses, ::testing::IsEmpty()) << name << " answered and failed";
      }
      EXPECT_TRUE(got.status.error_code() == want.code && reason == want.reason)
          << name << " as " << kPrincipalNames[col] << ": got " << CodeName(got.status.error_code())
          << " " << reason << " (\"" << got.status.error_message() << "\"), want "
          << CodeName(want.code) << " " << want.reason;
      tally[got.status.ok() ? "OK" : reason]++;
      made.push_back({&row, col, request_id, got.status});
    }
  }

  // Every decision is in the audit log, under its request id. The auditor's
  // own queries are audited too: collected first, checked after.
  std::map<std::string, std::vector<v1::AuditEvent>> by_request;
  std::vector<std::string> collect_ids;
  auto collect = [&](absl::string_view id_prefix, int64_t after) {
    std::string token = after > 0 ? absl::StrCat(after) : "";
    int64_t last = after;
    for (int page = 0;; ++page) {
      v1::QueryEventsRequest q;
      q.set_page_size(1000);
      q.set_page_token(token);
      v1::QueryEventsResponse resp;
      grpc::ClientContext ctx;
      const std::string id = absl::StrCat(id_prefix, page);
      ctx.AddMetadata("authorization", columns[kAuditorPrincipal].authorization);
      ctx.AddMetadata("x-request-id", id);
      grpc::Status s = env->audit().QueryEvents(&ctx, q, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      collect_ids.push_back(id);
      for (const v1::AuditEvent& e : resp.events()) {
        by_request[e.request_id()].push_back(e);
        last = e.sequence();
      }
      token = resp.next_page_token();
      if (token.empty()) break;
    }
    return last;
  };
  const int64_t last = collect("dm-collect-", 0);
  const std::vector<std::string> first_pass = collect_ids;
  collect("dm-recheck-", last);
  for (const std::string& id : first_pass) {
    auto it = by_request.find(id);
    ASSERT_NE(it, by_request.end()) << "the auditor's own query " << id << " was not audited";
    ASSERT_EQ(it->second.size(), 1u);
    EXPECT_EQ(it->second[0].action(), v1::ACTION_QUERY_AUDIT);
    EXPECT_EQ(it->second[0].decision(), v1::DECISION_ALLOW);
    EXPECT_EQ(it->second[0].actor_member_id(), columns[kAuditorPrincipal].member_id);
  }

  int audited = 0;
  for (const Made& m : made) {
    const Cell& want = m.row->cells[m.column];
    v1::Action action;
    v1::Action_Parse(m.row->action, &action);
    const auto it = by_request.find(m.request_id);
    const std::string where =
        absl::StrCat(m.row->service, ".", m.row->method, " as ", kPrincipalNames[m.column]);
    if (!want.audited) {
      EXPECT_EQ(it, by_request.end()) << where << " is public and should not be audited";
      continue;
    }
    if (it == by_request.end()) {
      ADD_FAILURE() << where << ": no audit event with request id " << m.request_id;
      continue;
    }
    // Exactly one event for the call itself (a listing adds one per entry,
    // under another action).
    std::vector<const v1::AuditEvent*> own;
    for (const v1::AuditEvent& e : it->second) {
      if (e.action() == action) own.push_back(&e);
    }
    if (own.size() != 1) {
      ADD_FAILURE() << where << ": " << own.size() << " audit events of action " << m.row->action
                    << " for request " << m.request_id;
      continue;
    }
    const v1::AuditEvent& e = *own[0];
    const bool allow = std::string(want.reason) == "allowed";
    EXPECT_EQ(e.decision(), allow ? v1::DECISION_ALLOW : v1::DECISION_DENY) << where;
    EXPECT_EQ(e.reason_code(), want.reason) << where;
    // A failed login (or password change) names no one; otherwise the actor
    // is the token's member.
    const bool by_password = action == v1::ACTION_LOGIN || action == v1::ACTION_CHANGE_PASSWORD;
    const std::string actor = by_password && !m.status.ok() ? "" : columns[m.column].member_id;
    EXPECT_EQ(e.actor_member_id(), actor) << where;
    ++audited;
  }

  // All those refusals left a chain that still verifies.
  {
    v1::VerifyLogResponse verified;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", columns[kAuditorPrincipal].authorization);
    grpc::Status s = env->audit().VerifyLog(&ctx, v1::VerifyLogRequest(), &verified);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(verified.ok()) << verified.problem() << " at " << verified.first_bad_sequence();
  }

  int cells = 0;
  for (const Row& row : kMatrix) cells += std::size(row.cells);
  std::cout << "deny matrix: " << std::size(kMatrix) << " RPCs x " << kPrincipalCount
            << " principals = " << cells << " cells, " << audited << " found in the audit log;";
  for (const auto& [outcome, count] : tally) std::cout << " " << outcome << "=" << count;
  std::cout << "\n";
  EXPECT_EQ(static_cast<int>(made.size()), cells);
}

}  // namespace
}  // namespace relais::testing
