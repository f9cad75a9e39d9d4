// The CI form of a fuzz target: the same LLVMFuzzerTestOneInput, compiled with
// the project's compiler and sanitizers, fed every committed input of its
// corpus (RELAIS_FUZZ_CORPUS) and then, for a bounded time, mutations of
// them. Not coverage-guided: the real fuzzing is deploy/fuzz.sh (libFuzzer).
//
// Environment:
//   RELAIS_FUZZ_REPLAY_SECONDS  time for the mutated inputs (default 10)
//   RELAIS_FUZZ_REPLAY_SEED     the mutation seed (default 1; printed)
//   RELAIS_FUZZ_INPUT           a file to run instead of the corpus (to replay
//                               a crash libFuzzer or this test wrote)
// When an input crashes (sanitizer report, abort), it is written to
// ./fuzz-replay-crash-<target> and the path printed.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"

#if defined(__SANITIZE_ADDRESS__)
#define RELAIS_REPLAY_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RELAIS_REPLAY_SANITIZED 1
#endif
#endif
#ifdef RELAIS_REPLAY_SANITIZED
#include <sanitizer/common_interface_defs.h>
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr size_t kMaxInputBytes = 4096;  // libFuzzer's default -max_len

// The input being run, for the crash handlers (async-signal-safe use only).
const std::string* current_input = nullptr;
constexpr char kCrashFile[] = "fuzz-replay-crash-" RELAIS_FUZZ_TARGET;

void SaveCurrentInput() {
  if (current_input == nullptr) return;
  const int fd = ::open(kCrashFile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ssize_t ignored = ::write(fd, current_input->data(), current_input->size());
    (void)ignored;
    ::close(fd);
  }
  constexpr char kNote[] = "\n==== the crashing input was written to ./";
  ssize_t ignored = ::write(2, kNote, sizeof(kNote) - 1);
  ignored = ::write(2, kCrashFile, sizeof(kCrashFile) - 1);
  ignored = ::write(2, "\n", 1);
  (void)ignored;
}

void OnFatalSignal(int sig) {
  SaveCurrentInput();
  current_input = nullptr;
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void InstallCrashHandlers() {
#ifdef RELAIS_REPLAY_SANITIZED
  __sanitizer_set_death_callback(SaveCurrentInput);
#endif
  ::signal(SIGABRT, OnFatalSignal);
}

void RunInput(const std::string& input) {
  current_input = &input;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  current_input = nullptr;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::vector<std::string> Corpus() {
  std::vector<std::filesystem::path> paths;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(RELAIS_FUZZ_CORPUS, ec)) {
    if (f.is_regular_file()) paths.push_back(f.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> inputs;
  for (const auto& p : paths) inputs.push_back(ReadFile(p));
  return inputs;
}

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  int n = 0;
  return value != nullptr && absl::SimpleAtoi(value, &n) && n >= 0 ? n : fallback;
}

// A few byte-level mutations of the kinds libFuzzer makes.
std::string Mutate(const std::vector<std::string>& corpus, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  std::string s = corpus.empty() ? std::string() : corpus[pick(corpus.size())];
  const int steps = 1 + static_cast<int>(pick(4));
  for (int i = 0; i < steps; ++i) {
    switch (pick(9)) {
      case 0:  // flip a bit
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << pick(8));
        break;
      case 1:  // a random byte
        if (!s.empty()) s[pick(s.size())] = static_cast<char>(rng());
        break;
      case 2: {  // insert random bytes
        std::string bytes(1 + pick(8), '\0');
        for (char& c : bytes) c = static_cast<char>(rng());
        s.insert(pick(s.size() + 1), bytes);
        break;
      }
      case 3:  // erase a range
        if (!s.empty()) {
          const size_t at = pick(s.size());
          s.erase(at, 1 + pick(std::min<size_t>(16, s.size() - at)));
        }
        break;
      case 4:  // duplicate a range
        if (!s.empty()) {
          const size_t at = pick(s.size());
          s.insert(pick(s.size() + 1), s.substr(at, 1 + pick(16)));
        }
        break;
      case 5:  // splice with another input
        if (!corpus.empty()) {
          const std::string& other = corpus[pick(corpus.size())];
          s = s.substr(0, pick(s.size() + 1)) + other.substr(pick(other.size() + 1));
        }
        break;
      case 6: {  // an interesting value
        static constexpr char kValues[] = {'\0', '\x01', '\x7f', '\x80', '\xff'};
        if (!s.empty()) s[pick(s.size())] = kValues[pick(sizeof(kValues))];
        break;
      }
      case 7:  // another method or caller (service targets), another mode (token)
        if (!s.empty()) s[pick(std::min<size_t>(2, s.size()))] = static_cast<char>(rng());
        break;
      default:  // truncate
        s.resize(pick(s.size() + 1));
        break;
    }
  }
  if (s.size() > kMaxInputBytes) s.resize(kMaxInputBytes);
  return s;
}

TEST(RELAIS_FUZZ_SUITE, EveryCommittedInputRunsClean) {
  InstallCrashHandlers();
  if (const char* one = std::getenv("RELAIS_FUZZ_INPUT"); one != nullptr && *one != '\0') {
    ASSERT_TRUE(std::filesystem::exists(one)) << one;
    RunInput(ReadFile(one));
    return;
  }
  const std::vector<std::string> corpus = Corpus();
  // The corpus is part of the test: losing it must fail, not pass vacuously.
  ASSERT_GE(corpus.size(), 3u) << "seed corpus missing: " << RELAIS_FUZZ_CORPUS;
  for (const std::string& input : corpus) RunInput(input);
}

TEST(RELAIS_FUZZ_SUITE, MutatedInputsRunCleanForABoundedTime) {
  InstallCrashHandlers();
  const std::vector<std::string> corpus = Corpus();
  ASSERT_FALSE(corpus.empty()) << RELAIS_FUZZ_CORPUS;
  const int seconds = EnvInt("RELAIS_FUZZ_REPLAY_SECONDS", 10);
  const int seed = EnvInt("RELAIS_FUZZ_REPLAY_SEED", 1);
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int64_t runs = 0;
  do {
    RunInput(Mutate(corpus, rng));
    ++runs;
  } while (std::chrono::steady_clock::now() < end);
  std::printf("%s: %lld mutated inputs in %d s (seed %d)\n", RELAIS_FUZZ_TARGET,
              static_cast<long long>(runs), seconds, seed);
  EXPECT_GT(runs, 0);
}

}  // namespace
