#ifndef RELAIS_SERVICES_AUDIT_ACCESS_REPORT_TEXT_H_
#define RELAIS_SERVICES_AUDIT_ACCESS_REPORT_TEXT_H_

// The access report (GDPR art. 15, "who saw my file") in plain words, for a
// caseworker to hand to the young person: a title, the youth id, the period,
// one line per access (date, service and sector, role, what was done, purpose,
// allowed or refused and why) and a summary count. Pure: no I/O.

#include <string>

#include "absl/strings/string_view.h"
#include "relais/v1/audit.pb.h"

namespace relais::audit {

// Whether `language` is one RenderAccessReportText speaks: "fr" or "en".
bool IsReportLanguage(absl::string_view language);

// Renders `report` in `language` ("fr" or "en"; anything else: French).
// Times are shown in UTC. A line's member appears only when the line carries
// one (the server fills it only with --access_report_names_members).
std::string RenderAccessReportText(const v1::AccessReportResponse& report,
                                   absl::string_view language);

}  // namespace relais::audit

#endif  // RELAIS_SERVICES_AUDIT_ACCESS_REPORT_TEXT_H_
