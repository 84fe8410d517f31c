#include "storage/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "storage/file_naming.hpp"
#include "storage/file_sink.hpp"

namespace mcaprec::storage {

namespace {

base::Error os_error(const std::string& what, const std::string& path, int err) {
  return base::Error{0, what + " " + path + ": " + std::strerror(err)};
}

}  // namespace

namespace {

// Small records (header, schemas, channels, metadata, the summary) are gathered in the buffer;
// chunks, which are larger, go straight from the encoder's bytes to write(2): copying them into
// a buffer first would be most of the ordered writer's work.
constexpr size_t kFileBufferBytes = 64 << 10;

}  // namespace

SinkFactory file_sink_factory(std::shared_ptr<FileSystem> file_system) {
  return [file_system = std::move(file_system)](
             const std::string& path) -> base::Result<std::unique_ptr<mcap::ByteSink>> {
    base::Result<std::unique_ptr<storage::FileSink>> sink =
        storage::FileSink::create(path, kFileBufferBytes, file_system);
    if (!sink) return sink.error();
    return std::unique_ptr<mcap::ByteSink>(std::move(*sink));
  };
}

base::Result<std::unique_ptr<OutputFile>> OutputFile::create(
    std::string final_path, mcap::WriterOptions options, const SinkFactory& open_sink,
    std::shared_ptr<FileSystem> file_system) {
  const std::string active_path = final_path + std::string(kActiveSuffix);
  base::Result<std::unique_ptr<mcap::ByteSink>> sink =
      open_sink ? open_sink(active_path) : file_sink_factory(file_system)(active_path);
  if (!sink) return sink.error();
  base::Result<std::unique_ptr<mcap::Writer>> writer =
      mcap::Writer::open(std::move(*sink), std::move(options));
  if (!writer) {
    return base::Error{writer.error().offset,
                       "cannot start " + active_path + ": " + writer.error().message};
  }
  return std::unique_ptr<OutputFile>(
      new OutputFile(std::move(final_path), std::move(*writer), or_posix(file_system)));
}

OutputFile::OutputFile(std::string final_path, std::unique_ptr<mcap::Writer> writer,
                       std::shared_ptr<FileSystem> file_system)
    : fs_(std::move(file_system)),
      final_path_(std::move(final_path)),
      active_path_(final_path_ + std::string(kActiveSuffix)),
      writer_(std::move(writer)) {}

base::Result<std::shared_ptr<mcap::SyncHandle>> OutputFile::sync_handle() {
  return writer_->sink().sync_handle();
}

base::Status OutputFile::finalize() {
  if (writer_->failed()) {
    if (base::Status s = writer_->rewind_after_failure(); !s) {
      return base::Error{s.error().offset,
                         "cannot finalize " + active_path_ + ": " + s.error().message};
    }
  }
  if (base::Status s = writer_->close(); !s) {
    return base::Error{s.error().offset,
                       "cannot finalize " + active_path_ + ": " + s.error().message};
  }
  if (base::Status s = writer_->sink().sync(); !s) {
    return base::Error{s.error().offset, "cannot sync " + active_path_ + ": " + s.error().message};
  }
  writer_.reset();  // closes the descriptor before the name changes
  if (fs_->rename(active_path_, final_path_) != 0) {
    return os_error("cannot rename " + active_path_ + " to", final_path_, errno);
  }
  return sync_directory(parent_directory(final_path_), *fs_);
}

void OutputFile::discard() {
  writer_.reset();
  fs_->unlink(active_path_);
}

base::Status ensure_directory(const std::string& directory) {
  if (directory.empty()) return {};
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = directory.find('/', pos + 1);
    partial = directory.substr(0, pos);
    if (partial.empty() || partial == "/") continue;
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      return os_error("cannot create directory", partial, errno);
    }
  }
  struct stat st;
  if (::stat(directory.c_str(), &st) != 0) {
    return os_error("cannot use directory", directory, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return base::Error{0, "cannot use directory " + directory + ": not a directory"};
  }
  return {};
}

}  // namespace mcaprec::storage
