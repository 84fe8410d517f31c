#include "config/yaml_document.hpp"

#include <yaml-cpp/eventhandler.h>

#include <sstream>
#include <string>
#include <vector>

namespace mcaprec::config {
namespace {

// Remembers, per document, where it starts and whether it was nothing but a null at one
// position: two such documents in a row at the same position mean the parser is stuck.
class DocumentOutline : public YAML::EventHandler {
 public:
  struct Document {
    int start_line = 0;  // 0-based, as yaml-cpp counts
    int events = 0;
    bool lone_null = false;
    int null_pos = -1;
    int null_line = 0;
  };

  std::vector<Document> documents;

  void OnDocumentStart(const YAML::Mark& mark) override {
    documents.push_back({mark.line, 0, false, -1, 0});
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override {
    Document& document = documents.back();
    if (document.events++ == 0) {
      document.lone_null = true;
      document.null_pos = mark.pos;
      document.null_line = mark.line;
    }
  }
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { other(); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {
    other();
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    other();
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    other();
  }
  void OnMapEnd() override {}

 private:
  void other() {
    Document& document = documents.back();
    ++document.events;
    document.lone_null = false;
  }
};

int one_based(int line) {
  return line >= 0 ? line + 1 : 1;
}

}  // namespace

std::optional<YAML::Node> parse_single_document(std::string_view text, Diagnostics& diagnostics) {
  const std::string copy(text);
  try {
    // First pass: outline at most three documents, which is enough to see a second one or a
    // parser that makes no progress.
    std::istringstream stream(copy);
    YAML::Parser parser(stream);
    DocumentOutline outline;
    while (outline.documents.size() < 3 && parser.HandleNextDocument(outline)) {
      const auto& docs = outline.documents;
      if (docs.size() >= 2) {
        const auto& last = docs[docs.size() - 1];
        const auto& previous = docs[docs.size() - 2];
        if (last.lone_null && previous.lone_null && last.null_pos == previous.null_pos) {
          diagnostics.error_at(one_based(last.null_line), "",
                               "not valid YAML: unexpected character where a value should start "
                               "(a stray ',' or similar)");
          return std::nullopt;
        }
      }
    }
    if (outline.documents.size() > 1) {
      diagnostics.error_at(one_based(outline.documents[1].start_line), "",
                           "only one YAML document is allowed; '---' starts a second one");
      return std::nullopt;
    }
    return YAML::Load(copy);
  } catch (const YAML::Exception& e) {
    diagnostics.error_at(one_based(e.mark.line), "", "not valid YAML: " + e.msg);
    return std::nullopt;
  }
}

}  // namespace mcaprec::config
