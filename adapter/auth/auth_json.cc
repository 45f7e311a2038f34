#include "adapter/auth/auth_json.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "adapter/json/reader.h"
#include "adapter/json/writer.h"
#include "queries/base/strings.h"

namespace ma::auth {
namespace {

using json::Member;
using rapidjson::Value;

absl::StatusOr<rapidjson::Document> ParseJson(std::string_view body, std::string_view what) {
  absl::StatusOr<rapidjson::Document> document =
      json::Parse(body, {.max_bytes = kMaxKubeResponseBytes, .max_depth = kMaxKubeJsonDepth});
  if (!document.ok()) {
    // A document past a limit is not judged; one that does not parse is "not JSON".
    const std::string_view verdict =
        absl::IsResourceExhausted(document.status()) ? " is " : " is not JSON: ";
    return absl::InternalError(Cat(what, verdict, document.status().message()));
  }
  return document;
}

std::string AsString(const Value& v) { return std::string(json::StringOf(v)); }

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

void WriteHeader(json::Writer& writer, std::string_view kind, std::string_view api_version) {
  writer.Key("kind");
  writer.String(kind);
  writer.Key("apiVersion");
  writer.String(api_version);
  writer.EmptyObject("metadata");
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
  json::Writer writer;
  writer.StartObject();
  WriteHeader(writer, "TokenReview", "authentication.k8s.io/v1");
  writer.Key("spec");
  writer.StartObject();
  writer.OptionalString("token", token);
  if (!audiences.empty()) {
    writer.Key("audiences");
    writer.StringArray(audiences);
  }
  writer.EndObject();
  writer.EndObject();
  return std::move(writer).Finish();
}

absl::StatusOr<TokenReviewStatus> DecodeTokenReviewStatus(std::string_view body) {
  constexpr std::string_view kWhat = "the TokenReview answer";
  absl::StatusOr<rapidjson::Document> document = ParseJson(body, kWhat);
  if (!document.ok()) {
    return document.status();
  }
  absl::StatusOr<const Value*> status = StatusOf(*document, kWhat);
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
  json::Writer writer;
  writer.StartObject();
  WriteHeader(writer, "SubjectAccessReview", "authorization.k8s.io/v1");
  writer.Key("spec");
  writer.StartObject();
  if (attributes.resource_request) {
    writer.Key("resourceAttributes");
    writer.StartObject();
    writer.OptionalString("namespace", attributes.namespace_name);
    writer.OptionalString("verb", attributes.verb);
    writer.OptionalString("group", attributes.api_group);
    writer.OptionalString("version", attributes.api_version);
    writer.OptionalString("resource", attributes.resource);
    writer.OptionalString("subresource", attributes.subresource);
    writer.OptionalString("name", attributes.name);
    writer.EndObject();
  } else {
    writer.Key("nonResourceAttributes");
    writer.StartObject();
    writer.OptionalString("path", attributes.path);
    writer.OptionalString("verb", attributes.verb);
    writer.EndObject();
  }
  writer.OptionalString("user", user.name);
  if (!user.groups.empty()) {
    writer.Key("groups");
    writer.StringArray(user.groups);
  }
  if (!user.extra.empty()) {
    writer.Key("extra");
    writer.StartObject();
    for (const auto& [key, values] : user.extra) {
      writer.Key(key);
      writer.StringArray(values);
    }
    writer.EndObject();
  }
  writer.OptionalString("uid", user.uid);
  writer.EndObject();
  writer.EndObject();
  return std::move(writer).Finish();
}

absl::StatusOr<SubjectAccessReviewStatus> DecodeSubjectAccessReviewStatus(std::string_view body) {
  constexpr std::string_view kWhat = "the SubjectAccessReview answer";
  absl::StatusOr<rapidjson::Document> document = ParseJson(body, kWhat);
  if (!document.ok()) {
    return document.status();
  }
  absl::StatusOr<const Value*> status = StatusOf(*document, kWhat);
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
  absl::StatusOr<rapidjson::Document> document = ParseJson(body, kWhat);
  if (!document.ok()) {
    return document.status();
  }
  if (!document->IsObject()) {
    return absl::InternalError("the ConfigMap is not a JSON object");
  }
  std::map<std::string, std::string> data;
  const Value* values = Member(*document, "data");
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
  absl::StatusOr<rapidjson::Document> document = ParseJson(text, "the value");
  if (!document.ok()) {
    return absl::InvalidArgumentError(document.status().message());
  }
  absl::StatusOr<std::vector<std::string>> strings = StringArray(&*document, "the value");
  if (!strings.ok()) {
    return absl::InvalidArgumentError(strings.status().message());
  }
  return strings;
}

}  // namespace ma::auth
