#include "adapter/auth/auth_json.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "queries/base/strings.h"

namespace ma::auth {
namespace {

using rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Forwards SAX events to the document and stops past kMaxKubeJsonDepth; with the iterative
// parser nothing recurses on the input's nesting.
template <typename Handler>
class DepthLimiter {
 public:
  explicit DepthLimiter(Handler& next) : next_(next) {}

  bool Null() { return next_.Null(); }
  bool Bool(bool b) { return next_.Bool(b); }
  bool Int(int i) { return next_.Int(i); }
  bool Uint(unsigned u) { return next_.Uint(u); }
  bool Int64(int64_t i) { return next_.Int64(i); }
  bool Uint64(uint64_t u) { return next_.Uint64(u); }
  bool Double(double d) { return next_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return next_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return next_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return next_.Key(s, n, copy); }
  bool StartObject() { return Enter() && next_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) {
    --depth_;
    return next_.EndObject(n);
  }
  bool StartArray() { return Enter() && next_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) {
    --depth_;
    return next_.EndArray(n);
  }

  bool too_deep() const { return too_deep_; }

 private:
  bool Enter() {
    if (++depth_ > kMaxKubeJsonDepth) {
      too_deep_ = true;
      return false;
    }
    return true;
  }

  Handler& next_;
  int depth_ = 0;
  bool too_deep_ = false;
};

absl::StatusOr<std::unique_ptr<rapidjson::Document>> ParseJson(std::string_view body,
                                                               std::string_view what) {
  if (body.size() > kMaxKubeResponseBytes) {
    return absl::InternalError(
        absl::StrCat(ToAbsl(what), " is larger than ", kMaxKubeResponseBytes, " bytes"));
  }
  auto document = std::make_unique<rapidjson::Document>();
  rapidjson::MemoryStream stream(body.data(), body.size());
  rapidjson::ParseResult result;
  bool too_deep = false;
  auto generate = [&](rapidjson::Document& target) {
    DepthLimiter<rapidjson::Document> limiter(target);
    rapidjson::Reader reader;
    result = reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
        stream, limiter);
    too_deep = limiter.too_deep();
    return !result.IsError();
  };
  document->Populate(generate);
  if (too_deep) {
    return absl::InternalError(
        absl::StrCat(ToAbsl(what), " is nested deeper than ", kMaxKubeJsonDepth, " levels"));
  }
  if (result.IsError()) {
    return absl::InternalError(
        absl::StrCat(ToAbsl(what), " is not JSON: ", rapidjson::GetParseError_En(result.Code()),
                     " at offset ", result.Offset()));
  }
  return document;
}

std::string AsString(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

const Value* Member(const Value& object, const char* name) {
  if (!object.IsObject()) {
    return nullptr;
  }
  const auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string StringMember(const Value& object, const char* name) {
  const Value* value = Member(object, name);
  return value != nullptr && value->IsString() ? AsString(*value) : std::string();
}

bool BoolMember(const Value& object, const char* name) {
  const Value* value = Member(object, name);
  return value != nullptr && value->IsBool() && value->GetBool();
}

// Strings of an array member; absent or null is empty, other non-strings are an error.
absl::StatusOr<std::vector<std::string>> StringArray(const Value* value, std::string_view what) {
  std::vector<std::string> strings;
  if (value == nullptr || value->IsNull()) {
    return strings;
  }
  if (!value->IsArray()) {
    return absl::InternalError(absl::StrCat(ToAbsl(what), " is not a list of strings"));
  }
  for (const Value& item : value->GetArray()) {
    if (!item.IsString()) {
      return absl::InternalError(absl::StrCat(ToAbsl(what), " is not a list of strings"));
    }
    strings.push_back(AsString(item));
  }
  return strings;
}

void WriteString(Writer& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void WriteKey(Writer& writer, std::string_view key) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

// Go's `json:",omitempty"` string field.
void WriteOptional(Writer& writer, std::string_view key, std::string_view value) {
  if (!value.empty()) {
    WriteKey(writer, key);
    WriteString(writer, value);
  }
}

void WriteStrings(Writer& writer, const std::vector<std::string>& strings) {
  writer.StartArray();
  for (const std::string& s : strings) {
    WriteString(writer, s);
  }
  writer.EndArray();
}

void WriteHeader(Writer& writer, std::string_view kind, std::string_view api_version) {
  WriteKey(writer, "kind");
  WriteString(writer, kind);
  WriteKey(writer, "apiVersion");
  WriteString(writer, api_version);
  WriteKey(writer, "metadata");
  writer.StartObject();
  writer.EndObject();
}

absl::StatusOr<const Value*> StatusOf(const rapidjson::Document& document, std::string_view what) {
  if (!document.IsObject()) {
    return absl::InternalError(absl::StrCat(ToAbsl(what), " is not a JSON object"));
  }
  const Value* status = Member(document, "status");
  if (status != nullptr && !status->IsObject() && !status->IsNull()) {
    return absl::InternalError(absl::StrCat(ToAbsl(what), " has a malformed status"));
  }
  return status != nullptr && status->IsObject() ? status : nullptr;
}

}  // namespace

std::string EncodeTokenReview(std::string_view token, const std::vector<std::string>& audiences) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  WriteHeader(writer, "TokenReview", "authentication.k8s.io/v1");
  WriteKey(writer, "spec");
  writer.StartObject();
  WriteOptional(writer, "token", token);
  if (!audiences.empty()) {
    WriteKey(writer, "audiences");
    WriteStrings(writer, audiences);
  }
  writer.EndObject();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::StatusOr<TokenReviewStatus> DecodeTokenReviewStatus(std::string_view body) {
  constexpr std::string_view kWhat = "the TokenReview answer";
  absl::StatusOr<std::unique_ptr<rapidjson::Document>> document = ParseJson(body, kWhat);
  if (!document.ok()) {
    return document.status();
  }
  absl::StatusOr<const Value*> status = StatusOf(**document, kWhat);
  if (!status.ok()) {
    return status.status();
  }
  TokenReviewStatus review;
  if (*status == nullptr) {
    return review;
  }
  const Value& s = **status;
  review.authenticated = BoolMember(s, "authenticated");
  review.error = StringMember(s, "error");
  absl::StatusOr<std::vector<std::string>> audiences =
      StringArray(Member(s, "audiences"), "status.audiences");
  if (!audiences.ok()) {
    return audiences.status();
  }
  review.audiences = *std::move(audiences);
  if (const Value* user = Member(s, "user"); user != nullptr && user->IsObject()) {
    review.user.name = StringMember(*user, "username");
    review.user.uid = StringMember(*user, "uid");
    absl::StatusOr<std::vector<std::string>> groups =
        StringArray(Member(*user, "groups"), "status.user.groups");
    if (!groups.ok()) {
      return groups.status();
    }
    review.user.groups = *std::move(groups);
    if (const Value* extra = Member(*user, "extra"); extra != nullptr && extra->IsObject()) {
      for (const auto& member : extra->GetObject()) {
        absl::StatusOr<std::vector<std::string>> values =
            StringArray(&member.value, "status.user.extra");
        if (!values.ok()) {
          return values.status();
        }
        review.user.extra[AsString(member.name)] = *std::move(values);
      }
    }
  }
  return review;
}

std::string EncodeSubjectAccessReview(const UserInfo& user, const RequestAttributes& attributes) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  writer.StartObject();
  WriteHeader(writer, "SubjectAccessReview", "authorization.k8s.io/v1");
  WriteKey(writer, "spec");
  writer.StartObject();
  if (attributes.resource_request) {
    WriteKey(writer, "resourceAttributes");
    writer.StartObject();
    WriteOptional(writer, "namespace", attributes.namespace_name);
    WriteOptional(writer, "verb", attributes.verb);
    WriteOptional(writer, "group", attributes.api_group);
    WriteOptional(writer, "version", attributes.api_version);
    WriteOptional(writer, "resource", attributes.resource);
    WriteOptional(writer, "subresource", attributes.subresource);
    WriteOptional(writer, "name", attributes.name);
    writer.EndObject();
  } else {
    WriteKey(writer, "nonResourceAttributes");
    writer.StartObject();
    WriteOptional(writer, "path", attributes.path);
    WriteOptional(writer, "verb", attributes.verb);
    writer.EndObject();
  }
  WriteOptional(writer, "user", user.name);
  if (!user.groups.empty()) {
    WriteKey(writer, "groups");
    WriteStrings(writer, user.groups);
  }
  if (!user.extra.empty()) {
    WriteKey(writer, "extra");
    writer.StartObject();
    for (const auto& [key, values] : user.extra) {
      WriteKey(writer, key);
      WriteStrings(writer, values);
    }
    writer.EndObject();
  }
  WriteOptional(writer, "uid", user.uid);
  writer.EndObject();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::StatusOr<SubjectAccessReviewStatus> DecodeSubjectAccessReviewStatus(std::string_view body) {
  constexpr std::string_view kWhat = "the SubjectAccessReview answer";
  absl::StatusOr<std::unique_ptr<rapidjson::Document>> document = ParseJson(body, kWhat);
  if (!document.ok()) {
    return document.status();
  }
  absl::StatusOr<const Value*> status = StatusOf(**document, kWhat);
  if (!status.ok()) {
    return status.status();
  }
  SubjectAccessReviewStatus review;
  if (*status == nullptr) {
    return review;
  }
  review.allowed = BoolMember(**status, "allowed");
  review.denied = BoolMember(**status, "denied");
  review.reason = StringMember(**status, "reason");
  review.evaluation_error = StringMember(**status, "evaluationError");
  return review;
}

absl::StatusOr<std::map<std::string, std::string>> DecodeConfigMapData(std::string_view body) {
  constexpr std::string_view kWhat = "the ConfigMap";
  absl::StatusOr<std::unique_ptr<rapidjson::Document>> document = ParseJson(body, kWhat);
  if (!document.ok()) {
    return document.status();
  }
  if (!(*document)->IsObject()) {
    return absl::InternalError("the ConfigMap is not a JSON object");
  }
  std::map<std::string, std::string> data;
  const Value* values = Member(**document, "data");
  if (values == nullptr || !values->IsObject()) {
    return data;
  }
  for (const auto& member : values->GetObject()) {
    if (member.value.IsString()) {
      data[AsString(member.name)] = AsString(member.value);
    }
  }
  return data;
}

absl::StatusOr<std::vector<std::string>> DecodeStringList(std::string_view text) {
  if (text.empty()) {
    return std::vector<std::string>();
  }
  absl::StatusOr<std::unique_ptr<rapidjson::Document>> document = ParseJson(text, "the value");
  if (!document.ok()) {
    return absl::InvalidArgumentError(document.status().message());
  }
  absl::StatusOr<std::vector<std::string>> strings = StringArray(document->get(), "the value");
  if (!strings.ok()) {
    return absl::InvalidArgumentError(strings.status().message());
  }
  return strings;
}

}  // namespace ma::auth
