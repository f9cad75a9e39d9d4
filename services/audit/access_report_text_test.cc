#include "services/audit/access_report_text.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace relais::audit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

google::protobuf::Timestamp At(int day, int hour) {
  const absl::Time t =
      absl::FromCivil(absl::CivilSecond(2026, 11, day, hour, 5, 0), absl::UTCTimeZone());
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

// Two lines: the AMO coordinator reads an entry (allowed), a PMS caseworker
// tries to read it without accompaniment (refused).
v1::AccessReportResponse Report(bool with_members) {
  v1::AccessReportResponse r;
  r.set_youth_id("y_123");
  v1::AccessReportLine* a = r.add_lines();
  *a->mutable_time() = At(24, 10);
  a->set_service_id("svc_amo");
  a->set_service_name("AMO Le Relais");
  a->set_service_sector("aide_jeunesse");
  a->set_role("coordinator");
  a->set_action(v1::ACTION_READ_ENTRY);
  a->set_purpose(v1::PURPOSE_COORDINATION);
  a->set_decision(v1::DECISION_ALLOW);
  a->set_reason_code("allowed");
  v1::AccessReportLine* d = r.add_lines();
  *d->mutable_time() = At(25, 9);
  d->set_service_id("svc_pms");
  d->set_service_name("Centre PMS");
  d->set_service_sector("enseignement");
  d->set_role("caseworker");
  d->set_action(v1::ACTION_READ_ENTRY);
  d->set_purpose(v1::PURPOSE_COORDINATION);
  d->set_decision(v1::DECISION_DENY);
  d->set_reason_code("no_active_accompaniment");
  if (with_members) {
    a->set_member("Coordination AMO (amo.coord)");
    d->set_member("Pauline (pms.pauline)");
  }
  return r;
}

TEST(AccessReportText, FrenchByDefaultWithOneLinePerAccessAndASummary) {
  const std::string text = RenderAccessReportText(Report(false), "fr");
  EXPECT_THAT(text, HasSubstr("Rapport des accès"));
  EXPECT_THAT(text, HasSubstr("Dossier : y_123"));
  EXPECT_THAT(text, HasSubstr("Période : du 2026-11-24 10:05 au 2026-11-25 09:05 (UTC)"));
  EXPECT_THAT(text, HasSubstr("- 2026-11-24 10:05 — AMO Le Relais (aide à la jeunesse), rôle "
                              "coordination : lecture d'une note, pour concertation entre "
                              "services — autorisé.\n"));
  // The denied line says why, in words.
  EXPECT_THAT(text, HasSubstr("- 2026-11-25 09:05 — Centre PMS (enseignement), rôle intervenant : "
                              "lecture d'une note, pour concertation entre services — refusé : "
                              "ce service ne t'accompagnait pas.\n"));
  EXPECT_THAT(text, HasSubstr("2 accès : 1 autorisé, 1 refusé."));
  // No member unless the lines carry one.
  EXPECT_THAT(text, Not(HasSubstr("par ")));
  EXPECT_THAT(text, Not(HasSubstr("amo.coord")));
  // Anything but "en" is French.
  EXPECT_EQ(RenderAccessReportText(Report(false), "de"), text);
}

TEST(AccessReportText, English) {
  const std::string text = RenderAccessReportText(Report(false), "en");
  EXPECT_THAT(text, HasSubstr("Access report"));
  EXPECT_THAT(text, HasSubstr("Record: y_123"));
  EXPECT_THAT(text, HasSubstr("Period: from 2026-11-24 10:05 to 2026-11-25 09:05 (UTC)"));
  EXPECT_THAT(text, HasSubstr("AMO Le Relais (youth aid), role coordinator: reading an entry, "
                              "for coordination between services — allowed."));
  EXPECT_THAT(text, HasSubstr("Centre PMS (education), role caseworker: reading an entry, for "
                              "coordination between services — refused: this service was not "
                              "accompanying you."));
  EXPECT_THAT(text, HasSubstr("2 accesses: 1 allowed, 1 refused."));
  EXPECT_THAT(text, Not(HasSubstr(", by ")));
}

TEST(AccessReportText, NamesMembersOnlyWhenTheLinesCarryThem) {
  const std::string fr = RenderAccessReportText(Report(true), "fr");
  EXPECT_THAT(fr, HasSubstr("rôle coordination, par Coordination AMO (amo.coord) : lecture"));
  EXPECT_THAT(fr, HasSubstr("rôle intervenant, par Pauline (pms.pauline) : lecture"));
  const std::string en = RenderAccessReportText(Report(true), "en");
  EXPECT_THAT(en, HasSubstr("role caseworker, by Pauline (pms.pauline): reading"));
}

TEST(AccessReportText, EmptyReport) {
  v1::AccessReportResponse r;
  r.set_youth_id("y_9");
  EXPECT_EQ(RenderAccessReportText(r, "fr"),
            "Rapport des accès — qui a consulté ou traité ton dossier\nDossier : y_9\n"
            "Période : aucune\n\nAucun accès n'a été enregistré.\n");
  EXPECT_THAT(RenderAccessReportText(r, "en"), HasSubstr("No access has been recorded."));
}

TEST(AccessReportText, UnauthenticatedCallsUnknownReasonsAndLaterActions) {
  v1::AccessReportResponse r;
  r.set_youth_id("y_1");
  v1::AccessReportLine* l = r.add_lines();
  *l->mutable_time() = At(25, 8);
  l->set_action(v1::ACTION_EXPORT_YOUTH);
  l->set_decision(v1::DECISION_DENY);
  l->set_reason_code("token_missing");
  v1::AccessReportLine* m = r.add_lines();
  *m->mutable_time() = At(25, 9);
  m->set_service_id("svc_x");  // unknown to the directory: its id stands in
  m->set_role("coordinator");
  m->set_action(static_cast<v1::Action>(34));
  m->set_decision(v1::DECISION_DENY);
  m->set_reason_code("some_new_code");
  const std::string text = RenderAccessReportText(r, "fr");
  EXPECT_THAT(text, HasSubstr("Appel non identifié, rôle non identifié : export du dossier "
                              "(copie des données) — refusé : personne n'était identifié."));
  EXPECT_THAT(text, HasSubstr("— svc_x, rôle coordination : "));
  EXPECT_THAT(text, HasSubstr("refusé : motif : some_new_code."));
  EXPECT_THAT(text, HasSubstr("2 accès : 0 autorisé, 2 refusés."));
  // One line per access, besides the header and the summary.
  int lines = 0;
  for (absl::string_view l2 : absl::StrSplit(text, '\n')) lines += absl::StartsWith(l2, "- ");
  EXPECT_EQ(lines, 2);
  EXPECT_TRUE(IsReportLanguage("fr"));
  EXPECT_TRUE(IsReportLanguage("en"));
  EXPECT_FALSE(IsReportLanguage("nl"));
}

TEST(AccessReportText, AConcertationAboutTheYouthReadsAsOne) {
  v1::AccessReportResponse r = Report(false);
  r.mutable_lines(0)->set_action(v1::ACTION_SCHEDULE_CONCERTATION);
  r.mutable_lines(1)->set_action(v1::ACTION_RECORD_CONCERTATION);
  EXPECT_THAT(RenderAccessReportText(r, "fr"),
              HasSubstr("organisation d'une réunion de concertation"));
  EXPECT_THAT(RenderAccessReportText(r, "en"),
              HasSubstr("recording how a concertation meeting ended"));
}

}  // namespace
}  // namespace relais::audit
