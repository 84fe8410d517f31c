#include "upload/s3_xml.hpp"

#include <expat.h>

#include <charconv>
#include <memory>

namespace mcaprec::upload {
namespace {

struct ParseState {
  std::vector<std::string> open;  // names of the elements open, root first
  std::vector<std::string> text;  // text of each open element
  std::vector<XmlElement> ended;
};

void on_start(void* data, const XML_Char* name, const XML_Char** /*attributes*/) {
  auto* state = static_cast<ParseState*>(data);
  state->open.emplace_back(name);
  state->text.emplace_back();
}

void on_end(void* data, const XML_Char* /*name*/) {
  auto* state = static_cast<ParseState*>(data);
  std::string path;
  for (const std::string& name : state->open) path += (path.empty() ? "" : "/") + name;
  state->ended.push_back({std::move(path), std::move(state->text.back())});
  state->open.pop_back();
  state->text.pop_back();
}

void on_text(void* data, const XML_Char* text, int length) {
  auto* state = static_cast<ParseState*>(data);
  if (!state->text.empty()) state->text.back().append(text, static_cast<size_t>(length));
}

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

template <class Number>
Number to_number(const std::string& text) {
  Number value{};
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

}  // namespace

base::Result<std::vector<XmlElement>> parse_xml(const std::string& body) {
  std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(XML_ParserCreate(nullptr),
                                                                      XML_ParserFree);
  ParseState state;
  XML_SetUserData(parser.get(), &state);
  XML_SetElementHandler(parser.get(), on_start, on_end);
  XML_SetCharacterDataHandler(parser.get(), on_text);
  if (XML_Parse(parser.get(), body.data(), static_cast<int>(body.size()), 1) != XML_STATUS_OK) {
    return base::Error{XML_GetCurrentByteIndex(parser.get()) < 0
                           ? 0
                           : static_cast<uint64_t>(XML_GetCurrentByteIndex(parser.get())),
                       std::string("bad XML: ") + XML_ErrorString(XML_GetErrorCode(parser.get()))};
  }
  return std::move(state.ended);
}

S3ErrorBody parse_error_body(const std::string& body) {
  S3ErrorBody error;
  auto elements = parse_xml(body);
  if (!elements) return error;
  for (const XmlElement& element : *elements) {
    if (element.path == "Error/Code") error.code = element.text;
    if (element.path == "Error/Message") error.message = element.text;
  }
  return error;
}

std::optional<std::string> parse_upload_id(const std::string& body) {
  auto elements = parse_xml(body);
  if (!elements) return std::nullopt;
  for (const XmlElement& element : *elements) {
    if (element.path == "InitiateMultipartUploadResult/UploadId" && !element.text.empty()) {
      return element.text;
    }
  }
  return std::nullopt;
}

base::Result<PartsPage> parse_parts_page(const std::string& body) {
  auto elements = parse_xml(body);
  if (!elements) return elements.error();
  PartsPage page;
  UploadedPart part;
  for (const XmlElement& element : *elements) {
    const std::string& path = element.path;
    if (path == "ListPartsResult/Part") {
      page.parts.push_back(part);
      part = UploadedPart{};
    } else if (ends_with(path, "Part/PartNumber")) {
      part.number = to_number<int>(element.text);
    } else if (ends_with(path, "Part/ETag")) {
      part.etag = unquote_etag(element.text);
    } else if (ends_with(path, "Part/Size")) {
      part.size = to_number<uint64_t>(element.text);
    } else if (path == "ListPartsResult/IsTruncated") {
      page.truncated = element.text == "true";
    } else if (path == "ListPartsResult/NextPartNumberMarker") {
      page.next_marker = to_number<int>(element.text);
    }
  }
  return page;
}

std::string complete_multipart_body(const std::vector<UploadedPart>& parts) {
  std::string body = "<CompleteMultipartUpload>";
  for (const UploadedPart& part : parts) {
    body += "<Part><PartNumber>" + std::to_string(part.number) + "</PartNumber><ETag>\"" +
            part.etag + "\"</ETag></Part>";
  }
  return body + "</CompleteMultipartUpload>";
}

std::string unquote_etag(const std::string& etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    return etag.substr(1, etag.size() - 2);
  }
  return etag;
}

}  // namespace mcaprec::upload
