// Output files as they appear on disk: names, the `.active` name while writing, finalization
// into a complete file under its final name, and the finalizer thread doing that in order.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "mcap/chunk.hpp"
#include "mcap/reader.hpp"
#include "mcap/verify.hpp"
#include "pass_through_file_system.hpp"
#include "payload.hpp"
#include "pipeline_test_support.hpp"
#include "storage/file_naming.hpp"
#include "storage/file_sink.hpp"
#include "storage/file_system.hpp"
#include "storage/finalizer.hpp"
#include "storage/output_file.hpp"

namespace mcaprec::storage {
namespace {

namespace fs = std::filesystem;
using pipeline::testing::ScratchDir;

std::chrono::system_clock::time_point at(int64_t unix_seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds));
}

TEST(FileNamingTest, NamesCarryPrefixUtcStartAndIndex) {
  // 2026-11-21T10:15:00Z
  EXPECT_EQ(utc_stamp(at(1795256100)), "2026-11-21T10-15-00Z");
  EXPECT_EQ(recording_file_name("rec", at(1795256100), 3), "rec_2026-11-21T10-15-00Z_3.mcap");
}

TEST(FileNamingTest, NamerNeverReusesAnExistingName) {
  ScratchDir dir;
  { std::ofstream(dir.path() + "/rec_2026-11-21T10-15-00Z_0.mcap") << "x"; }
  { std::ofstream(dir.path() + "/rec_2026-11-21T10-15-00Z_1.mcap.active") << "x"; }
  FileNamer namer(dir.path(), "rec");
  EXPECT_EQ(namer.next(at(1795256100)), dir.path() + "/rec_2026-11-21T10-15-00Z_2.mcap");
  EXPECT_EQ(namer.last_index(), 2u);
  EXPECT_EQ(namer.next(at(1795256101)), dir.path() + "/rec_2026-11-21T10-15-01Z_3.mcap");
}

TEST(OutputFileTest, IsActiveWhileWrittenAndCompleteUnderItsFinalNameAfterwards) {
  ScratchDir dir;
  const std::string final_path = dir.path() + "/a.mcap";
  auto file = OutputFile::create(final_path, mcap::WriterOptions{}, file_sink_factory());
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  EXPECT_TRUE(fs::exists(final_path + ".active"));
  EXPECT_FALSE(fs::exists(final_path));
  mcap::Writer& writer = (*file)->writer();
  ASSERT_TRUE(writer.add_channel(mcap::Channel{1, 0, "/t", "json", {}}).ok());
  const uint8_t data[] = {'{', '}'};
  ASSERT_TRUE(writer.write_message(mcap::Message{1, 0, 5, 5, data}).ok());
  ASSERT_TRUE((*file)->finalize().ok());
  EXPECT_FALSE(fs::exists(final_path + ".active"));
  ASSERT_TRUE(fs::exists(final_path));
  auto mapped = mcap::MappedFile::open(final_path);
  ASSERT_TRUE(mapped.ok());
  const mcap::VerifyReport report = mcap::verify_file(mapped->bytes());
  EXPECT_TRUE(report.ok()) << report.findings.front().to_string();
  EXPECT_EQ(report.message_count, 1u);
}

TEST(OutputFileTest, DirectoriesAreCreatedWithTheirParents) {
  ScratchDir dir;
  const std::string nested = dir.path() + "/a/b/c";
  ASSERT_TRUE(ensure_directory(nested).ok());
  EXPECT_TRUE(fs::is_directory(nested));
  EXPECT_TRUE(ensure_directory(nested).ok());  // again: fine
  { std::ofstream(dir.path() + "/file") << "x"; }
  const mcap::Status status = ensure_directory(dir.path() + "/file");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("not a directory"), std::string::npos);
  EXPECT_EQ(parent_directory("/x/y.mcap"), "/x");
  EXPECT_EQ(parent_directory("y.mcap"), ".");
}

TEST(FinalizerTest, FinalizesEverySubmittedFileBeforeFinishing) {
  ScratchDir dir;
  Finalizer finalizer;
  for (int i = 0; i < 3; ++i) {
    auto file = OutputFile::create(dir.path() + "/f" + std::to_string(i) + ".mcap",
                                   mcap::WriterOptions{}, file_sink_factory());
    ASSERT_TRUE(file.ok());
    finalizer.submit(std::move(*file));
  }
  finalizer.finish();
  EXPECT_EQ(finalizer.stats().files_finalized, 3u);
  EXPECT_EQ(finalizer.stats().files_failed, 0u);
  EXPECT_FALSE(finalizer.first_error().has_value());
  EXPECT_EQ(finalizer.stats().last_finalized_file, dir.path() + "/f2.mcap");
  EXPECT_EQ(dir.files(".mcap").size(), 3u);
  EXPECT_TRUE(dir.files(".active").empty());
}

TEST(FinalizerTest, TellsTheListenerOfEachFileBeforeItCountsAsFinished) {
  ScratchDir dir;
  std::vector<std::string> told;
  std::vector<bool> renamed_when_told;
  Finalizer* self = nullptr;
  Finalizer finalizer([&](const FinishedFile& file) {
    EXPECT_TRUE(file.ok) << file.error;
    told.push_back(file.path);
    renamed_when_told.push_back(std::filesystem::exists(file.path));
    // Not yet among the finished: whoever waits for the file hears of it after the listener.
    EXPECT_FALSE(self->finished(file.path).has_value());
  });
  self = &finalizer;
  for (int i = 0; i < 2; ++i) {
    auto file = OutputFile::create(dir.path() + "/f" + std::to_string(i) + ".mcap",
                                   mcap::WriterOptions{}, file_sink_factory());
    ASSERT_TRUE(file.ok());
    finalizer.submit(std::move(*file));
  }
  finalizer.finish();
  EXPECT_EQ(told, (std::vector<std::string>{dir.path() + "/f0.mcap", dir.path() + "/f1.mcap"}));
  EXPECT_EQ(renamed_when_told, (std::vector<bool>{true, true}));
  EXPECT_TRUE(finalizer.finished(dir.path() + "/f1.mcap").has_value());
}

// The POSIX calls, but writev as the interface's default: one piece at a time, so that every
// gathering write comes back short.
class OnePieceAtATime final : public test_support::PassThroughFileSystem {
 public:
  ssize_t write(int fd, const void* data, size_t size) override {
    ++writes;
    return posix().write(fd, data, size);
  }

  int writes = 0;
};

// Writes two raw chunks of the same pieces into `path` through a FileSink with a small buffer
// (so that the large pieces go past it): records copied, or left in place and gathered.
void write_raw_chunks(const std::string& path, uint64_t in_place_min,
                      std::shared_ptr<FileSystem> file_system) {
  mcap::ChunkBuilder small, large;
  small.add_record(mcap::Channel{1, 0, "/camera", "raw", {}});
  small.add_message(mcap::Message{1, 0, 1, 1, test_support::payload(1, 100)});
  large.add_message(
      mcap::Message{1, 1, 2, 2, test_support::payload(2, 300000, test_support::Filler::kNoise)});
  large.add_message(mcap::Message{1, 2, 3, 3, test_support::payload(3, 20)});
  const mcap::ChunkPiece pieces[] = {small.piece(), large.piece(), small.piece()};
  mcap::ChunkEncodeOptions options;
  options.compression = mcap::Compression::kNone;
  options.in_place_min_bytes = in_place_min;
  mcap::Compressor compressor;
  mcap::EncodedChunk encoded;
  ASSERT_TRUE(mcap::encode_chunk(pieces, options, compressor, encoded).ok());
  EXPECT_EQ(encoded.parts.empty(), in_place_min == 0);

  auto sink = FileSink::create(path, 4096, std::move(file_system));
  ASSERT_TRUE(sink.ok());
  auto writer = mcap::Writer::open(std::move(*sink), mcap::WriterOptions{});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->add_channel(mcap::Channel{1, 0, "/camera", "raw", {}}).ok());
  for (int i = 0; i < 2; ++i) ASSERT_TRUE((*writer)->write_encoded_chunk(encoded).ok());
  ASSERT_TRUE((*writer)->close().ok());
}

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(FileSinkTest, RawChunkWrittenFromItsPiecesIsTheCopiedChunkByteForByte) {
  ScratchDir dir;
  const std::string copied = dir.path() + "/copied.mcap";
  const std::string gathered = dir.path() + "/gathered.mcap";
  const std::string short_writes = dir.path() + "/short.mcap";
  write_raw_chunks(copied, 0, nullptr);
  write_raw_chunks(gathered, 16 << 10, nullptr);
  auto one_piece = std::make_shared<OnePieceAtATime>();
  write_raw_chunks(short_writes, 16 << 10, one_piece);
  EXPECT_GT(one_piece->writes, 4);  // each gathering write was continued piece by piece

  const std::string expected = file_text(copied);
  EXPECT_EQ(file_text(gathered), expected);
  EXPECT_EQ(file_text(short_writes), expected);
  // And the reader agrees: chunk CRCs, data-section CRC, indexes, every message.
  const pipeline::testing::FileContents contents = pipeline::testing::read_file(gathered);
  EXPECT_EQ(contents.error, "");
  ASSERT_EQ(contents.messages.size(), 8u);  // four per chunk
  EXPECT_EQ(contents.messages[1].data,
            test_support::payload(2, 300000, test_support::Filler::kNoise));
}

}  // namespace
}  // namespace mcaprec::storage
