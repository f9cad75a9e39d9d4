#include "services/host/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "services/record/retention_policy.h"
#include "storage/database.h"

namespace relais::host {
namespace {

// The offset of the first byte that is not part of well-formed UTF-8 (no
// overlong forms, surrogates or code points above U+10FFFF), or npos.
size_t FirstNonUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > text.size()) return i;
    for (size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return i;
    }
    i += len;
  }
  return absl::string_view::npos;
}

// The byte offset of a parser position: 0-based line and column, the
// column counting a tab as reaching the next multiple of 8 (protobuf's tokenizer).
size_t OffsetOf(absl::string_view text, int line, int column) {
  size_t i = 0;
  for (int l = 0; l < line && i < text.size(); ++i) {
    if (text[i] == '\n') ++l;
  }
  for (int col = 0; col < column && i < text.size() && text[i] != '\n'; ++i) {
    col += text[i] == '\t' ? 8 - col % 8 : 1;
  }
  return i;
}

// Which field the parser was in when it stopped at `end`: "care.self_consent_age"
// when the error is in a field's name or value, "in care" when it is between
// the fields of a message, "" at the top level. A light tokenizer over the
// text before the error: comments, strings, identifiers, punctuation.
std::string FieldAt(absl::string_view text, size_t end) {
  struct Token {
    char kind;  // 'i' identifier, 'v' other value, or the punctuation itself
    absl::string_view text;
  };
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < end) {
    const char c = text[i];
    if (c == '#') {
      while (i < end && text[i] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      size_t j = i + 1;
      while (j < end && text[j] != c && text[j] != '\n') j += text[j] == '\\' ? 2 : 1;
      tokens.push_back({'v', text.substr(i, 1)});
      i = j + 1;
    } else if (absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < end &&
             (absl::ascii_isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) {
        ++j;
      }
      tokens.push_back({'i', text.substr(i, j - i)});
      i = j;
    } else if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '{' || c == '}' || c == '<' || c == '>' || c == ':') {
      tokens.push_back({c, text.substr(i, 1)});
      ++i;
    } else {
      tokens.push_back({'v', text.substr(i, 1)});
      ++i;
    }
  }
  std::vector<absl::string_view> path;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const char next = t + 1 < tokens.size() ? tokens[t + 1].kind : 0;
    const char after = t + 2 < tokens.size() ? tokens[t + 2].kind : 0;
    if (tokens[t].kind == 'i' &&
        (next == '{' || next == '<' || (next == ':' && (after == '{' || after == '<')))) {
      path.push_back(tokens[t].text);
    } else if ((tokens[t].kind == '}' || tokens[t].kind == '>') && !path.empty()) {
      path.pop_back();
    }
  }
  // The error is in a field when the text before it ends with "name" or "name:".
  const size_t n = tokens.size();
  absl::string_view field;
  if (n >= 1 && tokens[n - 1].kind == 'i' && (n < 2 || tokens[n - 2].kind != ':')) {
    field = tokens[n - 1].text;
  } else if (n >= 2 && tokens[n - 1].kind == ':' && tokens[n - 2].kind == 'i') {
    field = tokens[n - 2].text;
  }
  if (!field.empty()) {
    // "name {" was pushed as a message already; do not repeat it.
    if (!path.empty() && path.back().data() == field.data()) path.pop_back();
    path.push_back(field);
    return absl::StrJoin(path, ".");
  }
  return path.empty() ? "" : absl::StrCat("in ", absl::StrJoin(path, "."));
}

// Records the first error with its position (1-based) and the field it is in.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  explicit FirstError(absl::string_view text) : text_(text) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!error_.empty()) return;
    error_ = absl::StrCat("config: line ", line + 1, " column ", column + 1, ": ");
    const std::string field = FieldAt(text_, OffsetOf(text_, line, column));
    if (!field.empty()) absl::StrAppend(&error_, field, ": ");
    absl::StrAppend(&error_, message);
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
  const std::string& error() const { return error_; }

 private:
  absl::string_view text_;
  std::string error_;
};

// A value as read, quoted and escaped so that control bytes cannot reach the
// terminal or the log; long values are cut.
std::string Quote(absl::string_view value) {
  constexpr size_t kMax = 96;
  std::string out = absl::StrCat("\"", absl::CEscape(value.substr(0, kMax)), "\"");
  if (value.size() > kMax) out += "...";
  return out;
}

absl::Status Bad(absl::string_view field, absl::string_view why, absl::string_view got) {
  return absl::InvalidArgumentError(absl::StrCat("config: ", field, ": ", why, ", got ", got));
}

// Whole days as "90d", the rest as abseil prints them ("1m30s").
std::string DurationText(absl::Duration d) {
  const absl::Duration day = absl::Hours(24);
  if (d == absl::ZeroDuration()) return "0s";
  if (d >= day && d % day == absl::ZeroDuration()) return absl::StrCat(d / day, "d");
  return absl::FormatDuration(d);
}

absl::Status DurationIn(absl::string_view field, const std::string& text, absl::Duration min,
                        absl::Duration max, absl::Duration* out) {
  absl::StatusOr<absl::Duration> d = ParseConfigDuration(text);
  if (!d.ok()) {
    return Bad(field,
               "not a duration (a number and a unit: ms, s, m, h or d; e.g. \"15m\", \"90d\")",
               Quote(text));
  }
  if (*d < min || *d > max) {
    return Bad(field,
               absl::StrCat("must be between ", DurationText(min), " and ", DurationText(max)),
               Quote(text));
  }
  *out = *d;
  return absl::OkStatus();
}

template <typename Int>
absl::Status IntIn(absl::string_view field, Int value, Int min, Int max, Int* out) {
  if (value < min || value > max) {
    return Bad(field, absl::StrCat("must be between ", min, " and ", max), absl::StrCat(value));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status PathIn(absl::string_view field, const std::string& value, bool may_be_empty,
                    std::string* out) {
  if (value.empty()) {
    if (!may_be_empty) return Bad(field, "must not be empty", "\"\"");
  } else if (value.find('\0') != std::string::npos) {
    return Bad(field, "must not contain a NUL byte", Quote(value));
  } else if (value.front() != '/') {
    return Bad(field,
               "must be an absolute path (a relative one would depend on the directory "
               "relaisd starts in)",
               Quote(value));
  } else if (value.size() > 4096) {
    return Bad(field, "must be at most 4096 bytes long", Quote(value));
  }
  *out = value;
  return absl::OkStatus();
}

// "host:port" with a port number; the host is a name, an IPv4 literal or a
// bracketed IPv6 literal, without spaces or control bytes.
bool IsHostPort(absl::string_view address, absl::string_view* host) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  int port = 0;
  const absl::string_view digits = address.substr(colon + 1);
  if (digits.empty() || digits.size() > 5) return false;
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  if (!absl::SimpleAtoi(digits, &port) || port > 65535) return false;
  *host = address.substr(0, colon);
  for (char c : *host) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) return false;
  }
  const bool bracketed = host->front() == '[';
  if (bracketed != (host->back() == ']')) return false;
  return bracketed || host->find(':') == absl::string_view::npos;
}

bool IsIpv4Loopback(absl::string_view host) {
  if (host == "localhost") return true;
  in_addr v4;
  return inet_pton(AF_INET, std::string(host).c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

absl::Status ApplyRetention(const v1::RetentionConfig& c, record::RetentionPolicy* policy) {
  const absl::Duration min = absl::Hours(24);
  const absl::Duration max = absl::Hours(24) * 36500;
  struct Field {
    bool present;
    const std::string& text;
    const char* name;
    v1::DataCategory category;
  };
  const Field fields[] = {
      {c.has_general(), c.general(), "retention.general", v1::DATA_CATEGORY_GENERAL},
      {c.has_education(), c.education(), "retention.education", v1::DATA_CATEGORY_EDUCATION},
      {c.has_family(), c.family(), "retention.family", v1::DATA_CATEGORY_FAMILY},
      {c.has_social(), c.social(), "retention.social", v1::DATA_CATEGORY_SOCIAL},
      {c.has_health(), c.health(), "retention.health", v1::DATA_CATEGORY_HEALTH},
      {c.has_judicial(), c.judicial(), "retention.judicial", v1::DATA_CATEGORY_JUDICIAL},
  };
  for (const Field& f : fields) {
    if (f.present)
      RETURN_IF_ERROR(DurationIn(f.name, f.text, min, max, &policy->period[f.category]));
  }
  // Special categories (GDPR art. 9, 10) are kept at least as long as general
  // ones; named here by field, whichever of the two the file set.
  const absl::Duration general = policy->period[v1::DATA_CATEGORY_GENERAL];
  for (const Field& f : {fields[4], fields[5]}) {
    if (policy->period[f.category] < general) {
      return Bad(
          f.name,
          absl::StrCat("must not be shorter than retention.general (", DurationText(general), ")"),
          f.present
              ? Quote(f.text)
              : absl::StrCat(DurationText(policy->period[f.category]), " (not set in the file)"));
    }
  }
  if (c.has_sweep_interval()) {
    RETURN_IF_ERROR(DurationIn("retention.sweep_interval", c.sweep_interval(), absl::ZeroDuration(),
                               absl::Hours(24) * 30, &policy->sweep_interval));
  }
  // A backstop for rules added to the policy later.
  if (absl::Status s = policy->Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("config: retention: ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status ApplyListen(const std::string& listen, HostOptions* h) {
  absl::string_view host;
  if (!IsHostPort(listen, &host)) {
    return Bad("listen", "must be host:port (e.g. \"0.0.0.0:50051\", \"[::1]:50051\")",
               Quote(listen));
  }
  h->listen_address = listen;
  return absl::OkStatus();
}

absl::Status ApplyDatabase(const v1::DatabaseConfig& d, HostOptions* h) {
  if (d.has_path() && storage::IsPostgresUri(d.path())) {
    if (absl::Status s = storage::CheckPostgresUri(d.path()); !s.ok()) {
      return Bad("database.path", s.message(), "a postgresql:// URI");
    }
    h->db_path = d.path();
  } else if (d.has_path()) {
    RETURN_IF_ERROR(PathIn("database.path", d.path(), false, &h->db_path));
  }
  if (d.has_busy_timeout()) {
    RETURN_IF_ERROR(DurationIn("database.busy_timeout", d.busy_timeout(), absl::Milliseconds(1),
                               absl::Minutes(10), &h->db_busy_timeout));
  }
  return absl::OkStatus();
}

absl::Status ApplyKeys(const v1::KeysConfig& k, HostOptions* h) {
  // Without a directory the keys would live in memory and die with the process.
  if (k.has_dir()) RETURN_IF_ERROR(PathIn("keys.dir", k.dir(), false, &h->keys_dir));
  if (k.has_master_key_file()) {
    RETURN_IF_ERROR(PathIn("keys.master_key_file", k.master_key_file(), true, &h->master_key_file));
  }
  if (k.has_previous_master_key_file()) {
    RETURN_IF_ERROR(PathIn("keys.previous_master_key_file", k.previous_master_key_file(), true,
                           &h->previous_master_key_file));
  }
  return absl::OkStatus();
}

absl::Status ApplyTls(const v1::TlsConfig& t, ServerSettings* out) {
  RETURN_IF_ERROR(PathIn("tls.cert_file", t.cert_file(), true, &out->tls_cert_file));
  RETURN_IF_ERROR(PathIn("tls.key_file", t.key_file(), true, &out->tls_key_file));
  RETURN_IF_ERROR(PathIn("tls.client_ca_file", t.client_ca_file(), true, &out->tls_client_ca_file));
  RETURN_IF_ERROR(PathIn("tls.crl_file", t.crl_file(), true, &out->tls_crl_file));
  const bool any = !t.cert_file().empty() || !t.key_file().empty() || !t.client_ca_file().empty();
  if (!any) return absl::OkStatus();
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string*>{"tls.cert_file", &t.cert_file()},
        {"tls.key_file", &t.key_file()},
        {"tls.client_ca_file", &t.client_ca_file()}}) {
    if (value->empty()) {
      return Bad(name, "missing: tls needs cert_file, key_file and client_ca_file together",
                 "nothing");
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyAuth(const v1::AuthConfig& a, HostOptions* h) {
  if (a.has_token_lifetime()) {
    RETURN_IF_ERROR(DurationIn("auth.token_lifetime", a.token_lifetime(), absl::Minutes(1),
                               absl::Hours(24), &h->token_lifetime));
  }
  if (a.has_session_max_lifetime()) {
    RETURN_IF_ERROR(DurationIn("auth.session_max_lifetime", a.session_max_lifetime(),
                               absl::Minutes(15), absl::Hours(24 * 7), &h->session_max_lifetime));
  }
  if (a.has_max_concurrent_password_checks()) {
    RETURN_IF_ERROR(IntIn<int>("auth.max_concurrent_password_checks",
                               a.max_concurrent_password_checks(), 1, 1024,
                               &h->max_concurrent_password_checks));
  }
  for (const std::string& gateway : a.login_gateways()) {
    const bool named = !gateway.empty() && gateway.size() <= 64 &&
                       std::all_of(gateway.begin(), gateway.end(), [](char c) {
                         return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                                c == '-' || c == '.';
                       });
    if (!named) {
      return absl::InvalidArgumentError(
          absl::StrCat("config: auth.login_gateways: not a service id: \"",
                       absl::CHexEscape(gateway.substr(0, 64)), "\""));
    }
    h->login_gateways.push_back(gateway);
  }
  if (a.has_one_time_password_lifetime()) {
    RETURN_IF_ERROR(DurationIn("auth.one_time_password_lifetime", a.one_time_password_lifetime(),
                               absl::Hours(1), absl::Hours(24 * 30),
                               &h->one_time_password_lifetime));
  }
  return absl::OkStatus();
}

absl::Status ApplyCare(const v1::CareConfig& k, HostOptions* h) {
  if (k.has_self_consent_age()) {
    RETURN_IF_ERROR(IntIn<int>("care.self_consent_age", k.self_consent_age(), 10, 18,
                               &h->care.self_consent_age));
  }
  if (k.has_max_overlap()) {
    RETURN_IF_ERROR(DurationIn("care.max_overlap", k.max_overlap(), absl::Hours(24),
                               absl::Hours(24) * 365, &h->care.max_overlap));
  }
  if (k.has_emergency_access_duration()) {
    RETURN_IF_ERROR(DurationIn("care.emergency_access_duration", k.emergency_access_duration(),
                               absl::Minutes(1), absl::Hours(24) * 7,
                               &h->care.emergency_access_duration));
  }
  if (k.has_handover_sweep_interval()) {
    RETURN_IF_ERROR(DurationIn("care.handover_sweep_interval", k.handover_sweep_interval(),
                               absl::Seconds(1), absl::Hours(24), &h->sweep_interval));
  }
  return absl::OkStatus();
}

absl::Status ApplyAudit(const v1::AuditConfig& a, HostOptions* h) {
  if (a.has_checkpoint_every_events()) {
    RETURN_IF_ERROR(IntIn<int64_t>("audit.checkpoint_every_events", a.checkpoint_every_events(), 1,
                                   1000000, &h->checkpoint_every_events));
  }
  if (a.has_checkpoint_every()) {
    RETURN_IF_ERROR(DurationIn("audit.checkpoint_every", a.checkpoint_every(), absl::Seconds(1),
                               absl::Hours(24), &h->checkpoint_every));
  }
  if (a.has_access_report_names_members()) {
    h->access_report_names_members = a.access_report_names_members();
  }
  if (a.has_witness_file()) {
    RETURN_IF_ERROR(PathIn("audit.witness_file", a.witness_file(), true, &h->audit_witness_file));
  }
  return absl::OkStatus();
}

absl::Status ApplyRecord(const v1::RecordConfig& r, HostOptions* h) {
  if (r.has_find_youth_per_hour()) {
    RETURN_IF_ERROR(IntIn<int>("record.find_youth_per_hour", r.find_youth_per_hour(), 1, 10000,
                               &h->find_youth_per_hour));
  }
  if (r.has_erasure_grace_period()) {
    RETURN_IF_ERROR(DurationIn("record.erasure_grace_period", r.erasure_grace_period(),
                               absl::ZeroDuration(), absl::Hours(24) * 90,
                               &h->erasure_grace_period));
  }
  return absl::OkStatus();
}

// The top-level settings of the running server: its metrics endpoint, health
// probe, request size limit and log level.
absl::Status ApplyOperations(const v1::ServerConfig& c, ServerSettings* out) {
  HostOptions& h = out->host;
  if (c.has_metrics_listen()) {
    absl::string_view host;
    if (!c.metrics_listen().empty() &&
        !(IsHostPort(c.metrics_listen(), &host) && IsIpv4Loopback(host))) {
      return Bad("metrics_listen",
                 "must be \"\" or a loopback address, 127.x.x.x:port or localhost:port",
                 Quote(c.metrics_listen()));
    }
    h.metrics_listen = c.metrics_listen();
  }
  if (c.has_health_probe_interval()) {
    RETURN_IF_ERROR(DurationIn("health_probe_interval", c.health_probe_interval(),
                               absl::Milliseconds(100), absl::Minutes(5),
                               &h.health_probe_interval));
  }
  if (c.has_max_request_bytes()) {
    RETURN_IF_ERROR(IntIn<int>("max_request_bytes", c.max_request_bytes(), 64 << 10, 64 << 20,
                               &h.max_message_bytes));
  }
  if (c.has_log_level()) {
    const std::string& level = c.log_level();
    if (level != "debug" && level != "info" && level != "warning" && level != "error") {
      return Bad("log_level", "must be \"debug\", \"info\", \"warning\" or \"error\"",
                 Quote(level));
    }
    out->log_level = level;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<absl::Duration> ParseConfigDuration(absl::string_view text) {
  const absl::Status bad = absl::InvalidArgumentError("not a duration");
  if (text == "0") return absl::ZeroDuration();
  if (text.empty() || text.size() > 64) return bad;
  absl::Duration total = absl::ZeroDuration();
  size_t i = 0;
  while (i < text.size()) {
    const size_t number_start = i;
    while (i < text.size() &&
           (absl::ascii_isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
      ++i;
    }
    const absl::string_view number = text.substr(number_start, i - number_start);
    const size_t unit_start = i;
    while (i < text.size() && absl::ascii_isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const absl::string_view unit = text.substr(unit_start, i - unit_start);
    double value = 0;
    if (number.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(number.front())) ||
        !absl::SimpleAtod(number, &value)) {
      return bad;
    }
    absl::Duration one;
    if (unit == "ns") {
      one = absl::Nanoseconds(1);
    } else if (unit == "us") {
      one = absl::Microseconds(1);
    } else if (unit == "ms") {
      one = absl::Milliseconds(1);
    } else if (unit == "s") {
      one = absl::Seconds(1);
    } else if (unit == "m") {
      one = absl::Minutes(1);
    } else if (unit == "h") {
      one = absl::Hours(1);
    } else if (unit == "d") {
      one = absl::Hours(24);
    } else {
      return bad;
    }
    total += one * value;
  }
  if (total == absl::InfiniteDuration()) return bad;
  return total;
}

bool IsLoopbackAddress(absl::string_view address) {
  absl::string_view host;
  if (!IsHostPort(address, &host)) return false;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    in6_addr v6;
    return inet_pton(AF_INET6, std::string(host.substr(1, host.size() - 2)).c_str(), &v6) == 1 &&
           IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return IsIpv4Loopback(host);
}

absl::StatusOr<v1::ServerConfig> ParseConfig(absl::string_view text) {
  if (text.size() > kMaxConfigBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: larger than ", kMaxConfigBytes, " bytes"));
  }
  // String fields are proto3 strings, UTF-8; so is the whole file.
  if (const size_t bad = FirstNonUtf8(text); bad != absl::string_view::npos) {
    const absl::string_view before = text.substr(0, bad);
    const size_t line_start = before.rfind('\n');
    return absl::InvalidArgumentError(absl::StrCat(
        "config: line ", std::count(before.begin(), before.end(), '\n') + 1, " column ",
        bad - (line_start == absl::string_view::npos ? 0 : line_start + 1) + 1, ": not UTF-8"));
  }
  v1::ServerConfig config;
  FirstError errors(text);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError(errors.error().empty() ? "config: does not parse"
                                                             : errors.error());
  }
  return config;
}

absl::Status ApplyConfig(const v1::ServerConfig& c, ServerSettings* settings) {
  // Everything lands in a copy first: a refused file changes nothing. One
  // section at a time, in the order of the first error reported.
  ServerSettings out = *settings;
  HostOptions& h = out.host;
  if (c.has_listen()) RETURN_IF_ERROR(ApplyListen(c.listen(), &h));
  if (c.has_database()) RETURN_IF_ERROR(ApplyDatabase(c.database(), &h));
  if (c.has_keys()) RETURN_IF_ERROR(ApplyKeys(c.keys(), &h));
  if (c.has_tls()) RETURN_IF_ERROR(ApplyTls(c.tls(), &out));
  if (c.has_auth()) RETURN_IF_ERROR(ApplyAuth(c.auth(), &h));
  if (c.has_care()) RETURN_IF_ERROR(ApplyCare(c.care(), &h));
  if (c.has_audit()) RETURN_IF_ERROR(ApplyAudit(c.audit(), &h));
  if (c.has_retention()) RETURN_IF_ERROR(ApplyRetention(c.retention(), &h.retention));
  if (c.has_record()) RETURN_IF_ERROR(ApplyRecord(c.record(), &h));
  RETURN_IF_ERROR(ApplyOperations(c, &out));
  *settings = std::move(out);
  return absl::OkStatus();
}

}  // namespace relais::host
