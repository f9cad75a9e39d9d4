#ifndef RELAIS_TOOLS_RELAISCTL_FLAGS_H_
#define RELAIS_TOOLS_RELAISCTL_FLAGS_H_

// relaisctl's flags, all defined in flags.cc. Each command accepts only the
// flags its CommandSpec lists (cli.h); the connection flags come with every
// command that talks to relaisd.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/time/time.h"

// Connection.
ABSL_DECLARE_FLAG(std::string, server);
ABSL_DECLARE_FLAG(std::string, ca);
ABSL_DECLARE_FLAG(std::string, cert);
ABSL_DECLARE_FLAG(std::string, key);
ABSL_DECLARE_FLAG(std::string, tls_server_name);
ABSL_DECLARE_FLAG(bool, insecure);
ABSL_DECLARE_FLAG(absl::Duration, timeout);

// Output.
ABSL_DECLARE_FLAG(std::string, format);
ABSL_DECLARE_FLAG(bool, quiet);

// Commands.
ABSL_DECLARE_FLAG(std::string, user);
ABSL_DECLARE_FLAG(bool, password_stdin);
ABSL_DECLARE_FLAG(std::string, name);
ABSL_DECLARE_FLAG(std::string, dob);
ABSL_DECLARE_FLAG(std::vector<std::string>, guardian);
ABSL_DECLARE_FLAG(std::string, national_number);
ABSL_DECLARE_FLAG(std::string, purpose);
ABSL_DECLARE_FLAG(std::string, category);
ABSL_DECLARE_FLAG(std::string, visibility);
ABSL_DECLARE_FLAG(std::string, kind);
ABSL_DECLARE_FLAG(std::string, body);
ABSL_DECLARE_FLAG(std::string, body_file);
ABSL_DECLARE_FLAG(std::string, handover);
ABSL_DECLARE_FLAG(std::string, concertation);
ABSL_DECLARE_FLAG(std::string, supersedes);
ABSL_DECLARE_FLAG(int32_t, limit);
ABSL_DECLARE_FLAG(std::string, after);
ABSL_DECLARE_FLAG(bool, until_caught_up);
ABSL_DECLARE_FLAG(std::vector<std::string>, to_service);
ABSL_DECLARE_FLAG(std::vector<std::string>, to_sector);
ABSL_DECLARE_FLAG(std::vector<std::string>, categories);
ABSL_DECLARE_FLAG(bool, all_non_special);
ABSL_DECLARE_FLAG(std::vector<std::string>, purposes);
ABSL_DECLARE_FLAG(std::string, from);
ABSL_DECLARE_FLAG(std::string, until);
ABSL_DECLARE_FLAG(std::string, valid_for);
ABSL_DECLARE_FLAG(std::string, giver);
ABSL_DECLARE_FLAG(std::string, guardian_id);
ABSL_DECLARE_FLAG(std::string, opinion);
ABSL_DECLARE_FLAG(std::string, referent);
ABSL_DECLARE_FLAG(std::string, basis);
ABSL_DECLARE_FLAG(std::string, to);
ABSL_DECLARE_FLAG(std::string, convention);
ABSL_DECLARE_FLAG(std::string, reason);
ABSL_DECLARE_FLAG(std::string, start);
ABSL_DECLARE_FLAG(std::string, end);
ABSL_DECLARE_FLAG(std::string, overlap);
ABSL_DECLARE_FLAG(std::string, youth);
ABSL_DECLARE_FLAG(std::string, ending_within);
ABSL_DECLARE_FLAG(std::string, actor);
ABSL_DECLARE_FLAG(std::string, service);
ABSL_DECLARE_FLAG(std::string, since);
ABSL_DECLARE_FLAG(std::string, decision);
ABSL_DECLARE_FLAG(int64_t, from_sequence);
ABSL_DECLARE_FLAG(std::string, pubkey);
ABSL_DECLARE_FLAG(std::string, lang);
ABSL_DECLARE_FLAG(std::string, mission);
ABSL_DECLARE_FLAG(std::string, offer);
ABSL_DECLARE_FLAG(std::string, ages);
ABSL_DECLARE_FLAG(std::vector<std::string>, needs);
ABSL_DECLARE_FLAG(std::vector<std::string>, communes);
ABSL_DECLARE_FLAG(std::vector<std::string>, languages);
ABSL_DECLARE_FLAG(std::string, contact);
ABSL_DECLARE_FLAG(std::string, hours);
ABSL_DECLARE_FLAG(std::string, need);
ABSL_DECLARE_FLAG(std::string, commune);
ABSL_DECLARE_FLAG(std::string, sector);
ABSL_DECLARE_FLAG(std::string, age);
ABSL_DECLARE_FLAG(std::string, term);
ABSL_DECLARE_FLAG(std::string, text);

// Partnership.
ABSL_DECLARE_FLAG(std::string, title);
ABSL_DECLARE_FLAG(std::vector<std::string>, parties);
ABSL_DECLARE_FLAG(std::string, max_overlap);
ABSL_DECLARE_FLAG(std::string, review);
ABSL_DECLARE_FLAG(int32_t, due);
ABSL_DECLARE_FLAG(std::string, summary);
ABSL_DECLARE_FLAG(std::string, link);
ABSL_DECLARE_FLAG(std::string, text_file);
ABSL_DECLARE_FLAG(std::vector<std::string>, services);
ABSL_DECLARE_FLAG(std::vector<std::string>, roles);
ABSL_DECLARE_FLAG(int32_t, version);
ABSL_DECLARE_FLAG(bool, to_ack);
ABSL_DECLARE_FLAG(std::string, at);
ABSL_DECLARE_FLAG(std::vector<std::string>, invite);
ABSL_DECLARE_FLAG(std::string, outcome);
ABSL_DECLARE_FLAG(std::string, participation);

#endif  // RELAIS_TOOLS_RELAISCTL_FLAGS_H_
