#include "upload/file_upload.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace mcaprec::upload {
namespace {

// The file's MD5, and each part's, from one read.
struct FileDigests {
  uint64_t size = 0;
  Md5Digest whole{};
  std::vector<Md5Digest> parts;
};

S3Error local_error(const std::string& path, const std::string& what) {
  return S3Error{FailureKind::permanent, 0, "LocalFile", path + ": " + what};
}

// Reads [offset, offset + length) of the file into `out`, reused from part to part (it only
// grows, so a part's buffer is not zero-filled again before each read).
S3Status read_range(const std::string& path, uint64_t offset, uint64_t length,
                    std::vector<uint8_t>& out) {
  std::ifstream in(path, std::ios::binary);
  if (out.size() < length) out.resize(length);
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(length));
  if (!in || static_cast<uint64_t>(in.gcount()) != length) return local_error(path, "cannot read");
  return {};
}

// One pass in blocks of 1 MiB, each hashed into the whole file's MD5 and its part's while it is
// still in the cache. The part digests are sent again as the parts' Content-MD5.
S3Result<FileDigests> digest_file(const std::string& path, uint64_t part_size,
                                  std::vector<uint8_t>& buffer) {
  constexpr uint64_t kBlock = 1 << 20;
  std::error_code error;
  FileDigests digests;
  digests.size = std::filesystem::file_size(path, error);
  if (error) return local_error(path, error.message());
  Md5Stream whole;
  for (uint64_t part = 0; part < digests.size; part += part_size) {
    const uint64_t part_end = std::min(part + part_size, digests.size);
    Md5Stream this_part;
    for (uint64_t offset = part; offset < part_end; offset += kBlock) {
      const uint64_t length = std::min(kBlock, part_end - offset);
      if (auto read = read_range(path, offset, length, buffer); !read) return read.error();
      const std::span<const uint8_t> block(buffer.data(), length);
      whole.add(block);
      this_part.add(block);
    }
    digests.parts.push_back(this_part.finish());
  }
  digests.whole = whole.finish();
  return digests;
}

bool same_object(const ObjectInfo& remote, const FileDigests& local) {
  if (remote.size != local.size) return false;
  const std::string whole = to_hex(local.whole);
  return remote.stored_md5 == whole || remote.etag == whole ||
         remote.etag == multipart_etag(local.parts);
}

bool holds_part(const std::vector<UploadedPart>& parts, int number) {
  return std::any_of(parts.begin(), parts.end(),
                     [&](const UploadedPart& part) { return part.number == number; });
}

// Parts an earlier attempt stored that match ours, by number; the upload is gone when S3 does
// not know the id any more (AWS: NoSuchUpload, RGW: NoSuchKey).
S3Result<std::vector<UploadedPart>> reusable_parts(S3Client& client, const UploadTarget& target,
                                                   const MultipartState& resume,
                                                   const FileDigests& local) {
  auto stored = client.list_parts(target.object, resume.upload_id);
  if (!stored) return stored.error();
  std::vector<UploadedPart> reusable;
  for (const UploadedPart& part : *stored) {
    const auto index = static_cast<size_t>(part.number - 1);
    if (part.number >= 1 && index < local.parts.size() && part.etag == to_hex(local.parts[index])) {
      reusable.push_back(part);
    }
  }
  return reusable;
}

S3Result<UploadReport> upload_parts(S3Client& client, const UploadTarget& target,
                                    const FileDigests& local, MultipartState& state,
                                    UploadObserver* observer, std::vector<uint8_t>& buffer) {
  UploadReport report;
  report.file_bytes = local.size;
  report.parts = static_cast<int>(local.parts.size());
  report.parts_reused = static_cast<int>(state.parts.size());
  for (int number = 1; number <= report.parts; ++number) {
    if (holds_part(state.parts, number)) continue;
    const uint64_t offset = static_cast<uint64_t>(number - 1) * target.part_size;
    const uint64_t length = std::min(target.part_size, local.size - offset);
    if (auto read = read_range(target.path, offset, length, buffer); !read) return read.error();
    const auto started = std::chrono::steady_clock::now();
    auto etag = client.upload_part(target.object, state.upload_id, number,
                                   std::span<const uint8_t>(buffer.data(), length),
                                   local.parts[static_cast<size_t>(number - 1)]);
    if (!etag) return etag.error();
    report.sending_time += std::chrono::steady_clock::now() - started;
    const UploadedPart part{number, *etag, length};
    state.parts.push_back(part);
    report.bytes_sent += length;
    if (observer) observer->on_part_uploaded(part);
  }
  std::sort(state.parts.begin(), state.parts.end(),
            [](const UploadedPart& a, const UploadedPart& b) { return a.number < b.number; });
  if (auto done = client.complete_multipart_upload(target.object, state.upload_id, state.parts);
      !done) {
    return done.error();
  }
  report.etag = multipart_etag(local.parts);
  return report;
}

S3Result<UploadReport> upload_multipart(S3Client& client, const UploadTarget& target,
                                        const FileDigests& local, const MultipartState* resume,
                                        UploadObserver* observer, MultipartState& state,
                                        std::vector<uint8_t>& buffer) {
  if (resume && !resume->upload_id.empty()) {
    auto reusable = reusable_parts(client, target, *resume, local);
    if (reusable) {
      // A part whose reply was lost (S3 stored it, then the connection broke) is known only to
      // S3: journal it now, so that the journal lists every part the object is made of.
      for (const UploadedPart& part : *reusable) {
        if (!holds_part(resume->parts, part.number) && observer) observer->on_part_uploaded(part);
      }
      state = MultipartState{resume->upload_id, std::move(*reusable)};
    } else if (reusable.error().http_status != 404) {
      return reusable.error();
    }
  }
  if (state.upload_id.empty()) {
    auto upload_id = client.create_multipart_upload(target.object, to_hex(local.whole));
    if (!upload_id) return upload_id.error();
    state = MultipartState{*upload_id, {}};
    if (observer) observer->on_multipart_started(state.upload_id);
  }
  return upload_parts(client, target, local, state, observer, buffer);
}

}  // namespace

S3Result<UploadReport> upload_file(S3Client& client, const UploadTarget& target,
                                   const MultipartState* resume, UploadObserver* observer,
                                   MultipartState* state_out) {
  std::vector<uint8_t> buffer;  // one part at most, reused
  auto local = digest_file(target.path, std::max<uint64_t>(target.part_size, 1), buffer);
  if (!local) return local.error();
  auto present = client.head_object(target.object);
  if (!present) return present.error();
  if (*present && same_object(**present, *local)) {
    return UploadReport{UploadOutcome::already_present, local->size, 0, 0, 0, (*present)->etag};
  }
  if (local->size <= target.part_size) {
    if (auto read = read_range(target.path, 0, local->size, buffer); !read) return read.error();
    const auto started = std::chrono::steady_clock::now();
    const std::span<const uint8_t> body(buffer.data(), local->size);
    if (auto put = client.put_object(target.object, body, to_hex(local->whole), local->whole); !put)
      return put.error();
    return UploadReport{UploadOutcome::uploaded,
                        local->size,
                        local->size,
                        0,
                        0,
                        to_hex(local->whole),
                        std::chrono::steady_clock::now() - started};
  }
  MultipartState state;
  auto report = upload_multipart(client, target, *local, resume, observer, state, buffer);
  if (state_out) *state_out = state;
  return report;
}

}  // namespace mcaprec::upload
