#include "upload/credentials.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

namespace mcaprec::upload {
namespace {

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

base::Error missing(const std::string& source, const std::string& profile, const char* key) {
  return base::Error{0, source + ": profile [" + profile + "] has no " + key};
}

}  // namespace

base::Result<Credentials> parse_credentials(const std::string& text, const std::string& source,
                                            const std::string& profile) {
  Credentials credentials;
  bool in_profile = false;
  bool profile_seen = false;
  std::istringstream lines(text);
  std::string raw;
  while (std::getline(lines, raw)) {
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      in_profile = line == "[" + profile + "]";
      profile_seen = profile_seen || in_profile;
      continue;
    }
    const auto equals = line.find('=');
    if (!in_profile || equals == std::string_view::npos) continue;
    const std::string_view key = trim(line.substr(0, equals));
    const std::string value(trim(line.substr(equals + 1)));
    if (key == "aws_access_key_id") credentials.access_key_id = value;
    if (key == "aws_secret_access_key") credentials.secret_access_key = value;
    if (key == "aws_session_token") credentials.session_token = value;
  }
  if (!profile_seen) return base::Error{0, source + ": no profile [" + profile + "]"};
  if (credentials.access_key_id.empty()) return missing(source, profile, "aws_access_key_id");
  if (credentials.secret_access_key.empty())
    return missing(source, profile, "aws_secret_access_key");
  return credentials;
}

std::string credentials_path(const std::string& credentials_file,
                             const std::string& credentials_directory) {
  if (!credentials_directory.empty() && !credentials_file.empty()) {
    const auto passed = std::filesystem::path(credentials_directory) /
                        std::filesystem::path(credentials_file).filename();
    std::error_code ignored;
    if (std::filesystem::is_regular_file(passed, ignored)) return passed.string();
  }
  return credentials_file;
}

base::Result<Credentials> load_credentials(const std::string& credentials_file,
                                           const std::string& credentials_directory) {
  const std::string path = credentials_path(credentials_file, credentials_directory);
  if (path.empty()) return base::Error{0, "no credentials_file configured"};
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::Error{0, path + ": cannot read the credentials file"};
  std::ostringstream text;
  text << in.rdbuf();
  return parse_credentials(text.str(), path);
}

}  // namespace mcaprec::upload
