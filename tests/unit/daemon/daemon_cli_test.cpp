// mcaprecd's command line and --check-config as a user meets them: which mode each argument
// list selects, the errors for wrong ones, and what --check-config prints for good and bad files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "daemon/command_line.hpp"
#include "daemon/daemon_main.hpp"
#include "scratch_dir.hpp"

namespace mcaprec::daemon {
namespace {

namespace fs = std::filesystem;

ParsedCommandLine parse(std::vector<std::string> args) {
  return parse_command_line(args);
}

TEST(DaemonCommandLineTest, ConfigSelectsRunMode) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--config", "a.yaml"}, {"--config=a.yaml"}, {"-c", "a.yaml"}}) {
    const ParsedCommandLine parsed = parse(args);
    ASSERT_TRUE(parsed.command) << parsed.error;
    EXPECT_EQ(parsed.command->mode, Mode::kRun);
    EXPECT_EQ(parsed.command->config_path, "a.yaml");
    EXPECT_FALSE(parsed.command->log_level);
  }
}

TEST(DaemonCommandLineTest, CheckConfigHelpVersionAndLogLevel) {
  ParsedCommandLine parsed = parse({"--check-config", "b.yaml"});
  ASSERT_TRUE(parsed.command);
  EXPECT_EQ(parsed.command->mode, Mode::kCheckConfig);
  EXPECT_EQ(parsed.command->config_path, "b.yaml");

  parsed = parse({"--config", "a.yaml", "--log-level", "debug"});
  ASSERT_TRUE(parsed.command);
  EXPECT_EQ(parsed.command->log_level, config::LogLevel::kDebug);

  parsed = parse({"--log-level=warn", "--config", "a.yaml"});
  ASSERT_TRUE(parsed.command);
  EXPECT_EQ(parsed.command->log_level, config::LogLevel::kWarn);

  parsed = parse({"--version"});
  ASSERT_TRUE(parsed.command);
  EXPECT_EQ(parsed.command->mode, Mode::kVersion);

  // Help wins over everything else, so that a confused user always gets it.
  parsed = parse({"--config", "a.yaml", "-h"});
  ASSERT_TRUE(parsed.command);
  EXPECT_EQ(parsed.command->mode, Mode::kHelp);
}

TEST(DaemonCommandLineTest, MistakesAreNamed) {
  EXPECT_EQ(parse({}).error, "missing --config FILE");
  EXPECT_EQ(parse({"--config"}).error, "option '--config' needs a value");
  EXPECT_EQ(parse({"--conf", "a.yaml"}).error, "unknown option '--conf'");
  EXPECT_NE(parse({"a.yaml"}).error.find("unexpected argument 'a.yaml'"), std::string::npos);
  EXPECT_NE(parse({"--config", "a", "--check-config", "b"}).error.find("exclude each other"),
            std::string::npos);
  EXPECT_NE(parse({"--config", "a", "--log-level", "loud"}).error.find("'loud' is not one of"),
            std::string::npos);
  EXPECT_EQ(parse({"--version=1"}).error, "option '--version' takes no value");
}

TEST(DaemonCommandLineTest, UsageMentionsEveryOption) {
  const std::string usage = usage_text();
  for (const char* option :
       {"--config", "--check-config", "--log-level", "--version", "--help", "SIGHUP", "SIGTERM"}) {
    EXPECT_NE(usage.find(option), std::string::npos) << option;
  }
}

class CheckConfigTest : public ::testing::Test {
 protected:
  test_support::ScratchDir scratch_{"daemon-cli"};
  const fs::path dir_ = scratch_.path();

  std::string write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  // Runs check_config, capturing what it prints.
  int run(const std::string& path, std::string& out, std::string& err) {
    std::FILE* out_file = std::tmpfile();
    std::FILE* err_file = std::tmpfile();
    const int code = check_config(path, out_file, err_file);
    out = slurp(out_file);
    err = slurp(err_file);
    return code;
  }

  static std::string slurp(std::FILE* file) {
    std::rewind(file);
    std::string text;
    char buffer[4096];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, n);
    std::fclose(file);
    return text;
  }
};

TEST_F(CheckConfigTest, ValidFilePrintsEveryDefaultAndReadsBack) {
  const std::string path = write("ok.yaml",
                                 "output:\n"
                                 "  directory: " +
                                     (dir_ / "out").string() +
                                     "\n"
                                     "sources:\n"
                                     "  - name: producers\n"
                                     "    transport: tcp\n"
                                     "    bind: 127.0.0.1:9410\n");
  std::string out;
  std::string err;
  EXPECT_EQ(run(path, out, err), kExitOk);
  EXPECT_EQ(err, "");
  for (const char* line : {"max_bytes: 2GiB", "compression: zstd", "chunk_size: 1MiB",
                           "memory_budget: 512MiB", "shutdown_timeout: 10s", "level: info"}) {
    EXPECT_NE(out.find(line), std::string::npos) << line << " missing from:\n" << out;
  }
  const config::Result<config::Config> printed = config::load_config_string(out, "printed");
  ASSERT_TRUE(printed) << printed.error_text();
  EXPECT_EQ(*printed, *config::load_config_file(path));
  // Checking never creates the output directory.
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(CheckConfigTest, EveryProblemIsPrintedWithLineAndKey) {
  const std::string path = write("bad.yaml",
                                 "output:\n"
                                 "  directory: " +
                                     (dir_ / "out").string() +
                                     "\n"
                                     "  max_byte: 1GiB\n"
                                     "sources:\n"
                                     "  - name: producers\n"
                                     "    transport: tcp\n"
                                     "    bind: 127.0.0.1:99999\n");
  std::string out;
  std::string err;
  EXPECT_EQ(run(path, out, err), kExitConfig);
  EXPECT_EQ(out, "");
  EXPECT_NE(err.find(path + ":3: output.max_byte: unknown key, did you mean 'max_bytes'?"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find(path + ":7: sources[0].bind"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(CheckConfigTest, MissingFileIsAnError) {
  std::string out;
  std::string err;
  EXPECT_EQ(run((dir_ / "absent.yaml").string(), out, err), kExitConfig);
  EXPECT_NE(err.find("absent.yaml"), std::string::npos) << err;
}

TEST_F(CheckConfigTest, RunWithInvalidConfigFailsBeforeTouchingTheDirectory) {
  const fs::path output = dir_ / "never";
  const std::string path = write("bad.yaml",
                                 "output:\n"
                                 "  directory: " +
                                     output.string() +
                                     "\n"
                                     "pipeline:\n"
                                     "  memory_budget: 512MB\n"
                                     "sources:\n"
                                     "  - name: p\n"
                                     "    transport: tcp\n"
                                     "    bind: 127.0.0.1:0\n");
  bool ingest_started = false;
  const std::vector<std::string> args = {"--config", path};
  const int code =
      daemon_main(args,
                  [&](const config::Config&,
                      pipeline::Pipeline&) -> mcap::Result<std::unique_ptr<ingest::IngestServer>> {
                    ingest_started = true;
                    return mcap::Error{0, "not expected"};
                  });
  EXPECT_EQ(code, kExitConfig);
  EXPECT_EQ(kExitConfig, 78);  // EX_CONFIG, which the unit's RestartPreventExitStatus names
  EXPECT_FALSE(ingest_started);
  EXPECT_FALSE(fs::exists(output));
}

TEST_F(CheckConfigTest, UsageErrorsExitTwo) {
  const std::vector<std::string> args = {"--bogus"};
  EXPECT_EQ(daemon_main(args, {}), kExitUsage);
}

}  // namespace
}  // namespace mcaprec::daemon
