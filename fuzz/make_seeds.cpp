// Writes the seed corpus of the fuzz targets: small, valid inputs of each format (and a few
// slightly broken ones), so that the fuzzers start from real records instead of noise.
// Usage: fuzz_make_seeds <repo>/fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "mcap/bytes.hpp"
#include "mcap/serialize.hpp"
#include "mcap/sink.hpp"
#include "mcap/writer.hpp"

namespace {

namespace mcap = mcaprec::mcap;
using mcap::Bytes;

Bytes text(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

Bytes record(const mcap::Record& r) {
  Bytes out;
  mcap::append_record(out, r);
  return out;
}

void append(Bytes& out, const Bytes& more) {
  out.insert(out.end(), more.begin(), more.end());
}

bool write_file(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

const mcap::Schema kSchema{1, "pkg/Pose", "jsonschema", text(R"({"type":"object"})")};
const mcap::Channel kPose{1, 1, "/pose", "json", {{"frame", "map"}}};
const mcap::Channel kRaw{2, 0, "/raw", "", {}};

Bytes message(uint16_t channel, uint32_t seq, const std::string& payload) {
  return record(mcap::Message{channel, seq, 100 + seq, 100 + seq, text(payload)});
}

// A short recording by our writer: schema, two channels, messages, metadata, an attachment.
Bytes recording(bool chunks, mcap::Compression compression, uint64_t chunk_size) {
  auto sink = std::make_unique<mcap::MemorySink>();
  mcap::MemorySink* memory = sink.get();
  mcap::WriterOptions options;
  options.use_chunks = chunks;
  options.compression = compression;
  options.chunk_size = chunk_size;
  auto writer = mcap::Writer::open(std::move(sink), options);
  if (!writer.ok()) return {};
  mcap::Writer& w = **writer;
  (void)w.add_schema(kSchema);
  (void)w.add_channel(kPose);
  (void)w.add_channel(kRaw);
  for (uint32_t i = 0; i < 12; ++i) {
    const Bytes payload = text(R"({"x":)" + std::to_string(i) + R"(,"y":0.5})");
    (void)w.write_message({static_cast<uint16_t>(i % 2 + 1), i, 1000 + i, 1000 + i, payload});
    if (i == 5) (void)w.write_metadata({"calibration", {{"fx", "512"}}});
  }
  const Bytes blob = text("attachment bytes");
  (void)w.write_attachment({1, 2, "notes.txt", "text/plain", blob, 0});
  (void)w.close();
  return memory->take();
}

Bytes datagram_sequence(const std::vector<std::pair<int, Bytes>>& datagrams) {
  Bytes out;
  for (const auto& [sender, bytes] : datagrams) {
    mcap::put_le<uint16_t>(out, static_cast<uint16_t>(bytes.size() | (sender << 15)));
    append(out, bytes);
  }
  return out;
}

Bytes frames(const std::vector<std::string>& payloads) {
  Bytes out;
  for (const std::string& p : payloads) {
    mcap::put_le<uint32_t>(out, static_cast<uint32_t>(p.size()));
    append(out, text(p));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root = argv[1];
  std::vector<std::pair<std::filesystem::path, Bytes>> seeds;

  // mcap_stream
  const Bytes unchunked = recording(false, mcap::Compression::kNone, 0);
  seeds.push_back({"mcap_stream/unchunked.mcap", unchunked});
  seeds.push_back(
      {"mcap_stream/chunked_none.mcap", recording(true, mcap::Compression::kNone, 256)});
  seeds.push_back({"mcap_stream/chunked_lz4.mcap", recording(true, mcap::Compression::kLz4, 256)});
  seeds.push_back(
      {"mcap_stream/chunked_zstd.mcap", recording(true, mcap::Compression::kZstd, 1024)});
  seeds.push_back({"mcap_stream/truncated.mcap", Bytes(unchunked.begin(), unchunked.end() - 40)});
  {
    Bytes bare = record(kSchema);
    append(bare, record(kPose));
    append(bare, message(1, 1, "{}"));
    append(bare, record(mcap::UnknownRecord{0x90, text("private")}));
    append(bare, record(mcap::MessageIndex{1, {{101, 0}}}));
    append(bare, message(1, 2, "{\"x\":2}"));
    append(bare, record(mcap::DataEnd{0}));
    seeds.push_back({"mcap_stream/bare_records.bin", bare});
  }

  // mcap_datagram
  Bytes defs = record(kSchema);
  append(defs, record(kPose));
  append(defs, record(kRaw));
  {
    Bytes first = defs;
    append(first, message(1, 1, "{}"));
    append(first, message(2, 2, "raw"));
    seeds.push_back({"mcap_datagram/one.bin", datagram_sequence({{0, first}})});
    seeds.push_back(
        {"mcap_datagram/two_senders.bin",
         datagram_sequence(
             {{0, first}, {0, message(1, 3, "{\"a\":1}")}, {1, message(1, 1, "{}")}, {1, defs}})});
    Bytes with_magic(mcap::kMagic, mcap::kMagic + sizeof(mcap::kMagic));
    append(with_magic, first);
    Bytes broken = first;
    broken.resize(broken.size() - 3);
    seeds.push_back({"mcap_datagram/magic_and_broken.bin",
                     datagram_sequence({{0, with_magic}, {1, broken}, {1, first}})});
  }

  // length_prefixed
  seeds.push_back(
      {"length_prefixed/frames.bin", frames({"one", "", "three", std::string(300, 'x')})});
  {
    Bytes cut = frames({"first", "second"});
    cut.resize(cut.size() - 2);
    seeds.push_back({"length_prefixed/cut.bin", cut});
  }

  for (const auto& [name, bytes] : seeds) {
    const std::filesystem::path path = root / name;
    std::filesystem::create_directories(path.parent_path());
    if (!write_file(path, bytes)) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      return 1;
    }
    std::printf("%6zu bytes  %s\n", bytes.size(), name.c_str());
  }
  return 0;
}
