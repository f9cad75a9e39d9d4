#include "services/host/config.h"

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace relais::host {
namespace {

// ParseConfig + ApplyConfig on fresh settings; the error message, or "" when
// the text is accepted.
std::string Refusal(const std::string& text, ServerSettings* settings = nullptr) {
  ServerSettings scratch;
  if (settings == nullptr) settings = &scratch;
  absl::StatusOr<v1::ServerConfig> config = ParseConfig(text);
  if (!config.ok()) {
    EXPECT_TRUE(absl::IsInvalidArgument(config.status())) << config.status();
    return std::string(config.status().message());
  }
  absl::Status applied = ApplyConfig(*config, settings);
  if (!applied.ok()) {
    EXPECT_TRUE(absl::IsInvalidArgument(applied)) << applied;
    return std::string(applied.message());
  }
  return "";
}

TEST(ConfigParse, SyntaxErrorGivesLineAndColumn) {
  EXPECT_EQ(Refusal("listen: \"127.0.0.1:50051\"\ncare {\n  self_consent_age 12\n}\n"),
            "config: line 3 column 20: care.self_consent_age: Expected \":\", found \"12\".");
  EXPECT_TRUE(absl::StartsWith(Refusal("care {"), "config: line 1 column 7: "))
      << Refusal("care {");
}

TEST(ConfigParse, UnknownFieldIsNamedWithItsPosition) {
  const std::string error = Refusal("listen: \"127.0.0.1:1\"\nlisten_adress: \"x:1\"\n");
  EXPECT_TRUE(absl::StartsWith(error, "config: line 2 column ")) << error;
  EXPECT_TRUE(absl::StrContains(error, "no field named \"listen_adress\"")) << error;
  // Between two fields of a message: the message is named.
  EXPECT_EQ(Refusal("care {\n  self_consent_age: 12\n  }}"),
            "config: line 3 column 4: Expected identifier, got: }");
  EXPECT_EQ(Refusal("care {\n  self_consent_age: 12\n  ;;"),
            "config: line 3 column 4: in care: Expected identifier, got: ;");
  EXPECT_EQ(
      Refusal("# comment: {\ncare {\n\tconsent_age: 12 }"),
      "config: line 3 column 20: care.consent_age: Message type \"relais.v1.CareConfig\" has no "
      "field named \"consent_age\".");
}

TEST(ConfigParse, TextThatIsNotUtf8IsRefusedWithItsPosition) {
  EXPECT_EQ(Refusal("log_level: \"info\"\nkeys { dir: \"/k\xff\" }"),
            "config: line 2 column 16: not UTF-8");
  EXPECT_EQ(Refusal("# \xc0\xafoverlong"), "config: line 1 column 3: not UTF-8");
  EXPECT_EQ(Refusal("# caf\xc3\xa9, \xe2\x82\xac, \xf0\x9f\x98\x80\n"), "");
}

TEST(ConfigParse, WrongTypeAndRepeatedFieldAreRefused) {
  const std::string wrong_type = Refusal("care { self_consent_age: \"twelve\" }");
  EXPECT_EQ(wrong_type,
            "config: line 1 column 26: care.self_consent_age: Expected integer, got: \"twelve\"");
  const std::string twice = Refusal("log_level: \"info\"\nlog_level: \"debug\"\n");
  EXPECT_TRUE(absl::StrContains(twice, "log_level")) << twice;
}

TEST(ConfigApply, EmptyConfigLeavesDefaultsUnchanged) {
  ServerSettings settings;
  settings.host.db_path = "from-flags.db";
  ASSERT_EQ(Refusal("", &settings), "");
  ASSERT_EQ(Refusal("# only a comment\n\ncare {}\ndatabase {}\n", &settings), "");
  const HostOptions defaults;
  const HostOptions& h = settings.host;
  EXPECT_EQ(h.db_path, "from-flags.db");
  EXPECT_EQ(h.listen_address, defaults.listen_address);
  EXPECT_EQ(h.db_busy_timeout, defaults.db_busy_timeout);
  EXPECT_EQ(h.keys_dir, defaults.keys_dir);
  EXPECT_EQ(h.master_key_file, defaults.master_key_file);
  EXPECT_EQ(h.care.self_consent_age, defaults.care.self_consent_age);
  EXPECT_EQ(h.care.max_overlap, defaults.care.max_overlap);
  EXPECT_EQ(h.care.emergency_access_duration, defaults.care.emergency_access_duration);
  EXPECT_EQ(h.token_lifetime, defaults.token_lifetime);
  EXPECT_EQ(h.sweep_interval, defaults.sweep_interval);
  EXPECT_EQ(h.max_message_bytes, defaults.max_message_bytes);
  EXPECT_EQ(h.checkpoint_every_events, defaults.checkpoint_every_events);
  EXPECT_EQ(h.checkpoint_every, defaults.checkpoint_every);
  EXPECT_EQ(h.health_probe_interval, defaults.health_probe_interval);
  EXPECT_EQ(h.metrics_listen, defaults.metrics_listen);
  EXPECT_EQ(h.access_report_names_members, defaults.access_report_names_members);
  EXPECT_EQ(h.retention.period, defaults.retention.period);
  EXPECT_EQ(h.retention.sweep_interval, defaults.retention.sweep_interval);
  EXPECT_EQ(h.find_youth_per_hour, 20);
  EXPECT_EQ(settings.tls_cert_file, "");
  EXPECT_EQ(settings.log_level, "info");
}

TEST(ConfigApply, ValuesLandInHostOptions) {
  ServerSettings settings;
  ASSERT_EQ(Refusal(R"(
    listen: "[::1]:7000"
    database { path: "/srv/r.db" busy_timeout: "250ms" }
    keys { dir: "/srv/keys" master_key_file: "/srv/master.key" }
    tls { cert_file: "/c.pem" key_file: "/k.pem" client_ca_file: "/ca.pem" }
    auth { token_lifetime: "1h30m" one_time_password_lifetime: "24h" }
    care { self_consent_age: 14 max_overlap: "30d" emergency_access_duration: "12h"
           handover_sweep_interval: "30s" }
    audit { checkpoint_every_events: 50 checkpoint_every: "2m" access_report_names_members: true }
    retention { general: "365d" health: "730d" sweep_interval: "0" }
    record { find_youth_per_hour: 5 erasure_grace_period: "0s" }
    metrics_listen: ""
    health_probe_interval: "1s"
    max_request_bytes: 2097152
    log_level: "warning"
  )",
                    &settings),
            "");
  const HostOptions& h = settings.host;
  EXPECT_EQ(h.listen_address, "[::1]:7000");
  EXPECT_EQ(h.db_path, "/srv/r.db");
  EXPECT_EQ(h.db_busy_timeout, absl::Milliseconds(250));
  EXPECT_EQ(h.keys_dir, "/srv/keys");
  EXPECT_EQ(h.master_key_file, "/srv/master.key");
  EXPECT_EQ(settings.tls_cert_file, "/c.pem");
  EXPECT_EQ(settings.tls_key_file, "/k.pem");
  EXPECT_EQ(settings.tls_client_ca_file, "/ca.pem");
  EXPECT_EQ(h.token_lifetime, absl::Minutes(90));
  EXPECT_EQ(h.one_time_password_lifetime, absl::Hours(24));
  EXPECT_EQ(h.care.self_consent_age, 14);
  EXPECT_EQ(h.care.max_overlap, absl::Hours(24 * 30));
  EXPECT_EQ(h.care.emergency_access_duration, absl::Hours(12));
  EXPECT_EQ(h.sweep_interval, absl::Seconds(30));
  EXPECT_EQ(h.checkpoint_every_events, 50);
  EXPECT_EQ(h.checkpoint_every, absl::Minutes(2));
  EXPECT_TRUE(h.access_report_names_members);
  EXPECT_EQ(h.retention.period.at(v1::DATA_CATEGORY_GENERAL), absl::Hours(24 * 365));
  EXPECT_EQ(h.retention.period.at(v1::DATA_CATEGORY_HEALTH), absl::Hours(24 * 730));
  EXPECT_EQ(h.retention.period.at(v1::DATA_CATEGORY_JUDICIAL),
            record::RetentionPolicy::Defaults().period.at(v1::DATA_CATEGORY_JUDICIAL));
  EXPECT_EQ(h.retention.sweep_interval, absl::ZeroDuration());  // scheduled sweep off
  EXPECT_EQ(h.erasure_grace_period, absl::ZeroDuration());      // erased right after approval
  EXPECT_EQ(h.metrics_listen, "");                              // present and empty: metrics off
  EXPECT_EQ(h.health_probe_interval, absl::Seconds(1));
  EXPECT_EQ(h.max_message_bytes, 2 << 20);
  EXPECT_EQ(settings.log_level, "warning");
  EXPECT_EQ(h.find_youth_per_hour, 5);
}

// Each invalid value: refused, the message names the field and what was read.
TEST(ConfigApply, EachInvalidValueIsRefusedNamingItsField) {
  const struct {
    const char* text;
    const char* error;
  } cases[] = {
      {"care { self_consent_age: 40 }",
       "config: care.self_consent_age: must be between 10 and 18, got 40"},
      {"care { self_consent_age: 0 }",
       "config: care.self_consent_age: must be between 10 and 18, got 0"},
      {"care { max_overlap: \"400d\" }",
       "config: care.max_overlap: must be between 1d and 365d, got \"400d\""},
      {"care { max_overlap: \"ninety days\" }",
       "config: care.max_overlap: not a duration (a number and a unit: ms, s, m, h or d; e.g. "
       "\"15m\", \"90d\"), got \"ninety days\""},
      {"care { emergency_access_duration: \"30s\" }",
       "config: care.emergency_access_duration: must be between 1m and 7d, got \"30s\""},
      {"care { handover_sweep_interval: \"0\" }",
       "config: care.handover_sweep_interval: must be between 1s and 1d, got \"0\""},
      {"listen: \"50051\"", "config: listen: must be host:port"},
      {"listen: \"127.0.0.1:70000\"", "config: listen: must be host:port"},
      {"listen: \"\"", "config: listen: must be host:port"},
      {"database { path: \"data/relais.db\" }", "config: database.path: must be an absolute path"},
      {"database { path: \"\" }", "config: database.path: must not be empty, got \"\""},
      {"database { busy_timeout: \"-5s\" }", "config: database.busy_timeout: not a duration"},
      {"database { busy_timeout: \"1h\" }",
       "config: database.busy_timeout: must be between 1ms and 10m, got \"1h\""},
      {"keys { dir: \"\" }", "config: keys.dir: must not be empty"},
      {"keys { master_key_file: \"master.key\" }",
       "config: keys.master_key_file: must be an absolute path"},
      {"keys { previous_master_key_file: \"/a\\000b\" }",
       "config: keys.previous_master_key_file: must not contain a NUL byte, got \"/a\\000b\""},
      {"tls { cert_file: \"/c.pem\" key_file: \"/k.pem\" }",
       "config: tls.client_ca_file: missing: tls needs cert_file, key_file and client_ca_file "
       "together, got nothing"},
      {"tls { cert_file: \"c.pem\" }", "config: tls.cert_file: must be an absolute path"},
      {"auth { token_lifetime: \"7d\" }",
       "config: auth.token_lifetime: must be between 1m and 1d, got \"7d\""},
      {"auth { session_max_lifetime: \"10m\" }",
       "config: auth.session_max_lifetime: must be between 15m and 7d, got \"10m\""},
      {"auth { max_concurrent_password_checks: 0 }",
       "config: auth.max_concurrent_password_checks: must be between 1 and 1024, got 0"},
      {"auth { one_time_password_lifetime: \"31d\" }",
       "config: auth.one_time_password_lifetime: must be between 1h and 30d, got \"31d\""},
      {"auth { login_gateways: \"svc_agaj\" login_gateways: \"SVC AGAJ\" }",
       "config: auth.login_gateways: not a service id: \"SVC AGAJ\""},
      {"auth { login_gateways: \"\" }", "config: auth.login_gateways: not a service id: \"\""},
      {"audit { checkpoint_every_events: 0 }",
       "config: audit.checkpoint_every_events: must be between 1 and 1000000, got 0"},
      {"audit { checkpoint_every: \"10ms\" }",
       "config: audit.checkpoint_every: must be between 1s and 1d, got \"10ms\""},
      {"retention { health: \"100d\" }",
       "config: retention.health: must not be shorter than retention.general (1825d), got "
       "\"100d\""},
      {"retention { general: \"4000d\" }",
       "config: retention.health: must not be shorter than retention.general (4000d), got "
       "3650d (not set in the file)"},
      {"retention { family: \"0\" }",
       "config: retention.family: must be between 1d and 36500d, got \"0\""},
      {"retention { sweep_interval: \"60d\" }",
       "config: retention.sweep_interval: must be between 0s and 30d, got \"60d\""},
      {"record { find_youth_per_hour: 0 }",
       "config: record.find_youth_per_hour: must be between 1 and 10000, got 0"},
      {"record { find_youth_per_hour: 10001 }",
       "config: record.find_youth_per_hour: must be between 1 and 10000, got 10001"},
      {"record { erasure_grace_period: \"91d\" }",
       "config: record.erasure_grace_period: must be between 0s and 90d, got \"91d\""},
      {"metrics_listen: \"0.0.0.0:9464\"",
       "config: metrics_listen: must be \"\" or a loopback address, 127.x.x.x:port or "
       "localhost:port, got \"0.0.0.0:9464\""},
      {"health_probe_interval: \"1ms\"",
       "config: health_probe_interval: must be between 100ms and 5m, got \"1ms\""},
      {"max_request_bytes: 1024",
       "config: max_request_bytes: must be between 65536 and 67108864, got 1024"},
      {"log_level: \"verbose\"",
       "config: log_level: must be \"debug\", \"info\", \"warning\" or \"error\", got "
       "\"verbose\""},
  };
  for (const auto& c : cases) {
    ServerSettings settings;
    const HostOptions before = settings.host;
    const std::string error = Refusal(c.text, &settings);
    EXPECT_TRUE(absl::StartsWith(error, c.error)) << c.text << "\n  gave: " << error;
    // A refused file changes nothing.
    EXPECT_EQ(settings.host.listen_address, before.listen_address) << c.text;
    EXPECT_EQ(settings.host.care.self_consent_age, before.care.self_consent_age) << c.text;
    EXPECT_EQ(settings.tls_cert_file, "") << c.text;
  }
}

TEST(ConfigApply, ARefusedFileChangesNothingEvenAfterValidFields) {
  ServerSettings settings;
  EXPECT_NE(
      Refusal("listen: \"10.0.0.1:1\"\ncare { self_consent_age: 14 }\nlog_level: \"x\"", &settings),
      "");
  EXPECT_EQ(settings.host.listen_address, HostOptions().listen_address);
  EXPECT_EQ(settings.host.care.self_consent_age, 12);
}

TEST(ConfigDuration, UnitsAndCombinations) {
  EXPECT_EQ(*ParseConfigDuration("0"), absl::ZeroDuration());
  EXPECT_EQ(*ParseConfigDuration("90d"), absl::Hours(24 * 90));
  EXPECT_EQ(*ParseConfigDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseConfigDuration("1.5s"), absl::Milliseconds(1500));
  EXPECT_EQ(*ParseConfigDuration("250ms"), absl::Milliseconds(250));
  for (const char* bad : {"", "15", "m", "-1s", "1y", "1.2.3s", ".5s", "1 s", "inf", "1e9s",
                          "99999999999999999999999d", "nan"}) {
    EXPECT_FALSE(ParseConfigDuration(bad).ok()) << bad;
  }
}

TEST(ConfigLoopback, LiteralLoopbackAddressesOnly) {
  for (const char* yes : {"127.0.0.1:1", "127.9.9.9:0", "[::1]:50051", "localhost:80"}) {
    EXPECT_TRUE(IsLoopbackAddress(yes)) << yes;
  }
  for (const char* no : {"0.0.0.0:1", "127.0.0.1.example.org:1", "[::]:1", "127.0.0.1",
                         "10.0.0.1:50051", "localhost:x"}) {
    EXPECT_FALSE(IsLoopbackAddress(no)) << no;
  }
}

// deploy/relaisd.textproto is the documented example: it must stay valid and
// hold every setting.
TEST(ConfigExample, DeployExampleIsValidCompleteAndLandsInHostOptions) {
  std::ifstream in(RELAIS_SOURCE_DIR "/deploy/relaisd.textproto");
  ASSERT_TRUE(in) << "deploy/relaisd.textproto";
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<v1::ServerConfig> config = ParseConfig(text.str());
  ASSERT_TRUE(config.ok()) << config.status();
  ServerSettings settings;
  ASSERT_TRUE(ApplyConfig(*config, &settings).ok());
  EXPECT_EQ(settings.host.listen_address, "0.0.0.0:50051");
  EXPECT_EQ(settings.host.db_path, "/var/lib/relais/relais.db");
  EXPECT_EQ(settings.host.keys_dir, "/var/lib/relais/keys");
  EXPECT_EQ(settings.tls_client_ca_file, "/etc/relais/client-ca.pem");
  EXPECT_EQ(settings.host.care.self_consent_age, 12);
  EXPECT_EQ(settings.host.care.max_overlap, absl::Hours(24 * 90));
  EXPECT_EQ(settings.host.metrics_listen, "127.0.0.1:9464");
  EXPECT_EQ(settings.host.find_youth_per_hour, 20);
  EXPECT_EQ(settings.host.erasure_grace_period, absl::Hours(24 * 7));
  EXPECT_EQ(settings.host.session_max_lifetime, absl::Hours(12));
  EXPECT_EQ(settings.host.max_concurrent_password_checks, 8);
  EXPECT_EQ(settings.host.login_gateways, std::vector<std::string>{"svc_agaj"});

  // Every field of every message is set in the example ("every setting present").
  std::vector<std::string> missing;
  std::function<void(const google::protobuf::Message&, const std::string&)> walk =
      [&](const google::protobuf::Message& m, const std::string& prefix) {
        const google::protobuf::Descriptor* d = m.GetDescriptor();
        const google::protobuf::Reflection* r = m.GetReflection();
        for (int i = 0; i < d->field_count(); ++i) {
          const google::protobuf::FieldDescriptor* f = d->field(i);
          const std::string name = absl::StrCat(prefix, f->name());
          if (f->is_repeated() ? r->FieldSize(m, f) == 0 : !r->HasField(m, f)) {
            missing.push_back(name);
          } else if (f->message_type() != nullptr && !f->is_repeated()) {
            walk(r->GetMessage(m, f), name + ".");
          }
        }
      };
  walk(*config, "");
  EXPECT_TRUE(missing.empty()) << "not in deploy/relaisd.textproto: " << missing.front();
}

}  // namespace
}  // namespace relais::host
