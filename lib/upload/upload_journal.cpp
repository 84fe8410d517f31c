#include "upload/upload_journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace mcaprec::upload {
namespace {

using Json = nlohmann::ordered_json;

base::Error system_error(const std::string& what, const std::string& path) {
  return base::Error{0, what + " " + path + ": " + std::strerror(errno)};
}

std::string line_of(const Json& record) {
  return record.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string enqueued_line(const JournalFile& file) {
  return line_of({{"op", "enqueued"},
                  {"file", file.name},
                  {"size", file.size},
                  {"kind", file_kind_name(file.kind)},
                  {"t", file.enqueued_unix_ns}});
}

std::string multipart_line(const std::string& name, const std::string& key,
                           const std::string& upload_id) {
  return line_of({{"op", "multipart"}, {"file", name}, {"key", key}, {"upload_id", upload_id}});
}

std::string part_line(const std::string& name, const std::string& upload_id,
                      const UploadedPart& part) {
  return line_of({{"op", "part"},
                  {"file", name},
                  {"upload_id", upload_id},
                  {"n", part.number},
                  {"etag", part.etag},
                  {"size", part.size}});
}

std::string uploaded_line(const std::string& name, const std::string& key,
                          const std::string& etag) {
  return line_of({{"op", "uploaded"}, {"file", name}, {"key", key}, {"etag", etag}});
}

// A journal is rewritten while running only once it holds more than twice the lines it needs
// plus this many, so that a small journal is not rewritten over and over.
constexpr size_t kCompactionSlack = 64;

// Every line that still says something about `file`.
std::string facts_of(const JournalFile& file) {
  std::string text = enqueued_line(file);
  if (file.uploaded) return text + uploaded_line(file.name, file.key, file.etag);
  if (file.multipart.upload_id.empty()) return text;
  text += multipart_line(file.name, file.key, file.multipart.upload_id);
  for (const UploadedPart& part : file.multipart.parts)
    text += part_line(file.name, file.multipart.upload_id, part);
  return text;
}

// How many lines facts_of(file) takes, counted in its text so that the two cannot differ
// (line_of() escapes a newline inside a value: every "\n" ends a line).
size_t fact_lines(const JournalFile& file) {
  return static_cast<size_t>(std::ranges::count(facts_of(file), '\n'));
}

std::string facts_of_all(const std::vector<JournalFile>& files, size_t& lines) {
  std::string text;
  for (const JournalFile& file : files) text += facts_of(file);
  lines = static_cast<size_t>(std::ranges::count(text, '\n'));
  return text;
}

JournalFile* find(std::vector<JournalFile>& files, const std::string& name) {
  auto found = std::find_if(files.begin(), files.end(),
                            [&](const JournalFile& file) { return file.name == name; });
  return found == files.end() ? nullptr : &*found;
}

void apply_part(JournalFile& file, const Json& record) {
  if (record.at("upload_id").get<std::string>() != file.multipart.upload_id) return;
  UploadedPart part{record.at("n").get<int>(), record.at("etag").get<std::string>(),
                    record.at("size").get<uint64_t>()};
  auto& parts = file.multipart.parts;
  std::erase_if(parts, [&](const UploadedPart& held) { return held.number == part.number; });
  parts.push_back(std::move(part));
  std::sort(parts.begin(), parts.end(),
            [](const UploadedPart& a, const UploadedPart& b) { return a.number < b.number; });
}

// One record applied; throws (nlohmann) on a line that is not a record we wrote.
void apply_record(std::vector<JournalFile>& files, const Json& record) {
  const std::string op = record.at("op").get<std::string>();
  const std::string name = record.at("file").get<std::string>();
  JournalFile* file = find(files, name);
  if (op == "enqueued") {
    JournalFile fresh;
    fresh.name = name;
    fresh.size = record.at("size").get<uint64_t>();
    fresh.kind =
        record.at("kind").get<std::string>() == "event" ? FileKind::event : FileKind::continuous;
    fresh.enqueued_unix_ns = record.at("t").get<int64_t>();
    if (file) {
      *file = std::move(fresh);  // the same name again: a new file, nothing of the old applies
    } else {
      files.push_back(std::move(fresh));
    }
    return;
  }
  if (!file) return;  // facts about a file the journal has forgotten
  if (op == "multipart") {
    file->key = record.at("key").get<std::string>();
    file->multipart = MultipartState{record.at("upload_id").get<std::string>(), {}};
  } else if (op == "part") {
    apply_part(*file, record);
  } else if (op == "uploaded") {
    file->uploaded = true;
    file->key = record.at("key").get<std::string>();
    file->etag = record.at("etag").get<std::string>();
    file->multipart = {};
  } else if (op == "forgotten") {
    std::erase_if(files, [&](const JournalFile& held) { return held.name == name; });
  }
}

base::Status write_all(int fd, const std::string& text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return system_error("cannot write", path);
    done += static_cast<size_t>(n);
  }
  return {};
}

base::Status sync_directory(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return system_error("cannot open", directory);
  const int synced = ::fsync(fd);
  ::close(fd);
  if (synced != 0) return system_error("cannot fsync", directory);
  return {};
}

// Writes `text` to a new file beside `path`, syncs it, renames it over `path`, syncs the folder.
// Returns the new file open for appending: the descriptor is the file now at `path`, with no
// window in which `path` could not be opened again.
base::Result<int> replace_file(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".new";
  const int fd =
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return system_error("cannot create", temporary);
  base::Status written = write_all(fd, text, temporary);
  if (written && ::fdatasync(fd) != 0) written = system_error("cannot sync", temporary);
  if (written && ::rename(temporary.c_str(), path.c_str()) != 0)
    written = system_error("cannot rename", temporary);
  if (!written) {
    ::close(fd);
    return written.error();
  }
  // Renamed: from here on `path` is this file, so it is returned even if the folder cannot be
  // synced (the rename then reaches the disk with the folder's next write-back).
  (void)sync_directory(std::filesystem::path(path).parent_path().string());
  return fd;
}

}  // namespace

const char* file_kind_name(FileKind kind) {
  return kind == FileKind::event ? "event" : "continuous";
}

JournalContents parse_journal(std::string_view text) {
  JournalContents contents;
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) {  // torn: the crash came before its newline
      ++contents.ignored_lines;
      break;
    }
    const std::string_view line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.empty()) continue;
    try {
      apply_record(contents.files, Json::parse(line));
    } catch (const Json::exception&) {
      ++contents.ignored_lines;
    }
  }
  return contents;
}

base::Result<std::unique_ptr<UploadJournal>> UploadJournal::open(const std::string& path,
                                                                 JournalContents& contents,
                                                                 const Keep& keep) {
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
  if (error) return base::Error{0, "cannot create the folder of " + path + ": " + error.message()};
  std::string text;
  if (std::ifstream in(path, std::ios::binary); in) {
    std::ostringstream read;
    read << in.rdbuf();
    text = read.str();
  }
  contents = parse_journal(text);
  if (keep) std::erase_if(contents.files, [&](const JournalFile& file) { return !keep(file); });
  size_t lines = 0;
  const std::string compacted = facts_of_all(contents.files, lines);
  base::Result<int> fd = replace_file(path, compacted);
  if (!fd) return fd.error();
  JournalContents live;
  live.files = contents.files;
  return std::unique_ptr<UploadJournal>(new UploadJournal(path, *fd, std::move(live), lines));
}

UploadJournal::UploadJournal(std::string path, int fd, JournalContents contents, size_t lines)
    : path_(std::move(path)),
      fd_(fd),
      live_(std::move(contents)),
      lines_(lines),
      next_compaction_(lines) {}

UploadJournal::~UploadJournal() {
  ::close(fd_);
}

size_t UploadJournal::lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

base::Status UploadJournal::append(const std::string& line, bool sync) {
  std::lock_guard lock(mu_);
  if (base::Status written = write_all(fd_, line, path_); !written) return written;
  ++lines_;
  apply_record(live_.files, Json::parse(line));  // a line we just made: it parses
  if (!sync) return {};
  if (::fdatasync(fd_) != 0) return system_error("cannot sync", path_);
  if (compaction_due()) compact();
  return {};
}

bool UploadJournal::compaction_due() const {
  if (lines_ < next_compaction_) return false;
  // Every file takes at least one line: while that alone rules compaction out, spare the count,
  // which writes each file's lines (this runs on every synced append).
  if (lines_ <= 2 * live_.files.size() + kCompactionSlack) return false;
  size_t live_lines = 0;
  for (const JournalFile& file : live_.files) live_lines += fact_lines(file);
  return lines_ > 2 * live_lines + kCompactionSlack;
}

// The same rewrite as at opening, while running. The appends already made are durable in the
// old file, so a failure here loses nothing: the old file stays, and growing on is harmless.
void UploadJournal::compact() {
  size_t lines = 0;
  const std::string text = facts_of_all(live_.files, lines);
  base::Result<int> fd = replace_file(path_, text);
  if (!fd) {
    next_compaction_ = lines_ + kCompactionSlack;  // not on every append while the disk is full
    return;
  }
  ::close(fd_);
  fd_ = *fd;
  lines_ = lines;
  next_compaction_ = lines;
}

base::Status UploadJournal::enqueued(const JournalFile& file) {
  return append(enqueued_line(file));
}

base::Status UploadJournal::multipart_started(const std::string& name, const std::string& key,
                                              const std::string& upload_id) {
  return append(multipart_line(name, key, upload_id));
}

base::Status UploadJournal::part_uploaded(const std::string& name, const std::string& upload_id,
                                          const UploadedPart& part) {
  return append(part_line(name, upload_id, part));
}

base::Status UploadJournal::uploaded(const std::string& name, const std::string& key,
                                     const std::string& etag) {
  return append(uploaded_line(name, key, etag));
}

base::Status UploadJournal::forgotten(const std::string& name) {
  return append(line_of({{"op", "forgotten"}, {"file", name}}), false);
}

}  // namespace mcaprec::upload
