// relaisctl: the command-line client of Relais for caseworkers and auditors.
// `relaisctl --help` lists the commands and the exit statuses.

#include "tools/relaisctl/cli.h"

int main(int argc, char** argv) { return relais::ctl::RunCli(argc, argv); }
