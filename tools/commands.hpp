#pragma once
// The subcommands of `mcaprec`. Each lives in its own file and receives the arguments after its
// name; main.cpp only dispatches. Every command answers --help and returns an exit code from
// cli_helpers.hpp (0 success, 1 failure, 2 usage error).
#include <span>
#include <string>

namespace mcaprec::tool {

struct Command {
  const char* name;
  const char* summary;  // one line for `mcaprec --help`
  const char* help;     // the full text of `mcaprec NAME --help`
  int (*run)(std::span<const std::string> args);
};

extern const Command kInfoCommand;
extern const Command kVerifyCommand;
extern const Command kConvertCommand;
extern const Command kRecoverCommand;
extern const Command kSendCommand;
extern const Command kFilterCommand;
extern const Command kCatCommand;
extern const Command kCtlCommand;
extern const Command kUploadCommand;

}  // namespace mcaprec::tool
