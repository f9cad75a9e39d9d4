#include "tests/fuzz/service_fuzz.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/stubs/logging.h"
#include "grpcpp/generic/generic_stub.h"
#include "relais/v1/common.pb.h"
#include "tests/fuzz/seeded_host.h"

namespace relais::fuzz {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

constexpr auto kCallDeadline = std::chrono::seconds(20);
// Inputs between two rebuilds of the world ($RELAIS_FUZZ_RECYCLE overrides).
constexpr int kDefaultRecycle = 2000;

// Callers after the seeded members, in input byte order.
enum ExtraCaller { kNoToken = 0, kExpiredToken = 1, kForeignToken = 2, kExtraCallers = 3 };

[[noreturn]] void Finding(absl::string_view what, absl::string_view detail) {
  std::fprintf(stderr, "\n==== FUZZ FINDING: %.*s\n     %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size()), detail.data());
  std::fflush(stderr);
  std::abort();
}

const ServiceDescriptor& Service(absl::string_view name) {
  const ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string(name));
  if (service == nullptr || service->method_count() == 0) {
    Finding("harness", absl::StrCat("unknown service ", name));
  }
  return *service;
}

// Replaces every string field (at any depth) equal to a placeholder.
void Substitute(Message& message, const std::map<std::string, std::string, std::less<>>& ids) {
  const google::protobuf::Reflection& r = *message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r.ListFields(message, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < r.FieldSize(message, f); ++i) {
          auto it = ids.find(r.GetRepeatedString(message, f, i));
          if (it != ids.end()) r.SetRepeatedString(&message, f, i, it->second);
        }
      } else {
        auto it = ids.find(r.GetString(message, f));
        if (it != ids.end()) r.SetString(&message, f, it->second);
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r.FieldSize(message, f); ++i) {
          Substitute(*r.MutableRepeatedMessage(&message, f, i), ids);
        }
      } else {
        Substitute(*r.MutableMessage(&message, f), ids);
      }
    }
  }
}

// The seeded world, rebuilt every `recycle` inputs, and a generic client.
class World {
 public:
  static World& Get() {
    static World* const world = [] {
      common::SetLogLevel(common::LogLevel::kError);
      // Requests that are not UTF-8 are refused, not news: keep stderr for findings.
      google::protobuf::SetLogHandler(nullptr);
      return new World();
    }();
    return *world;
  }

  SeededHost& host() {
    if (host_ == nullptr || ++inputs_ > recycle_) {
      Stop();
      absl::StatusOr<std::unique_ptr<SeededHost>> started = SeededHost::Start();
      if (!started.ok()) Finding("cannot start the seeded host", started.status().ToString());
      host_ = *std::move(started);
      stub_ = std::make_unique<grpc::GenericStub>(host_->channel());
      inputs_ = 1;
      if (!exit_handler_) {
        // At a normal exit (libFuzzer -runs, the replay test) check the chain
        // and stop the server before static destructors run under its
        // threads. Registered after the first host started, so it runs before
        // the handlers of the libraries that host initialised (OpenSSL's
        // cleanup would leave the chain's hashing without digests).
        std::atexit([] { Get().Stop(); });
        exit_handler_ = true;
      }
    }
    return *host_;
  }
  grpc::GenericStub& stub() { return *stub_; }
  grpc::CompletionQueue& cq() { return cq_; }

  void Stop() {
    if (host_ == nullptr) return;
    absl::StatusOr<audit::VerifyResult> verified = host_->host().audit().Verify();
    if (!verified.ok() || !verified->ok) {
      Finding("the audit chain does not verify",
              verified.ok() ? absl::StrCat(verified->problem, " at ", verified->first_bad_sequence)
                            : verified.status().ToString());
    }
    stub_.reset();
    host_.reset();
  }

 private:
  World() {
    const char* env = std::getenv("RELAIS_FUZZ_RECYCLE");
    if (env == nullptr || !absl::SimpleAtoi(env, &recycle_) || recycle_ < 1) {
      recycle_ = kDefaultRecycle;
    }
  }

  int recycle_ = kDefaultRecycle;
  int inputs_ = 0;
  bool exit_handler_ = false;
  std::unique_ptr<SeededHost> host_;
  std::unique_ptr<grpc::GenericStub> stub_;
  grpc::CompletionQueue cq_;
};

struct CallResult {
  grpc::Status status;
  int responses = 0;
};

// One call on the generic stub, driven step by step on `cq`: start, write
// the request, half-close, read every response, finish. A bidi call on the
// wire is what unary and server-streaming calls are too.
CallResult Call(grpc::GenericStub& stub, grpc::CompletionQueue& cq, const std::string& method,
                const std::string& request, const std::string& authorization) {
  grpc::ClientContext ctx;
  if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
  ctx.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  CallResult result;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call = stub.PrepareCall(&ctx, method, &cq);
  if (call == nullptr) Finding("harness", "PrepareCall failed");
  auto step = [&cq](intptr_t want) {
    void* tag = nullptr;
    bool ok = false;
    if (!cq.Next(&tag, &ok) || reinterpret_cast<intptr_t>(tag) != want) {
      Finding("harness", "completion queue out of step");
    }
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  if (step(1)) {
    grpc::Slice slice(request);
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, reinterpret_cast<void*>(2));
    if (step(2)) {
      call->WritesDone(reinterpret_cast<void*>(3));
      step(3);
    }
    grpc::ByteBuffer response;
    while (true) {
      call->Read(&response, reinterpret_cast<void*>(4));
      if (!step(4)) break;
      ++result.responses;
    }
  }
  call->Finish(&result.status, reinterpret_cast<void*>(5));
  step(5);
  return result;
}

bool HasReasonDetail(const grpc::Status& status) {
  v1::RpcStatus details;
  if (!details.ParseFromString(status.error_details())) return false;
  for (const auto& any : details.details()) {
    v1::ErrorDetail detail;
    if (any.UnpackTo(&detail) && !detail.reason().empty()) return true;
  }
  return false;
}

}  // namespace

int FuzzServiceCall(absl::string_view service_name, const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const ServiceDescriptor& service = Service(service_name);
  const MethodDescriptor& method = *service.method(data[0] % service.method_count());
  const std::vector<std::string>& logins = SeededHost::Logins();
  const size_t caller = data[1] % (logins.size() + kExtraCallers);
  const std::string raw(reinterpret_cast<const char*>(data) + 2, size - 2);

  World& world = World::Get();
  SeededHost& host = world.host();
  std::string token;
  std::string caller_name;
  if (caller < logins.size()) {
    caller_name = logins[caller];
    absl::StatusOr<std::string> issued = host.Token(caller_name);
    if (!issued.ok()) Finding("harness", issued.status().ToString());
    token = *std::move(issued);
  } else if (caller - logins.size() == kExpiredToken) {
    caller_name = "(expired token)";
    token = host.expired_token();
  } else if (caller - logins.size() == kForeignToken) {
    caller_name = "(foreign key)";
    token = host.foreign_token();
  } else {
    caller_name = "(no token)";
  }

  std::unique_ptr<Message> request(google::protobuf::MessageFactory::generated_factory()
                                       ->GetPrototype(method.input_type())
                                       ->New());
  const bool parsed = request->ParseFromString(raw);
  std::string wire = raw;
  if (parsed) {
    Substitute(*request, host.Placeholders());
    wire = request->SerializeAsString();
  }

  const std::string path = absl::StrCat("/", service.full_name(), "/", method.name());
  absl::StatusOr<int64_t> events_before = host.host().audit().Length();
  const CallResult result = Call(world.stub(), world.cq(), path, wire,
                                 token.empty() ? "" : absl::StrCat("Bearer ", token));
  const grpc::Status& status = result.status;
  auto describe = [&] {
    return absl::StrCat(method.full_name(), " as ", caller_name, " -> ", status.error_code(), " \"",
                        status.error_message(), "\"",
                        parsed ? "" : " (request did not parse; sent raw)");
  };

  static const bool verbose = std::getenv("RELAIS_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "fuzz call: %s\n", describe().c_str());

  if (!token.empty() && absl::StrContains(status.error_message(), token)) {
    Finding("an error message contains the caller's token", describe());
  }
  const bool no_valid_token = caller >= logins.size();
  // Login and ChangePassword prove who calls with a password, not a token.
  if (status.ok() && no_valid_token && method.full_name() != "relais.v1.AuthService.Login" &&
      method.full_name() != "relais.v1.AuthService.ChangePassword" &&
      method.full_name() != "relais.v1.AuthService.PublicKeys") {
    Finding("a call without a valid token succeeded", describe());
  }
  // An admin may manage a record's lifecycle (record.proto says which calls),
  // never read or write its entries; an auditor may only act, as the platform's
  // DPO, on erasure and full-export requests (ids and dates, no content).
  static const std::set<std::string> kAdminRecordCalls = {
      "RestrictYouth",     "LiftRestriction",     "SetLegalHold",     "LiftLegalHold",
      "EraseYouth",        "ExportYouth",         "SweepRetention",   "CancelErasure",
      "GetErasureRequest", "ListErasureRequests", "RequestFullExport"};
  static const std::set<std::string> kDpoRecordCalls = {"ApproveErasure", "CancelErasure",
                                                        "GetErasureRequest", "ListErasureRequests",
                                                        "ApproveFullExport"};
  if (status.ok() && service.full_name() == "relais.v1.RecordService" &&
      ((caller_name == "dpo" && kDpoRecordCalls.count(method.name()) == 0) ||
       (caller_name == "admin" && kAdminRecordCalls.count(method.name()) == 0))) {
    Finding("an auditor or admin read or wrote a record", describe());
  }
  if (!parsed) return 0;  // gRPC itself refuses what does not deserialize
  switch (status.error_code()) {
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DATA_LOSS:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      Finding("a well-formed request got a server-side error", describe());
    default:
      break;
  }
  if (!status.ok() && !HasReasonDetail(status)) {
    Finding("an error carries no relais ErrorDetail reason code", describe());
  }
  if (method.full_name() != "relais.v1.AuthService.PublicKeys") {
    absl::StatusOr<int64_t> events_after = host.host().audit().Length();
    if (!events_before.ok() || !events_after.ok()) {
      Finding("harness: cannot count audit events", describe());
    }
    if (*events_after <= *events_before) Finding("a call left no audit event", describe());
  }
  return 0;
}

std::string EncodeServiceInput(absl::string_view service_name, absl::string_view method_name,
                               absl::string_view caller, const Message& request) {
  const ServiceDescriptor& service = Service(service_name);
  const MethodDescriptor* method = service.FindMethodByName(std::string(method_name));
  if (method == nullptr) Finding("harness", absl::StrCat("unknown method ", method_name));
  if (method->input_type() != request.GetDescriptor()) {
    Finding("harness", absl::StrCat(method_name, " does not take ", request.GetTypeName()));
  }
  const std::vector<std::string>& logins = SeededHost::Logins();
  size_t caller_index = logins.size() + kNoToken;
  for (size_t i = 0; i < logins.size(); ++i) {
    if (logins[i] == caller) caller_index = i;
  }
  if (!caller.empty() && caller_index >= logins.size()) {
    Finding("harness", absl::StrCat("unknown login ", caller));
  }
  std::string input;
  input.push_back(static_cast<char>(method->index()));
  input.push_back(static_cast<char>(caller_index));
  input += request.SerializeAsString();
  return input;
}

}  // namespace relais::fuzz
