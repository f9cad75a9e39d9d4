// relais-load: drives relaisd with a call mix over real connections and
// reports throughput, latency percentiles, every final status and the
// server's CPU per call, each beside a bare echo measured in the same run.
// docs/performance.md has the method; deploy/bench.sh runs it.

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "observability/request_log.h"
#include "relais/v1/auth.grpc.pb.h"
#include "relais/v1/record.grpc.pb.h"
#include "services/host/config.h"
#include "tools/load/driver.h"
#include "tools/load/report.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "relaisd address, host:port");
ABSL_FLAG(bool, insecure, false, "plaintext, to relaisd --insecure_dev on loopback");
ABSL_FLAG(std::string, ca, "", "PEM file of the CA that signed relaisd's certificate");
ABSL_FLAG(std::string, cert, "", "PEM client certificate of the --user's service");
ABSL_FLAG(std::string, key, "", "PEM private key of --cert");
ABSL_FLAG(std::string, tls_server_name, "", "name to verify in relaisd's certificate");
ABSL_FLAG(std::string, user, "", "login of the member the calls are made as");
ABSL_FLAG(std::string, youth, "", "youth id the calls are about (its service must accompany it)");
ABSL_FLAG(std::string, mix, "get=60,list=20,add=15,care=5",
          "kind=weight list: echo, get (GetEntry), list (ListEntries), add (AddEntry), care "
          "(ListConsents, ListHandovers, CheckAccess in turn)");
ABSL_FLAG(int, connections, 4, "HTTP/2 connections, calls spread over them in turn");
ABSL_FLAG(int, concurrency, 64, "calls in flight");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "length of each measured phase");
ABSL_FLAG(int64_t, count, 0, "calls per measured phase instead of --duration (0: by duration)");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(10), "deadline of each call");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1), "unreported mix phase first");
ABSL_FLAG(bool, echo, true, "measure DiagnosticsService.Echo first (relaisd --diagnostics)");
ABSL_FLAG(bool, overload, false,
          "after the mix: an open loop at --overload_factor x the mix's rate with --deadline, "
          "then the mix again, and the seconds until it is back to 80% of its rate");
ABSL_FLAG(double, overload_factor, 2.0, "the overload's rate over the measured mix rate");
ABSL_FLAG(int, server_pid, 0, "relaisd's pid on this machine: report its CPU per call and RSS");
ABSL_FLAG(bool, json, false, "print one JSON object instead of the table");

namespace relais::load {
namespace {

// Statuses a loaded server may answer; anything else is a fault (exit 1).
bool Acceptable(const std::string& status) {
  return status == "OK" || status == "RESOURCE_EXHAUSTED" || status == "DEADLINE_EXCEEDED" ||
         status == "UNAVAILABLE" || status == "NOT_SENT";
}

bool ReadFile(const std::string& path, std::string* out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out->append(buf, n);
  std::fclose(f);
  return true;
}

std::vector<std::shared_ptr<grpc::Channel>> OpenChannels(std::string* error) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (absl::GetFlag(FLAGS_insecure)) {
    // The password and the token would cross the network in clear.
    if (!host::IsLoopbackAddress(absl::GetFlag(FLAGS_server))) {
      *error = "--insecure is for a loopback server only (127.x.y.z, [::1] or localhost)";
      return {};
    }
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions tls;
    if (!ReadFile(absl::GetFlag(FLAGS_ca), &tls.pem_root_certs) ||
        !ReadFile(absl::GetFlag(FLAGS_cert), &tls.pem_cert_chain) ||
        !ReadFile(absl::GetFlag(FLAGS_key), &tls.pem_private_key)) {
      *error = "mutual TLS needs readable --ca, --cert and --key (or --insecure)";
      return {};
    }
    credentials = grpc::SslCredentials(tls);
  }
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_connections)); ++i) {
    grpc::ChannelArguments args;
    // Its own subchannel pool: one TCP connection per channel.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("relais.load.connection", i);
    if (!absl::GetFlag(FLAGS_tls_server_name).empty()) {
      args.SetSslTargetNameOverride(absl::GetFlag(FLAGS_tls_server_name));
    }
    channels.push_back(grpc::CreateCustomChannel(absl::GetFlag(FLAGS_server), credentials, args));
  }
  return channels;
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat(observability::GrpcCodeName(status.error_code()), ": ",
                      status.error_message());
}

// Logs in with the password on stdin's first line and finds the entries the
// mix reads (adding one if there is none).
bool Prepare(const std::shared_ptr<grpc::Channel>& channel, const Mix& mix, Target* target) {
  std::string password;
  std::getline(std::cin, password);
  v1::LoginRequest login;
  login.set_login(absl::GetFlag(FLAGS_user));
  login.set_password(password);
  v1::LoginResponse session;
  grpc::ClientContext login_ctx;
  login_ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  const grpc::Status logged_in =
      v1::AuthService::NewStub(channel)->Login(&login_ctx, login, &session);
  if (!logged_in.ok()) {
    std::cerr << "relais-load: login failed: " << Describe(logged_in) << "\n";
    return false;
  }
  target->token = session.token();
  target->youth_id = absl::GetFlag(FLAGS_youth);
  const bool needs_youth = mix.Has(CallKind::kGet) || mix.Has(CallKind::kList) ||
                           mix.Has(CallKind::kAdd) || mix.Has(CallKind::kCare);
  if (!needs_youth) return true;
  if (target->youth_id.empty()) {
    std::cerr << "relais-load: --youth is required for this --mix\n";
    return false;
  }
  const auto record = v1::RecordService::NewStub(channel);
  for (int attempt = 0; attempt < 2 && target->entry_ids.empty(); ++attempt) {
    v1::ListEntriesRequest list;
    list.set_youth_id(target->youth_id);
    list.set_purpose(v1::PURPOSE_COORDINATION);
    list.set_page_size(100);
    v1::ListEntriesResponse entries;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", target->token));
    const grpc::Status listed = record->ListEntries(&ctx, list, &entries);
    if (!listed.ok()) {
      std::cerr << "relais-load: cannot list the youth's entries: " << Describe(listed) << "\n";
      return false;
    }
    for (const v1::Entry& e : entries.entries()) target->entry_ids.push_back(e.id());
    if (!target->entry_ids.empty() || !mix.Has(CallKind::kGet)) break;
    v1::AddEntryRequest add;
    add.mutable_entry()->set_youth_id(target->youth_id);
    add.mutable_entry()->set_kind(v1::ENTRY_KIND_NOTE);
    add.mutable_entry()->set_category(v1::DATA_CATEGORY_GENERAL);
    add.mutable_entry()->set_visibility(v1::VISIBILITY_SERVICE_PRIVATE);
    add.mutable_entry()->set_body("relais-load: an entry to read");
    v1::Entry added;
    grpc::ClientContext add_ctx;
    add_ctx.AddMetadata("authorization", absl::StrCat("Bearer ", target->token));
    if (const grpc::Status s = record->AddEntry(&add_ctx, add, &added); !s.ok()) {
      std::cerr << "relais-load: cannot add an entry to read: " << Describe(s) << "\n";
      return false;
    }
  }
  if (mix.Has(CallKind::kGet) && target->entry_ids.empty()) {
    std::cerr << "relais-load: the member can read no entry of --youth\n";
    return false;
  }
  return true;
}

// Calls that ended as a healthy server never answers.
int64_t Faults(const std::vector<PhaseResult>& phases) {
  int64_t faults = 0;
  for (const PhaseResult& p : phases) {
    // Under overload only the four answers of a shedding server are fine;
    // otherwise a refusal may be the data's (a consent), never a fault.
    const bool loaded = p.name == "overload" || p.name == "recovery";
    for (const auto& [status, n] : p.statuses) {
      const bool fault = status == "INTERNAL" || status == "UNKNOWN" || status == "DATA_LOSS";
      if (fault || (loaded && !Acceptable(status))) faults += n;
    }
  }
  return faults;
}

int Run() {
  absl::StatusOr<Mix> mix = Mix::Parse(absl::GetFlag(FLAGS_mix));
  if (!mix.ok()) {
    std::cerr << "relais-load: " << mix.status().message() << "\n";
    return 2;
  }
  std::string error;
  const std::vector<std::shared_ptr<grpc::Channel>> channels = OpenChannels(&error);
  if (channels.empty()) {
    std::cerr << "relais-load: " << error << "\n";
    return 2;
  }
  Target target;
  if (!Prepare(channels.front(), *mix, &target)) return 1;

  PhaseOptions base;
  base.concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  base.duration = absl::GetFlag(FLAGS_duration);
  base.count = absl::GetFlag(FLAGS_count);
  base.deadline = absl::GetFlag(FLAGS_deadline);
  base.server_pid = absl::GetFlag(FLAGS_server_pid);
  auto phase = [&](std::string name, const Mix& m) {
    PhaseOptions o = base;
    o.name = std::move(name);
    o.mix = m;
    return o;
  };

  std::vector<PhaseResult> phases;
  std::map<std::string, double> figures;
  if (absl::GetFlag(FLAGS_warmup) > absl::ZeroDuration()) {
    PhaseOptions warmup = phase("warmup", *mix);
    warmup.duration = absl::GetFlag(FLAGS_warmup);
    warmup.count = 0;
    RunPhase(channels, target, warmup);
  }
  const PhaseResult* echo = nullptr;
  if (absl::GetFlag(FLAGS_echo)) {
    phases.push_back(RunPhase(channels, target, phase("echo", *Mix::Parse("echo=1"))));
  }
  phases.push_back(RunPhase(channels, target, phase("mix", *mix)));
  if (absl::GetFlag(FLAGS_echo)) echo = &phases.front();
  const PhaseResult& measured = phases.back();
  if (echo != nullptr && echo->calls() > 0 && measured.calls() > 0) {
    figures["mix_qps_percent_of_echo"] = 100 * measured.qps() / echo->qps();
    if (echo->PercentileMs(0.99) > 0) {
      figures["mix_p99_over_echo_p99"] = measured.PercentileMs(0.99) / echo->PercentileMs(0.99);
    }
    if (echo->CpuUsPerCall() > 0 && measured.CpuUsPerCall() >= 0) {
      figures["mix_cpu_over_echo_cpu"] = measured.CpuUsPerCall() / echo->CpuUsPerCall();
    }
  }
  if (absl::GetFlag(FLAGS_overload) && measured.qps() > 0) {
    const double saturating = measured.qps();
    PhaseOptions overload = phase("overload", *mix);
    overload.rate = absl::GetFlag(FLAGS_overload_factor) * saturating;
    // Room for every call the rate can have waiting within its deadline.
    overload.concurrency =
        static_cast<int>(overload.rate * absl::ToDoubleSeconds(base.deadline)) + base.concurrency;
    overload.count = 0;
    phases.push_back(RunPhase(channels, target, overload));
    PhaseOptions recovery = phase("recovery", *mix);
    recovery.count = 0;
    phases.push_back(RunPhase(channels, target, recovery));
    figures["overload_rate_per_s"] = overload.rate;
    figures["recovery_seconds_to_80_percent"] = phases.back().SecondsUntilRate(0.8 * saturating);
  }

  std::cout << (absl::GetFlag(FLAGS_json) ? JsonReport(phases, figures)
                                          : TextReport(phases, figures));
  return Faults(phases) > 0 ? 1 : 0;
}

}  // namespace
}  // namespace relais::load

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "relais-load: load relaisd with a call mix and compare it with a bare echo.\n"
      "  relais-load --insecure --server=127.0.0.1:50051 --user=amo.camille --youth=<id> "
      "--server_pid=<relaisd pid> < password-file");
  absl::ParseCommandLine(argc, argv);
  return relais::load::Run();
}
