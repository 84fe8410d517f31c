// The file layer under failures: what a sink keeps when it is cut back, the disk room it sets
// aside and gives back, syncing through a handle that outlives the sink, and a writer whose
// write failed still closing a valid file that holds exactly the chunks before the failure.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "mcap/reader.hpp"
#include "mcap/sink.hpp"
#include "mcap/verify.hpp"
#include "mcap/writer.hpp"
#include "pipeline_test_support.hpp"
#include "storage/output_file.hpp"
#include "storage/file_sink.hpp"

namespace mcaprec::storage {
namespace {

namespace fs = std::filesystem;
using pipeline::testing::read_file;
using pipeline::testing::ScratchDir;

mcap::Bytes file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return mcap::Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

mcap::ByteView text(const char* s) {
  return mcap::ByteView(reinterpret_cast<const uint8_t*>(s), std::strlen(s));
}

uint64_t allocated_bytes(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return uint64_t(st.st_blocks) * 512;
}

TEST(FileSinkTest, TruncateKeepsThePrefixWhetherBufferedOrWrittenAndWritesContinueAfterIt) {
  ScratchDir dir;
  const std::string path = dir.path() + "/f";
  auto sink = storage::FileSink::create(path, 8);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->write(text("0123456789abcdef")).ok());  // past the buffer: written
  ASSERT_TRUE((*sink)->write(text("XYZ")).ok());               // buffered
  ASSERT_TRUE((*sink)->truncate(17).ok());                     // inside the buffer
  ASSERT_TRUE((*sink)->write(text("q")).ok());
  ASSERT_TRUE((*sink)->flush().ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(file_bytes(path).data()), 18),
            "0123456789abcdefXq");
  ASSERT_TRUE((*sink)->truncate(4).ok());  // inside what the OS has
  ASSERT_TRUE((*sink)->write(text("-tail-")).ok());
  ASSERT_TRUE((*sink)->close().ok());
  const mcap::Bytes bytes = file_bytes(path);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "0123-tail-") << "no hole, no leftovers";
  auto again = storage::FileSink::create(path, 8);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->write(text("abc")).ok());
  EXPECT_FALSE((*again)->truncate(4).ok()) << "cannot keep more than was written";
}

TEST(FileSinkTest, ReservedRoomIsAllocatedWhileWritingAndGivenBackAtClose) {
  ScratchDir dir;
  const std::string path = dir.path() + "/f";
  auto sink = storage::FileSink::create(path, 64);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->write(text("hello")).ok());
  ASSERT_TRUE((*sink)->reserve(4 << 20).ok());
  const uint64_t during = allocated_bytes(path);
  if (during < (4u << 20)) GTEST_SKIP() << "the filesystem of " << path << " cannot fallocate";
  EXPECT_EQ(fs::file_size(path), 0u) << "reserving does not change the size";
  ASSERT_TRUE((*sink)->close().ok());
  EXPECT_EQ(fs::file_size(path), 5u);
  EXPECT_LT(allocated_bytes(path), uint64_t{1} << 20) << "the room was given back";
}

TEST(FileSinkTest, ASyncHandleOutlivesItsSinkAndNeverTouchesItsDescriptor) {
  ScratchDir dir;
  auto sink = storage::FileSink::create(dir.path() + "/f");
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->write(text("data")).ok());
  auto handle = (*sink)->sync_handle();
  ASSERT_TRUE(handle.ok());
  ASSERT_NE(*handle, nullptr);
  ASSERT_TRUE((*sink)->flush().ok());
  EXPECT_TRUE((*handle)->sync().ok());
  const int sink_fd = (*sink)->fd();
  ASSERT_TRUE((*sink)->close().ok());
  // The sink's descriptor number is free now and may be reused by anyone; the handle syncs
  // its own duplicate, so reusing the number changes nothing for it.
  auto other = storage::FileSink::create(dir.path() + "/g");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->fd(), sink_fd);
  EXPECT_TRUE((*handle)->sync().ok());
}

// A memory sink that can fail the write that would pass `fail_at` bytes (once), writing what
// fits first as a disk would, and cut back on request.
class FailOnceSink : public mcap::ByteSink {
 public:
  explicit FailOnceSink(uint64_t fail_at) : fail_at_(fail_at) {}
  mcap::Status write(mcap::ByteView data) override {
    if (!failed_ && bytes_.size() + data.size() > fail_at_) {
      failed_ = true;
      bytes_.insert(bytes_.end(), data.begin(), data.begin() + (fail_at_ - bytes_.size()));
      return mcap::Error{bytes_.size(), std::string("write: ") + std::strerror(ENOSPC)};
    }
    bytes_.insert(bytes_.end(), data.begin(), data.end());
    return {};
  }
  mcap::Status truncate(uint64_t size) override {
    if (size > bytes_.size()) return mcap::Error{size, "too long"};
    bytes_.resize(size);
    return {};
  }
  const mcap::Bytes& bytes() const { return bytes_; }

 private:
  uint64_t fail_at_;
  bool failed_ = false;
  mcap::Bytes bytes_;
};

mcap::EncodedChunk chunk_of(uint16_t channel, uint32_t first, uint32_t count) {
  mcap::ChunkBuilder builder;
  const mcap::Bytes payload(300, uint8_t(first));
  for (uint32_t i = first; i < first + count; ++i) {
    builder.add_message(mcap::Message{channel, i, i, i, payload});
  }
  mcap::ChunkEncodeOptions options;
  options.compression = mcap::Compression::kNone;
  mcap::Compressor compressor;
  mcap::EncodedChunk chunk;
  EXPECT_TRUE(mcap::encode_chunk(builder, options, compressor, chunk).ok());
  return chunk;
}

TEST(WriterRewindTest, AFailedChunkIsCutOffAndTheFileClosesValidWithTheChunksBefore) {
  auto owned = std::make_unique<FailOnceSink>(8000);
  FailOnceSink* sink = owned.get();
  mcap::WriterOptions options;
  options.use_chunks = false;
  auto writer = mcap::Writer::open(std::move(owned), options);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->add_channel(mcap::Channel{1, 0, "/t", "raw", {}}).ok());
  uint32_t next = 0;
  uint64_t good_end = 0;
  mcap::Status status;
  while (status) {
    status = (*writer)->write_encoded_chunk(chunk_of(1, next, 5));
    if (status) {
      ASSERT_TRUE((*writer)->flush().ok());
      (*writer)->checkpoint();
      good_end = (*writer)->bytes_written();
      next += 5;
    }
  }
  EXPECT_TRUE((*writer)->failed());
  EXPECT_EQ(sink->bytes().size(), 8000u) << "the failed write left part of a chunk";
  ASSERT_TRUE((*writer)->rewind_after_failure().ok());
  EXPECT_EQ(sink->bytes().size(), good_end);
  ASSERT_TRUE((*writer)->write_metadata(mcap::Metadata{"after", {{"k", "v"}}}).ok());
  ASSERT_TRUE((*writer)->close().ok());

  const mcap::VerifyReport report = mcap::verify_file(sink->bytes());
  ASSERT_TRUE(report.ok()) << report.findings.front().to_string();
  EXPECT_EQ(report.message_count, next) << "exactly the messages of the chunks before";
  auto summary = mcap::read_summary(sink->bytes());
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->chunk_indexes.size(), next / 5);
  EXPECT_EQ(summary->statistics->message_count, next);
}

TEST(WriterRewindTest, ASinkThatCannotCutBackLeavesTheWriterFailed) {
  struct NoCutSink : mcap::ByteSink {
    int writes = 0;
    mcap::Status write(mcap::ByteView) override {
      if (++writes > 2) return mcap::Error{0, "Input/output error"};
      return {};
    }
  };
  mcap::WriterOptions options;
  options.use_chunks = false;
  auto writer = mcap::Writer::open(std::make_unique<NoCutSink>(), options);
  ASSERT_TRUE(writer.ok());
  EXPECT_FALSE((*writer)->add_channel(mcap::Channel{1, 0, "/t", "raw", {}}).ok());
  const mcap::Status rewound = (*writer)->rewind_after_failure();
  ASSERT_FALSE(rewound.ok());
  EXPECT_NE(rewound.error().message.find("cannot cut the file back"), std::string::npos);
  EXPECT_TRUE((*writer)->failed());
  EXPECT_FALSE((*writer)->close().ok());
}

TEST(OutputFileTest, FinalizeOfAFileWhoseWriteFailedLeavesAValidFileWithTheChunksBefore) {
  ScratchDir dir;
  const std::string final_path = dir.path() + "/cut.mcap";
  SinkFactory failing =
      [](const std::string& path) -> mcap::Result<std::unique_ptr<mcap::ByteSink>> {
    // A real file that reports the disk full once 6000 bytes went through.
    struct FullAt : mcap::ByteSink {
      std::unique_ptr<mcap::ByteSink> inner;
      uint64_t written = 0;
      mcap::Status write(mcap::ByteView data) override {
        if (written + data.size() > 6000) return mcap::Error{written, "No space left on device"};
        written += data.size();
        return inner->write(data);
      }
      mcap::Status flush() override { return inner->flush(); }
      mcap::Status sync() override { return inner->sync(); }
      mcap::Status truncate(uint64_t size) override {
        written = size;
        return inner->truncate(size);
      }
    };
    auto inner = file_sink_factory()(path);
    if (!inner) return inner.error();
    auto sink = std::make_unique<FullAt>();
    sink->inner = std::move(*inner);
    return std::unique_ptr<mcap::ByteSink>(std::move(sink));
  };
  mcap::WriterOptions options;
  options.use_chunks = false;
  auto file = OutputFile::create(final_path, options, failing);
  ASSERT_TRUE(file.ok());
  mcap::Writer& writer = (*file)->writer();
  ASSERT_TRUE(writer.add_channel(mcap::Channel{1, 0, "/t", "raw", {}}).ok());
  uint32_t written = 0;
  for (uint32_t first = 0;; first += 5) {
    if (!writer.write_encoded_chunk(chunk_of(1, first, 5)) || !writer.flush()) break;
    writer.checkpoint();
    written += 5;
  }
  ASSERT_TRUE(writer.failed());
  ASSERT_TRUE((*file)->finalize().ok());
  EXPECT_FALSE(fs::exists(final_path + ".active"));
  const pipeline::testing::FileContents contents = read_file(final_path);
  ASSERT_EQ(contents.error, "");
  ASSERT_EQ(contents.messages.size(), written);
  for (uint32_t i = 0; i < written; ++i) EXPECT_EQ(contents.messages[i].sequence, i);
}

}  // namespace
}  // namespace mcaprec::storage
