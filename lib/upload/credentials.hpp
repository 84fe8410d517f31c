#pragma once
// S3 keys from an AWS shared-credentials file (INI, profile [default]:
// aws_access_key_id, aws_secret_access_key, optional aws_session_token), or from systemd's
// credential directory when the service was started with LoadCredential=. Error messages name the
// file and the key, never a value.
#include <string>

#include "base/result.hpp"

namespace mcaprec::upload {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless the file gives temporary credentials
};

// Parses the text of a shared-credentials file; `source` names it in errors.
base::Result<Credentials> parse_credentials(const std::string& text, const std::string& source,
                                            const std::string& profile = "default");

// The file to read: $CREDENTIALS_DIRECTORY/<file name of credentials_file> when systemd passed
// that credential (`credentials_directory` non-empty and the file exists there), else
// credentials_file itself.
std::string credentials_path(const std::string& credentials_file,
                             const std::string& credentials_directory);

// credentials_path() read and parsed. `credentials_directory` is normally
// getenv("CREDENTIALS_DIRECTORY") or "".
base::Result<Credentials> load_credentials(const std::string& credentials_file,
                                           const std::string& credentials_directory);

}  // namespace mcaprec::upload
