// libFuzzer target: relaisd's configuration file, host::ParseConfig then
// host::ApplyConfig. One input is the file's text.
//
// Checked: a refusal is INVALID_ARGUMENT and says where: the parser's
// "config: line L column C: ..." or ApplyConfig's "config: <field>: ..." with
// <field> a real field path of relais.v1.ServerConfig; a refusal leaves the
// settings untouched. An accepted file gives settings inside the ranges
// config.proto documents (Sane() below), and its text-format printout parses
// back to the same message and the same settings.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "services/host/config.h"

namespace relais::fuzz {
namespace {

[[noreturn]] void Finding(absl::string_view what, absl::string_view detail) {
  std::fprintf(stderr, "\n==== FUZZ FINDING: %.*s\n     %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// Every field path of ServerConfig ("listen", "care", "care.self_consent_age"...).
void CollectPaths(const google::protobuf::Descriptor* d, const std::string& prefix,
                  std::set<std::string>* out) {
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    const std::string path = absl::StrCat(prefix, f->name());
    out->insert(path);
    if (f->message_type() != nullptr) CollectPaths(f->message_type(), path + ".", out);
  }
}

const std::set<std::string>& FieldPaths() {
  static const std::set<std::string>* const paths = [] {
    auto* p = new std::set<std::string>();
    CollectPaths(v1::ServerConfig::descriptor(), "", p);
    return p;
  }();
  return *paths;
}

bool Within(absl::Duration d, absl::Duration min, absl::Duration max) {
  return d >= min && d <= max;
}

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

// The settings an accepted file may produce; "" when sane, else what is not.
std::string Sane(const host::ServerSettings& s) {
  const host::HostOptions& h = s.host;
  const absl::Duration day = absl::Hours(24);
  if (!absl::StrContains(h.listen_address, ':')) return "listen";
  if (h.db_path.empty() || HasNul(h.db_path)) return "database.path";
  if (!Within(h.db_busy_timeout, absl::Milliseconds(1), absl::Minutes(10))) {
    return "database.busy_timeout";
  }
  if (h.keys_dir.empty() || HasNul(h.keys_dir)) return "keys.dir";
  if (HasNul(h.master_key_file) || HasNul(h.previous_master_key_file)) return "keys.*";
  const int tls_files =
      !s.tls_cert_file.empty() + !s.tls_key_file.empty() + !s.tls_client_ca_file.empty();
  if (tls_files != 0 && tls_files != 3) return "tls: all three files or none";
  if (!Within(h.token_lifetime, absl::Minutes(1), day)) return "auth.token_lifetime";
  if (h.care.self_consent_age < 10 || h.care.self_consent_age > 18) {
    return "care.self_consent_age";
  }
  if (!Within(h.care.max_overlap, day, 365 * day)) return "care.max_overlap";
  if (!Within(h.care.emergency_access_duration, absl::Minutes(1), 7 * day)) {
    return "care.emergency_access_duration";
  }
  if (!Within(h.sweep_interval, absl::Seconds(1), day)) return "care.handover_sweep_interval";
  if (h.checkpoint_every_events < 1 || h.checkpoint_every_events > 1000000) {
    return "audit.checkpoint_every_events";
  }
  if (!Within(h.checkpoint_every, absl::Seconds(1), day)) return "audit.checkpoint_every";
  if (!h.retention.Validate().ok()) return "retention";
  if (!Within(h.retention.sweep_interval, absl::ZeroDuration(), 30 * day)) {
    return "retention.sweep_interval";
  }
  if (!h.metrics_listen.empty() && !host::IsLoopbackAddress(h.metrics_listen)) {
    return "metrics_listen";
  }
  if (!Within(h.health_probe_interval, absl::Milliseconds(100), absl::Minutes(5))) {
    return "health_probe_interval";
  }
  if (h.max_message_bytes < (64 << 10) || h.max_message_bytes > (64 << 20)) {
    return "max_request_bytes";
  }
  if (s.log_level != "debug" && s.log_level != "info" && s.log_level != "warning" &&
      s.log_level != "error") {
    return "log_level";
  }
  return "";
}

// The fields of the settings the checks compare, as one string.
std::string Digest(const host::ServerSettings& s) {
  const host::HostOptions& h = s.host;
  std::string out = absl::StrCat(
      h.listen_address, "|", h.db_path, "|", absl::FormatDuration(h.db_busy_timeout), "|",
      h.keys_dir, "|", h.master_key_file, "|", h.previous_master_key_file, "|", s.tls_cert_file,
      "|", s.tls_key_file, "|", s.tls_client_ca_file, "|", absl::FormatDuration(h.token_lifetime),
      "|", h.care.self_consent_age, "|", absl::FormatDuration(h.care.max_overlap), "|",
      absl::FormatDuration(h.care.emergency_access_duration), "|",
      absl::FormatDuration(h.sweep_interval), "|", h.checkpoint_every_events, "|",
      absl::FormatDuration(h.checkpoint_every), "|", h.access_report_names_members, "|",
      h.metrics_listen, "|", absl::FormatDuration(h.health_probe_interval), "|",
      h.max_message_bytes, "|", s.log_level, "|", absl::FormatDuration(h.retention.sweep_interval));
  for (const auto& [category, period] : h.retention.period) {
    absl::StrAppend(&out, "|", category, "=", absl::FormatDuration(period));
  }
  return out;
}

}  // namespace
}  // namespace relais::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace relais;
  using namespace relais::fuzz;
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<v1::ServerConfig> config = host::ParseConfig(text);
  if (!config.ok()) {
    if (!absl::IsInvalidArgument(config.status())) {
      Finding("a parse refusal other than INVALID_ARGUMENT", config.status().ToString());
    }
    if (!absl::StartsWith(config.status().message(), "config: line ")) {
      Finding("a parse refusal without its line and column", config.status().ToString());
    }
    return 0;
  }
  // Where relaisd's flags leave the settings before the file is applied.
  host::ServerSettings settings;
  settings.host.db_path = "data/relais.db";
  settings.host.keys_dir = "data/keys";
  const std::string before = Digest(settings);
  absl::Status applied = host::ApplyConfig(*config, &settings);
  if (!applied.ok()) {
    const absl::string_view message = applied.message();
    if (!absl::IsInvalidArgument(applied)) {
      Finding("a refusal other than INVALID_ARGUMENT", applied.ToString());
    }
    if (!absl::StartsWith(message, "config: ")) Finding("a refusal without config:", message);
    const absl::string_view rest = message.substr(8);
    const size_t colon = rest.find(": ");
    if (colon == absl::string_view::npos || rest.size() == colon + 2 ||
        FieldPaths().count(std::string(rest.substr(0, colon))) == 0) {
      Finding("a refusal that does not name a field of ServerConfig", message);
    }
    if (Digest(settings) != before) Finding("a refused file changed the settings", message);
    return 0;
  }
  if (const std::string insane = Sane(settings); !insane.empty()) {
    Finding("an accepted file gave settings out of range", insane);
  }
  // What relaisd accepted, printed and read again, means the same.
  std::string printed;
  if (!google::protobuf::TextFormat::PrintToString(*config, &printed)) {
    Finding("an accepted config does not print", text);
  }
  absl::StatusOr<v1::ServerConfig> again = host::ParseConfig(printed);
  if (!again.ok()) Finding("a printed config does not parse", again.status().ToString());
  if (again->SerializeAsString() != config->SerializeAsString()) {
    Finding("a printed config parses to another message", printed);
  }
  host::ServerSettings settings_again;
  settings_again.host.db_path = "data/relais.db";
  settings_again.host.keys_dir = "data/keys";
  if (!host::ApplyConfig(*again, &settings_again).ok() ||
      Digest(settings_again) != Digest(settings)) {
    Finding("a printed config gives other settings", printed);
  }
  return 0;
}
