// The checks of sources: each one by itself (format and transport, topics, schemas, multicast,
// limits), then across sources (names, bind addresses) and against the metrics endpoint.
#include <algorithm>
#include <array>
#include <vector>

#include "config/units.hpp"
#include "config/validate_internal.hpp"

namespace mcaprec::config::detail {
namespace {

// Schema and message encodings that belong together (MCAP registry), for the well-known ones.
struct EncodingPair {
  std::string_view message_encoding;
  std::initializer_list<std::string_view> schema_encodings;
  bool schema_required;
};

const EncodingPair* find_encoding(std::string_view message_encoding) {
  static const std::array<EncodingPair, 8> kPairs = {{
      {"ros1", {"ros1msg"}, true},
      {"cdr", {"ros2msg", "ros2idl", "omgidl"}, true},
      {"protobuf", {"protobuf"}, true},
      {"flatbuffer", {"flatbuffer"}, true},
      {"capnproto", {"capnproto"}, true},
      {"json", {"jsonschema"}, false},
      {"cbor", {}, false},
      {"msgpack", {}, false},
  }};
  for (const EncodingPair& pair : kPairs) {
    if (pair.message_encoding == message_encoding) return &pair;
  }
  return nullptr;
}

void check_schema(const Config& config, const Source& source, const std::string& path,
                  Diagnostics& d) {
  const std::string schema_path = path + ".schema";
  if (source.schema && !d.has_error(schema_path)) {
    const SourceSchema& schema = *source.schema;
    if (schema.name.empty()) d.error(schema_path + ".name", "must not be empty");
    if (schema.encoding.empty() && !schema.data.empty()) {
      d.error(schema_path + ".encoding",
              "a schema with data needs an encoding (ros2msg, protobuf, jsonschema, ...)");
    }
  }
  if (d.has_error(path + ".message_encoding") || d.has_error(schema_path)) return;
  const std::string& message_encoding = source.message_encoding;
  if (const EncodingPair* pair = find_encoding(message_encoding)) {
    if (!source.schema && pair->schema_required) {
      d.error(path + ".message_encoding",
              in_quotes(message_encoding) +
                  " messages need a schema: add schema: {name, encoding, "
                  "data}");
    }
    if (source.schema && !source.schema->encoding.empty() &&
        std::find(pair->schema_encodings.begin(), pair->schema_encodings.end(),
                  source.schema->encoding) == pair->schema_encodings.end()) {
      std::string expected;
      for (std::string_view e : pair->schema_encodings) {
        expected += (expected.empty() ? "" : " or ") + std::string(e);
      }
      d.error(schema_path + ".encoding",
              in_quotes(source.schema->encoding) + " schemas do not describe " +
                  in_quotes(message_encoding) + " messages" +
                  (expected.empty() ? "; these need no schema" : "; use " + expected));
    }
  }
  // Profiles fix the encodings (MCAP spec, Header.profile).
  const std::string& profile = config.mcap.profile;
  if (profile == "ros1" || profile == "ros2") {
    const std::string wanted = profile == "ros1" ? "ros1" : "cdr";
    if (message_encoding != wanted) {
      d.error(path + ".message_encoding", "mcap.profile " + profile +
                                              " requires message_encoding " + wanted + ", not " +
                                              in_quotes(message_encoding));
    }
    if (profile == "ros2" && source.metadata.count("offered_qos_profiles") == 0) {
      d.error(path + ".metadata",
              "mcap.profile ros2 requires channel metadata "
              "offered_qos_profiles (a YAML list of QoS policies; may be "
              "\"\")");
    }
  }
}

// The checks of one source, with what they share: where the source is in the file, and whether
// its transport and format are known (written without error; an unknown one would only cause
// follow-up errors).
class SourceCheck {
 public:
  SourceCheck(const Config& config, const Source& source, const std::string& path, Diagnostics& d)
      : config_(config),
        source_(source),
        path_(path),
        d_(d),
        transport_known_(!d.has_error(at("transport")) && d.written(at("transport"))),
        format_known_(!d.has_error(at("format"))),
        udp_(source.transport == Transport::kUdp) {}

  // In this order, which is the order of the errors in the report.
  void run() {
    check_name();
    if (transport_known_ && format_known_) check_format_fits_transport();
    if (format_known_) {
      if (source_.format == SourceFormat::kMcap) {
        check_in_band_channels();
      } else {
        check_declared_channel();
      }
    }
    if (transport_known_) check_transport_keys();
    check_max_message_size();
    if (source_.multicast && !d_.has_error(at("multicast")) && transport_known_ && udp_) {
      check_multicast();
    }
  }

 private:
  std::string at(std::string_view key) const { return child_path(path_, key); }

  void check_name() {
    if (d_.written(at("name")) && !d_.has_error(at("name")) && !is_plain_name(source_.name)) {
      d_.error(at("name"), in_quotes(source_.name) +
                               " is not a plain name: use letters, digits, '_', '-' or '.' (it "
                               "appears in logs and metric labels)");
    }
  }

  void check_format_fits_transport() {
    if (source_.format == SourceFormat::kRaw && !udp_) {
      d_.error(blame(d_, {at("format"), at("transport")}),
               "format raw needs transport udp: over tcp there are no message boundaries (use "
               "length_prefixed)");
    }
    if (source_.format == SourceFormat::kLengthPrefixed && udp_) {
      d_.error(blame(d_, {at("format"), at("transport")}),
               "format length_prefixed needs transport tcp (over udp, use raw: one datagram is one "
               "message)");
    }
  }

  // An mcap source declares its channels in-band, so the keys that declare one are misplaced.
  void check_in_band_channels() {
    // One error for all of them: usually the format is what was forgotten.
    std::vector<std::string_view> misplaced;
    for (std::string_view key : {"topic", "message_encoding", "schema", "metadata"}) {
      if (d_.written(at(key))) misplaced.push_back(key);
    }
    if (misplaced.empty()) return;
    std::string others;
    for (size_t i = 1; i < misplaced.size(); ++i) {
      others += (i == 1 ? "" : ", ") + std::string(misplaced[i]);
    }
    d_.error(at(misplaced.front()), "only for raw and length_prefixed sources" +
                                        (others.empty() ? "" : " (so are " + others + ")") +
                                        "; this source is mcap" +
                                        (d_.written(at("format")) ? "" : " (no format given)") +
                                        ", whose channels are declared in-band");
  }

  // A raw or length_prefixed source is one channel, declared here.
  void check_declared_channel() {
    const std::string format(to_string(source_.format));
    if (!d_.written(at("topic"))) {
      d_.error(at("topic"),
               "missing; a " + format + " source needs the topic its messages are recorded on");
    } else if (source_.topic.empty() && !d_.has_error(at("topic"))) {
      d_.error(at("topic"), "must not be empty");
    }
    if (source_.timestamp == TimestampSource::kSender && !d_.has_error(at("timestamp"))) {
      d_.error(at("timestamp"), format + " messages carry no timestamp; only receive is possible");
    }
    if (d_.written(at("max_channels_per_connection"))) {
      d_.error(at("max_channels_per_connection"),
               "only for mcap sources (a " + format + " source has one channel)");
    }
    for (std::string_view key : {"topics", "exclude_topics"}) {
      if (d_.written(at(key))) {
        d_.error(at(key), "only for mcap sources (a " + format + " source has one topic)");
      }
    }
    check_schema(config_, source_, path_, d_);
  }

  // Keys of the other transport, and a UDP source's datagram size.
  void check_transport_keys() {
    if (udp_) {
      for (std::string_view key : {"max_connections", "idle_timeout"}) {
        if (d_.written(at(key))) d_.error(at(key), "only for tcp sources");
      }
      if (!d_.has_error(at("max_message_size")) && source_.max_message_size > kMaxDatagramSize) {
        d_.error(at("max_message_size"), format_size(source_.max_message_size) +
                                             " is larger than any UDP datagram (" +
                                             std::to_string(kMaxDatagramSize) + " bytes)");
      }
    } else {
      for (std::string_view key : {"receive_batch", "coalesce"}) {
        if (d_.written(at(key))) d_.error(at(key), "only for udp sources");
      }
      if (d_.written(at("multicast"))) d_.error(at("multicast"), "only for udp sources");
    }
  }

  void check_max_message_size() {
    if (d_.has_error(at("max_message_size"))) return;
    if (source_.max_message_size == 0) {
      d_.error(at("max_message_size"), "must be more than 0");
    } else if (source_.format == SourceFormat::kLengthPrefixed &&
               source_.max_message_size > 0xffffffffu) {
      d_.error(at("max_message_size"), "length_prefixed frames hold at most 4GiB - 1 bytes");
    } else if (!d_.has_error("pipeline.memory_budget") &&
               source_.max_message_size > config_.pipeline.memory_budget) {
      d_.error(blame(d_, {at("max_message_size"), "pipeline.memory_budget"}),
               "max_message_size (" + format_size(source_.max_message_size) +
                   ") is larger than pipeline.memory_budget (" +
                   format_size(config_.pipeline.memory_budget) + ")");
    }
  }

  void check_multicast() {
    const Multicast& multicast = *source_.multicast;
    Parsed<std::string> group = parse_ip_literal(multicast.group);
    if (!group.ok() || !is_multicast_ip(multicast.group)) {
      d_.error(at("multicast.group"), in_quotes(multicast.group) +
                                          " is not a multicast address (224.0.0.0/4 or ff00::/8)");
    } else if (!d_.has_error(at("bind"))) {
      check_bind_sees_group(*group.value);
    }
    const std::string& interface = multicast.interface;
    if (!interface.empty() && !parse_ip_literal(interface).ok() &&
        (interface.size() > 15 || !is_plain_name(interface))) {
      d_.error(at("multicast.interface"),
               in_quotes(interface) + " is neither an interface address nor an interface name");
    }
  }

  void check_bind_sees_group(const std::string& group) {
    const Endpoint& bind = source_.bind;
    const bool group_ipv6 = group.find(':') != std::string::npos;
    if (group_ipv6 != bind.is_ipv6()) {
      d_.error(at("bind"), "the bind address and multicast.group must both be IPv4 or both IPv6");
    } else if (!bind.is_wildcard() && bind.host != group) {
      d_.error(at("bind"), "a multicast source must bind " +
                               std::string(group_ipv6 ? "[::]" : "0.0.0.0") + ":" +
                               std::to_string(bind.port) + " or the group " + group + ":" +
                               std::to_string(bind.port) + "; bound to " + bind.host +
                               " it would never see the group's datagrams");
    }
  }

  const Config& config_;
  const Source& source_;
  const std::string& path_;
  Diagnostics& d_;
  const bool transport_known_;
  const bool format_known_;
  const bool udp_;
};

// Two sockets of one transport collide when their ports match and their addresses overlap (the
// same address, or a wildcard). UDP multicast sources may share a port if their groups differ.
bool binds_collide(const Endpoint& a, const Endpoint& b) {
  if (a.port == 0 || b.port == 0 || a.port != b.port) return false;
  return a.address() == b.address() || a.is_wildcard() || b.is_wildcard();
}

}  // namespace

void check_sources(const Config& config, Diagnostics& d) {
  if (config.sources.empty()) {
    if (!d.has_error("sources")) {
      d.error("sources", "at least one source is required (see config/default.yaml)");
    }
    return;
  }
  for (size_t i = 0; i < config.sources.size(); ++i) {
    if (!d.has_own_error(source_path(i)))
      SourceCheck(config, config.sources[i], source_path(i), d).run();
  }
  for (size_t i = 0; i < config.sources.size(); ++i) {
    const Source& later = config.sources[i];
    const std::string at = source_path(i);
    for (size_t j = 0; j < i; ++j) {
      const Source& earlier = config.sources[j];
      const std::string earlier_at = source_path(j);
      if (!later.name.empty() && later.name == earlier.name && !d.has_error(at + ".name")) {
        d.error(at + ".name", in_quotes(later.name) + " is already the name of " + earlier_at +
                                  " (line " + std::to_string(d.line_of(earlier_at + ".name")) +
                                  ")");
      }
      const bool binds_usable = !d.has_error(at + ".bind") && !d.has_error(earlier_at + ".bind") &&
                                !d.has_error(at + ".transport") &&
                                !d.has_error(earlier_at + ".transport") &&
                                d.written(at + ".bind") && d.written(earlier_at + ".bind");
      const bool distinct_groups = later.multicast && earlier.multicast &&
                                   later.multicast->group != earlier.multicast->group;
      if (binds_usable && later.transport == earlier.transport && !distinct_groups &&
          binds_collide(later.bind, earlier.bind)) {
        d.error(at + ".bind", std::string(to_string(later.transport)) + " " +
                                  later.bind.to_string() + " overlaps " + earlier_at + " (" +
                                  earlier.bind.to_string() + ", line " +
                                  std::to_string(d.line_of(earlier_at + ".bind")) + ")");
      }
    }
  }
  if (config.metrics.bind && !d.has_error("metrics.bind")) {
    for (size_t i = 0; i < config.sources.size(); ++i) {
      const Source& source = config.sources[i];
      const std::string at = source_path(i);
      if (source.transport == Transport::kTcp && !d.has_error(at + ".bind") &&
          d.written(at + ".bind") && binds_collide(*config.metrics.bind, source.bind)) {
        d.error("metrics.bind", config.metrics.bind->to_string() + " overlaps the tcp bind of " +
                                    at + " (" + source.bind.to_string() + ", line " +
                                    std::to_string(d.line_of(at + ".bind")) + ")");
        break;  // one collision says enough
      }
    }
  }
}

}  // namespace mcaprec::config::detail
