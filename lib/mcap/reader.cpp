#include "mcap/reader.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "mcap/read_checks.hpp"
#include "mcap/serialize.hpp"

namespace mcaprec::mcap {

// ---- MappedFile ----

Result<MappedFile> MappedFile::open(const std::string& path) {
  auto fail = [&path](const char* what, int err) {
    return Error{0, "cannot " + std::string(what) + " " + path + ": " + std::strerror(err)};
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("open", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return fail("stat", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error{0, "cannot map " + path + ": not a regular file"};
  }
  MappedFile file;
  file.size_ = static_cast<uint64_t>(st.st_size);
  if (file.size_ > 0) {
    void* data = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      file.size_ = 0;
      return fail("map", err);
    }
    file.data_ = static_cast<const uint8_t*>(data);
  }
  ::close(fd);  // the mapping keeps the file alive
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

// ---- StreamReader ----

using NextResult = Result<std::optional<RecordItem>>;

StreamReader::StreamReader(ByteView file, ReadOptions options) : file_(file), options_(options) {}

Result<std::optional<RecordItem>> StreamReader::next() {
  if (error_) return *error_;
  if (done_) return std::optional<RecordItem>();
  if (!started_) {
    started_ = true;
    if (Status st = detail::check_leading_magic(file_); !st.ok()) return fail(st.error());
    pos_ = sizeof(kMagic);
  }
  if (in_chunk_) {
    if (chunk_pos_ < chunk_view_.size()) return next_in_chunk();
    in_chunk_ = false;
  }
  return next_in_file();
}

NextResult StreamReader::fail(Error error) {
  error_ = std::move(error);
  return *error_;
}

NextResult StreamReader::next_in_chunk() {
  // Built only on failure: the success path allocates nothing per message.
  auto chunk_error = [&](const std::string& what) {
    return fail(Error{chunk_file_offset_, "Chunk at offset " + std::to_string(chunk_file_offset_) +
                                              ": record at chunk offset " +
                                              std::to_string(chunk_pos_) + ": " + what});
  };
  auto frame = read_frame(chunk_view_, chunk_pos_);
  if (!frame.ok()) return chunk_error(frame.error().message);
  if (!detail::allowed_in_chunk(frame->opcode)) {
    return chunk_error(std::string(opcode_name(frame->opcode)) +
                       " record is not allowed inside a chunk");
  }
  auto record = parse_record(frame->opcode, frame->content, chunk_file_offset_);
  if (!record.ok()) return chunk_error(record.error().message);
  RecordItem item{std::move(*record), chunk_file_offset_, true, chunk_pos_};
  chunk_pos_ += frame->size();
  return std::optional<RecordItem>(std::move(item));
}

NextResult StreamReader::next_in_file() {
  if (pos_ >= file_.size()) {
    return fail(Error{pos_, "unexpected end of file: no Footer record"});
  }
  auto frame = read_frame(file_, pos_);
  if (!frame.ok())
    return fail(Error{frame.error().offset, "truncated record: " + frame.error().message});
  const uint64_t offset = pos_;
  const bool first_record = offset == sizeof(kMagic);
  const auto opcode = static_cast<Opcode>(frame->opcode);
  if (first_record != (opcode == Opcode::kHeader)) {
    return fail(Error{offset, first_record ? std::string("first record is ") +
                                                 opcode_name(frame->opcode) + ", not Header"
                                           : std::string("second Header record")});
  }
  auto record = parse_record(*frame);
  if (!record.ok()) return fail(record.error());
  pos_ += frame->size();

  if (opcode == Opcode::kChunk && options_.decode_chunks) {
    if (Status st = enter_chunk(std::get<Chunk>(*record), offset); !st.ok()) {
      return fail(st.error());
    }
  } else if (opcode == Opcode::kAttachment && options_.validate_crcs) {
    Status st = detail::check_attachment_crc(std::get<Attachment>(*record), frame->content, offset);
    if (!st.ok()) return fail(st.error());
  } else if (opcode == Opcode::kFooter) {
    if (Status st = check_file_end(); !st.ok()) return fail(st.error());
    done_ = true;
  }
  return std::optional<RecordItem>(RecordItem{std::move(*record), offset, false, 0});
}

Status StreamReader::enter_chunk(const Chunk& chunk, uint64_t offset) {
  detail::DecodedChunk decoded;
  Status st = detail::decode_chunk(chunk, offset, options_, decompressor_, chunk_records_, decoded);
  if (!st.ok()) return st;
  chunk_view_ = decoded.records;
  chunk_pos_ = 0;
  chunk_file_offset_ = offset;
  in_chunk_ = true;
  return {};
}

// The trailing magic must follow the Footer and end the file.
Status StreamReader::check_file_end() const {
  const uint64_t left = file_.size() - pos_;
  if (left < sizeof(kMagic)) {
    return Error{
        pos_, "truncated trailing magic: " + std::to_string(left) + " of 8 bytes after the Footer"};
  }
  if (!detail::is_magic_at(file_, pos_)) {
    return Error{pos_, "bad trailing magic after the Footer"};
  }
  if (left > sizeof(kMagic)) {
    return Error{pos_ + sizeof(kMagic),
                 std::to_string(left - sizeof(kMagic)) + " bytes after the trailing magic"};
  }
  return {};
}

}  // namespace mcaprec::mcap
