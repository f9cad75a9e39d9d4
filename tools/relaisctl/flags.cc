#include "tools/relaisctl/flags.h"

#include "absl/flags/flag.h"

// The help texts are what `relaisctl <command> --help` prints for each flag.

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "relaisd address, host:port");
ABSL_FLAG(std::string, ca, "",
          "PEM file of the CA that signed relaisd's certificate (default $RELAIS_CA)");
ABSL_FLAG(std::string, cert, "",
          "PEM file of your service's client certificate (default $RELAIS_CERT)");
ABSL_FLAG(std::string, key, "",
          "PEM file of that certificate's private key, mode 0600 (default $RELAIS_KEY)");
ABSL_FLAG(std::string, tls_server_name, "",
          "name to verify in relaisd's certificate, if not the host of --server");
ABSL_FLAG(bool, insecure, false,
          "plaintext, no TLS: only to a loopback development server (relaisd --insecure_dev)");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(30), "deadline of each call, e.g. 30s, 2m");

ABSL_FLAG(std::string, format, "table",
          "table (fits 80 columns, ids shortened with …), csv or json (complete values)");
ABSL_FLAG(bool, quiet, false, "print only the id(s), one per line (for scripts)");

ABSL_FLAG(std::string, user, "", "your login, e.g. amo.camille");
ABSL_FLAG(bool, password_stdin, false,
          "read the password from the first line of standard input instead of the terminal");
ABSL_FLAG(std::string, name, "", "display name of the youth (1 to 200 characters)");
ABSL_FLAG(std::string, dob, "", "date of birth, YYYY-MM-DD");
ABSL_FLAG(std::vector<std::string>, guardian, {},
          "a guardian as NAME or NAME/RELATIONSHIP (e.g. \"Marie Dupont/mother\"); repeat the "
          "flag for several (at most 4; no commas in names)");
ABSL_FLAG(std::string, national_number, "",
          "Belgian national register number, 11 digits (stored only as a keyed hash)");
ABSL_FLAG(std::string, purpose, "coordination", "why you read: coordination or handover");
ABSL_FLAG(std::string, category, "", "general, education, family, social, health or judicial");
ABSL_FLAG(std::string, visibility, "", "shared or service_private");
ABSL_FLAG(std::string, kind, "",
          "entry: note (default), appointment, concertation or document_reference; "
          "service search: a kind of service, e.g. PMS");
ABSL_FLAG(std::string, body, "", "the entry's text");
ABSL_FLAG(std::string, body_file, "", "read the entry's text from this file (- for stdin)");
ABSL_FLAG(std::string, handover, "", "a handover id: its concertation thread");
ABSL_FLAG(std::string, concertation, "", "a concertation meeting id: its minutes");
ABSL_FLAG(std::string, supersedes, "", "the id of the entry this one corrects");
ABSL_FLAG(int32_t, limit, 0, "stop after this many items (0: all)");
ABSL_FLAG(std::string, after, "", "only inbox items after this cursor (the last one seen)");
ABSL_FLAG(bool, until_caught_up, false, "stop once every item already posted is printed");
ABSL_FLAG(std::vector<std::string>, to_service, {},
          "recipient service id(s), comma-separated or repeated");
ABSL_FLAG(std::vector<std::string>, to_sector, {},
          "recipient sector id(s), e.g. aide_jeunesse, comma-separated or repeated");
ABSL_FLAG(std::vector<std::string>, categories, {},
          "data categories covered, comma-separated (health and judicial only when named)");
ABSL_FLAG(bool, all_non_special, false,
          "cover general, education, family and social (never health or judicial)");
ABSL_FLAG(std::vector<std::string>, purposes, {"coordination"},
          "purposes covered, comma-separated: coordination, handover");
ABSL_FLAG(std::string, from, "", "first day, YYYY-MM-DD (default: now)");
ABSL_FLAG(std::string, until, "", "last day included, YYYY-MM-DD");
ABSL_FLAG(std::string, valid_for, "", "validity from the start, e.g. 182d or 26w");
ABSL_FLAG(std::string, giver, "youth", "who consents: youth or guardian");
ABSL_FLAG(std::string, guardian_id, "", "the consenting guardian's id (see youth show)");
ABSL_FLAG(std::string, opinion, "",
          "the youth's opinion when a guardian consents: agrees, disagrees or not_expressed");
ABSL_FLAG(std::string, referent, "", "member id of the referent in your service");
ABSL_FLAG(std::string, basis, "voluntary", "voluntary or mandate");
ABSL_FLAG(std::string, to, "", "id of the service that takes over");
ABSL_FLAG(std::string, convention, "",
          "a partnership convention in force the sharing (or protocol) is made under (its id)");
ABSL_FLAG(std::string, reason, "", "why (1 to 2000 characters; kept with the handover)");
ABSL_FLAG(std::string, start, "now", "start of the overlap window: now or YYYY-MM-DD");
ABSL_FLAG(std::string, end, "", "last day of the overlap window, YYYY-MM-DD");
ABSL_FLAG(std::string, overlap, "", "length of the overlap window, e.g. 30d");
ABSL_FLAG(std::string, youth, "", "only this youth's (a youth id)");
ABSL_FLAG(std::string, ending_within, "",
          "only accepted handovers whose window ends within this many days, e.g. 7d");
ABSL_FLAG(std::string, actor, "", "only events of this member id");
ABSL_FLAG(std::string, service, "", "only events of this service id");
ABSL_FLAG(std::string, since, "", "only events from this day on, YYYY-MM-DD");
ABSL_FLAG(std::string, decision, "", "only allow or only deny decisions");
ABSL_FLAG(int64_t, from_sequence, 0,
          "first event (export: 0 = from the start; verify: the export's first event)");
ABSL_FLAG(std::string, pubkey, "",
          "PEM file with relaisd's audit public key(s), obtained out of band");
ABSL_FLAG(std::string, lang, "fr", "language of a text report: fr or en");
// Partnership conventions and protocols (commands_partnership.cc).
ABSL_FLAG(std::string, title, "", "title, 1 to 200 characters");
ABSL_FLAG(std::vector<std::string>, parties, {},
          "the services party to the convention, comma-separated ids (yours among them)");
ABSL_FLAG(std::string, max_overlap, "", "the longest handover overlap it allows, e.g. 30d");
ABSL_FLAG(std::string, review, "", "review date, YYYY-MM-DD");
ABSL_FLAG(int32_t, due, 0, "only those whose review or end is within this many days (1-365)");
ABSL_FLAG(std::string, summary, "", "what the version changes, 1 to 2000 characters");
ABSL_FLAG(std::string, link, "", "where the document lives: an https:// address");
ABSL_FLAG(std::string, text_file, "", "file holding the document's text (up to 1 MiB)");
ABSL_FLAG(std::vector<std::string>, services, {},
          "the services concerned, comma-separated ids (default: yours)");
ABSL_FLAG(std::vector<std::string>, roles, {"caseworker"},
          "the roles concerned, comma-separated: caseworker, coordinator");
ABSL_FLAG(int32_t, version, 0, "the version read");
ABSL_FLAG(bool, to_ack, false, "only those you still have to acknowledge");

// Service profiles, their search and the shared definitions (commands_directory.cc).
ABSL_FLAG(std::string, mission, "", "the service's mission in plain words");
ABSL_FLAG(std::string, offer, "", "what the service offers");
ABSL_FLAG(std::string, ages, "", "the ages served, e.g. 12-18 (0 to 25)");
ABSL_FLAG(std::vector<std::string>, needs, {},
          "needs answered, comma-separated slugs, e.g. school_dropout,housing");
ABSL_FLAG(std::vector<std::string>, communes, {}, "communes covered, comma-separated");
ABSL_FLAG(std::vector<std::string>, languages, {}, "languages spoken, e.g. fr,nl");
ABSL_FLAG(std::string, contact, "", "a role address or the reception's number");
ABSL_FLAG(std::string, hours, "", "opening hours in plain words");
ABSL_FLAG(std::string, need, "", "only services that answer this need, e.g. school_dropout");
ABSL_FLAG(std::string, commune, "", "only services that cover this commune");
ABSL_FLAG(std::string, sector, "", "only this sector's, e.g. enseignement");
ABSL_FLAG(std::string, age, "", "only services that serve a youth of this age (0 to 25)");
ABSL_FLAG(std::string, term, "", "the term defined, e.g. prévention");
ABSL_FLAG(std::string, text, "", "the definition (1 to 2000 characters)");

// Concertation meetings (commands_concertation.cc).
ABSL_FLAG(std::string, at, "",
          "when the meeting takes (or took) place: YYYY-MM-DDTHH:MM in local time, or now");
ABSL_FLAG(std::vector<std::string>, invite, {},
          "the services invited besides yours, comma-separated ids");
ABSL_FLAG(std::string, outcome, "", "held or cancelled");
ABSL_FLAG(std::string, participation, "",
          "how the youth took part in a held meeting: present, view_conveyed or absent");
