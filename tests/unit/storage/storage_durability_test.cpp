// The file layer under failures: what a sink keeps when it is cut back, the disk room it sets
// aside and gives back, syncing through a handle that outlives the sink, and a writer whose
// write failed still closing a valid file that holds exactly the chunks before the failure.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

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
#include "storage/file_sink.hpp"
#include "storage/output_file.hpp"

namespace mcaprec::storage {
namespace {

namespace fs = std::filesystem;
using pipeline::testing::read_file;
using pipeline::testing::ScratchDir;
using test_support::DiskFaults;
using test_support::FailingSink;

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

TEST(FileSinkTest, CreateInMissingDirectoryNamesThePathAndReason) {
  auto sink = FileSink::create("/nonexistent-dir-for-mcaprec/x.mcap");
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.error().message.find("/nonexistent-dir-for-mcaprec/x.mcap"), std::string::npos);
  EXPECT_NE(sink.error().message.find("No such file"), std::string::npos) << sink.error().message;
}

TEST(FileSinkTest, SmallWritesAreBufferedLargeOnesGoStraightThrough) {
  const ScratchDir dir("file-sink");
  const std::filesystem::path path = dir / "sink.bin";
  auto created = FileSink::create(path.string(), 64);
  ASSERT_TRUE(created.ok());
  FileSink& sink = **created;
  const mcap::Bytes small(10, 'a');
  ASSERT_TRUE(sink.write(small).ok());
  EXPECT_EQ(std::filesystem::file_size(path), 0u) << "small writes wait in the buffer";
  const mcap::Bytes large(1000, 'b');
  ASSERT_TRUE(sink.write(large).ok());
  EXPECT_EQ(std::filesystem::file_size(path), 1010u) << "a large write flushes and bypasses";
  ASSERT_TRUE(sink.write(small).ok());
  ASSERT_TRUE(sink.sync().ok());
  EXPECT_EQ(std::filesystem::file_size(path), 1020u);
  ASSERT_TRUE(sink.write(small).ok());
  ASSERT_TRUE(sink.close().ok());
  mcap::Bytes expected = small;
  expected.insert(expected.end(), large.begin(), large.end());
  expected.insert(expected.end(), small.begin(), small.end());
  expected.insert(expected.end(), small.begin(), small.end());
  std::ifstream in(path, std::ios::binary);
  const mcap::Bytes on_disk{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_EQ(on_disk, expected);
  EXPECT_FALSE(sink.write(small).ok()) << "writing after close is an error";
}

TEST(FileSinkTest, WriteErrorsCarryTheReason) {
  // /dev/full accepts the open and fails every write with ENOSPC.
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "/dev/full is not available";
  auto created = FileSink::create("/dev/full", 16);
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  const mcap::Bytes data(100, 'x');
  mcap::Status s = (*created)->write(data);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("/dev/full"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("No space"), std::string::npos) << s.error().message;
}

TEST(WriterRewindTest, AFailedChunkIsCutOffAndTheFileClosesValidWithTheChunksBefore) {
  // In memory; the write that would pass 8000 bytes writes what fits and fails, once.
  DiskFaults faults;
  faults.capacity = 8000;
  faults.write_what_fits = true;
  faults.once = true;
  auto owned = std::make_unique<FailingSink>(faults);
  FailingSink* sink = owned.get();
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
  // Every write from the third on fails with EIO, and the sink cannot cut back.
  DiskFaults faults;
  faults.failing_write = 3;
  faults.error_number = EIO;
  faults.can_truncate = false;
  mcap::WriterOptions options;
  options.use_chunks = false;
  auto writer = mcap::Writer::open(std::make_unique<FailingSink>(faults), options);
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
  // A real file that reports the disk full once 6000 bytes went through.
  DiskFaults faults;
  faults.capacity = 6000;
  const SinkFactory failing = pipeline::testing::first_file_failing(faults);
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
