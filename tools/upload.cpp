// mcaprec upload: files to S3-compatible object storage by hand, with the client the daemon's
// upload uses (lib/upload) and the `upload:` section of a configuration file.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "cli_helpers.hpp"
#include "commands.hpp"
#include "config/loader.hpp"
#include "upload/file_upload.hpp"
#include "upload/io_priority.hpp"

namespace mcaprec::tool {
namespace {

constexpr const char kHelp[] =
    "Usage: mcaprec upload FILE... --to s3://BUCKET[/PREFIX] [--config FILE] [options]\n"
    "\n"
    "Uploads each FILE to S3-compatible object storage (AWS S3, Ceph RGW, MinIO) as the object\n"
    "PREFIX/<file name> in BUCKET, with the same client as the daemon's upload: a single PUT up\n"
    "to the part size, a multipart upload above it; every body carries its Content-MD5 and each\n"
    "stored part's ETag is checked. An object already there with the same size and checksum is\n"
    "skipped. A multipart upload that fails is aborted (nothing is left half-stored).\n"
    "\n"
    "The endpoint, region, credentials, CA file and part size come from the `upload:` section of\n"
    "--config (its bucket and key_template are not used: --to says where), or from the options;\n"
    "an option given wins over the file.\n"
    "\n"
    "Options:\n"
    "  --to s3://BUCKET[/PREFIX]   where the files go (required)\n"
    "  --config FILE               a mcaprecd configuration with an `upload:` section\n"
    "  --endpoint URL              https://host[:port] (or http:// for a test server)\n"
    "  --region NAME               SigV4 region (default us-east-1)\n"
    "  --credentials-file FILE     AWS shared-credentials file, profile [default]\n"
    "  --ca-file FILE              PEM certificates to trust instead of the system's\n"
    "  --part-size SIZE            e.g. 16MiB (at least 5MiB)\n"
    "  --max-bandwidth RATE        bytes/s for all files together, e.g. 4MiB or 512KiB; 0 = no\n"
    "                              limit (default: upload.max_bandwidth of --config, else 0)\n"
    "  -h, --help                  show this help\n"
    "\n"
    "Under systemd's LoadCredential, $CREDENTIALS_DIRECTORY/<file name of the credentials file>\n"
    "is read instead. Keys are never printed. The upload runs at the lowest best-effort I/O\n"
    "priority and nice 10, like the daemon's, so it does not slow a recorder on the same disk.\n"
    "\n"
    "Exit status: 0 when every file is stored (uploaded or already there), 1 when one failed\n"
    "(each failure printed, marked retryable or permanent: wrong keys, missing bucket), 2 on a\n"
    "usage error or an unusable configuration.\n";

// Below this the stall detector (1 KiB/s for 30 s) and the 16 KiB bookings make little sense.
constexpr uint64_t kMinBandwidth = 8 * 1024;

struct UploadArgs {
  std::string bucket;
  std::string prefix;
  config::Upload settings;
};

std::optional<std::string> parse_destination(const std::string& to, UploadArgs& out) {
  constexpr std::string_view kScheme = "s3://";
  if (!to.starts_with(kScheme)) return "--to must look like s3://BUCKET/PREFIX";
  const std::string rest = to.substr(kScheme.size());
  const auto slash = rest.find('/');
  out.bucket = rest.substr(0, slash);
  out.prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  if (out.bucket.empty()) return "--to names no bucket";
  return std::nullopt;
}

std::optional<std::string> settings_from(const ParsedArgs& parsed, UploadArgs& out) {
  if (auto config_file = parsed.options.find("--config"); config_file != parsed.options.end()) {
    auto config = config::load_config_file(config_file->second);
    if (!config) return "cannot use " + config_file->second + ":\n" + config.error_text();
    if (!config->upload) return config_file->second + " has no upload: section";
    out.settings = *config->upload;
  }
  const auto take = [&](const char* name, std::string& field) {
    if (auto found = parsed.options.find(name); found != parsed.options.end())
      field = found->second;
  };
  take("--endpoint", out.settings.endpoint);
  take("--region", out.settings.region);
  take("--credentials-file", out.settings.credentials_file);
  take("--ca-file", out.settings.ca_file);
  if (auto found = parsed.options.find("--part-size"); found != parsed.options.end()) {
    const auto size = parse_size(found->second);
    if (!size || *size < upload::kMinPartSize) return "--part-size must be a size of at least 5MiB";
    out.settings.part_size = *size;
  }
  if (auto found = parsed.options.find("--max-bandwidth"); found != parsed.options.end()) {
    const auto rate = parse_size(found->second);
    if (!rate || (*rate != 0 && *rate < kMinBandwidth))
      return "--max-bandwidth must be 0 (no limit) or at least 8KiB (bytes per second)";
    out.settings.max_bandwidth = *rate;
  }
  if (out.settings.endpoint.empty()) return "no endpoint: give --config or --endpoint";
  if (out.settings.credentials_file.empty())
    return "no credentials: give --config or --credentials-file";
  return std::nullopt;
}

bool upload_one(upload::S3Client& client, const UploadArgs& args, const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  const upload::UploadTarget target{
      path,
      {args.bucket, args.prefix.empty() ? name : args.prefix + "/" + name},
      args.settings.part_size};
  const std::string where = "s3://" + args.bucket + "/" + target.object.key;
  upload::MultipartState state;
  auto report = upload::upload_file(client, target, nullptr, nullptr, &state);
  if (!report) {
    std::fprintf(stderr, "mcaprec upload: %s: %s\n", path.c_str(),
                 report.error().to_string().c_str());
    // Without a journal to resume from, a half-stored multipart upload would only cost space.
    if (!state.upload_id.empty())
      (void)client.abort_multipart_upload(target.object, state.upload_id);
    return false;
  }
  if (report->outcome == upload::UploadOutcome::already_present) {
    std::printf("%s -> %s: already there (same size and MD5), skipped\n", path.c_str(),
                where.c_str());
  } else {
    const double seconds = std::chrono::duration<double>(report->sending_time).count();
    std::printf(
        "%s -> %s: uploaded, %s%s, sent in %.2f s (%.2f MB/s)\n", path.c_str(), where.c_str(),
        human_size(report->file_bytes).c_str(),
        report->parts > 0 ? (" in " + std::to_string(report->parts) + " parts").c_str() : "",
        seconds, seconds > 0 ? static_cast<double>(report->bytes_sent) / seconds / 1e6 : 0.0);
  }
  return true;
}

// Best effort: a tool that cannot lower its priority still uploads.
void lower_priority() {
  auto priority = upload::lower_io_priority_of_this_thread();
  if (!priority) {
    std::fprintf(stderr, "mcaprec upload: could not lower the priority: %s\n",
                 priority.error().message.c_str());
  }
}

int run_upload(std::span<const std::string> args) {
  static constexpr OptionSpec kOptions[] = {
      {"--to", true},        {"--config", true},           {"--endpoint", true},
      {"--region", true},    {"--credentials-file", true}, {"--ca-file", true},
      {"--part-size", true}, {"--max-bandwidth", true}};
  ParsedArgs parsed;
  if (auto error = parse_args(args, kOptions, parsed)) return usage_error("upload", *error);
  if (parsed.positional.empty()) return usage_error("upload", "expected at least one FILE");
  if (!parsed.has("--to")) return usage_error("upload", "--to s3://BUCKET/PREFIX is required");
  UploadArgs upload_args;
  if (auto error = parse_destination(parsed.options.find("--to")->second, upload_args)) {
    return usage_error("upload", *error);
  }
  if (auto error = settings_from(parsed, upload_args)) return usage_error("upload", *error);
  const char* credentials_directory = std::getenv("CREDENTIALS_DIRECTORY");
  auto credentials = upload::load_credentials(upload_args.settings.credentials_file,
                                              credentials_directory ? credentials_directory : "");
  if (!credentials) {
    std::fprintf(stderr, "mcaprec upload: %s\n", credentials.error().message.c_str());
    return kExitFailure;
  }
  upload::ClientOptions options{upload_args.settings.endpoint, {}};
  options.session.region = upload_args.settings.region;
  options.session.ca_file = upload_args.settings.ca_file;
  options.session.bandwidth = upload::bandwidth_limit_for(upload_args.settings.max_bandwidth);
  lower_priority();
  upload::S3Client client(options, *credentials);
  bool all_stored = true;
  for (const std::string& path : parsed.positional)
    all_stored = upload_one(client, upload_args, path) && all_stored;
  return all_stored ? kExitOk : kExitFailure;
}

}  // namespace

const Command kUploadCommand = {"upload", "upload files to S3-compatible object storage", kHelp,
                                run_upload};

}  // namespace mcaprec::tool
