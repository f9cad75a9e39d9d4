#ifndef RELAIS_COMMON_LOG_H_
#define RELAIS_COMMON_LOG_H_

// Structured logging. Debian's abseil (20220623) has no absl/log, so this is the
// project's one logging facility: one JSON object per line, on stderr by default.
//
// Contract for callers: log ids, codes and sizes, never content (names, dates of
// birth, entry bodies), tokens or passwords.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace relais::common {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Messages below this level are dropped. Thread-safe.
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();

// Replaces where lines go (tests capture them); nullptr restores stderr.
// Thread-safe; the sink is called under a lock, one complete line at a time.
void SetLogSink(std::function<void(absl::string_view line)> sink);

using LogFields = std::vector<std::pair<std::string, std::string>>;

// Writes {"ts":...,"level":...,"msg":...,<fields>} with JSON escaping.
void Log(LogLevel level, absl::string_view msg, const LogFields& fields = {});

inline void LogInfo(absl::string_view msg, const LogFields& fields = {}) {
  Log(LogLevel::kInfo, msg, fields);
}
inline void LogWarning(absl::string_view msg, const LogFields& fields = {}) {
  Log(LogLevel::kWarning, msg, fields);
}
inline void LogError(absl::string_view msg, const LogFields& fields = {}) {
  Log(LogLevel::kError, msg, fields);
}
inline void LogDebug(absl::string_view msg, const LogFields& fields = {}) {
  Log(LogLevel::kDebug, msg, fields);
}

// JSON string escaping (quotes not included).
std::string JsonEscape(absl::string_view s);

}  // namespace relais::common

#endif  // RELAIS_COMMON_LOG_H_
