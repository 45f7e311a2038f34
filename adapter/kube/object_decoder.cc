#include "adapter/kube/object_decoder.h"

#include <utility>

#include "adapter/json/reader.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"

namespace ma::kube {
namespace {

absl::Status Invalid(std::string_view what, std::string_view why) {
  return absl::InvalidArgumentError(Cat("invalid ", what, ": ", why));
}

absl::StatusOr<rapidjson::Document> Parse(std::string_view text, std::string_view what) {
  absl::StatusOr<rapidjson::Document> doc =
      json::Parse(text, {.max_bytes = kMaxDocumentBytes, .max_depth = kMaxJsonDepth});
  if (!doc.ok()) {
    return Invalid(what, ToStd(doc.status().message()));
  }
  if (!doc->IsObject()) {
    return Invalid(what, "not a JSON object");
  }
  return doc;
}

// The member `name`, or nullptr when it is absent or null, as Go decodes null into a zero value.
const rapidjson::Value* Member(const rapidjson::Value& object, const char* name) {
  const rapidjson::Value* value = json::Member(object, name);
  return value == nullptr || value->IsNull() ? nullptr : value;
}

std::string StringOr(const rapidjson::Value& object, const char* name) {
  const rapidjson::Value* value = Member(object, name);
  if (value == nullptr || !value->IsString()) {
    return "";
  }
  return std::string(value->GetString(), value->GetStringLength());
}

absl::Status StringMap(const rapidjson::Value* value, size_t limit, std::string_view field,
                       std::map<std::string, std::string>& out) {
  if (value == nullptr) {
    return absl::OkStatus();
  }
  if (!value->IsObject()) {
    return Invalid("object", Cat(field, " must be a map of strings"));
  }
  if (value->MemberCount() > limit) {
    return absl::ResourceExhaustedError(Cat(field, " has more than ", limit, " entries"));
  }
  for (const auto& member : value->GetObject()) {
    if (!member.value.IsString()) {
      return Invalid("object", Cat(field, " must be a map of strings"));
    }
    out.emplace(std::string(member.name.GetString(), member.name.GetStringLength()),
                std::string(member.value.GetString(), member.value.GetStringLength()));
  }
  return absl::OkStatus();
}

absl::StatusOr<KubeObject> DecodeObject(const rapidjson::Value& value) {
  if (!value.IsObject()) {
    return Invalid("object", "not a JSON object");
  }
  const rapidjson::Value* metadata = Member(value, "metadata");
  if (metadata == nullptr || !metadata->IsObject()) {
    return Invalid("object", "metadata is missing");
  }
  KubeObject object;
  object.metadata.namespace_name = StringOr(*metadata, "namespace");
  object.metadata.name = StringOr(*metadata, "name");
  object.metadata.uid = StringOr(*metadata, "uid");
  object.metadata.resource_version = StringOr(*metadata, "resourceVersion");
  MA_RETURN_IF_ERROR(StringMap(Member(*metadata, "labels"), kMaxLabelsPerObject, "metadata.labels",
                               object.metadata.labels));
  MA_RETURN_IF_ERROR(
      StringMap(Member(value, "data"), kMaxDataEntriesPerObject, "data", object.data));
  return object;
}

}  // namespace

absl::StatusOr<ObjectList> DecodeObjectList(std::string_view json, size_t max_items) {
  MA_ASSIGN_OR_RETURN(const rapidjson::Document doc, Parse(json, "list"));
  ObjectList list;
  if (const rapidjson::Value* metadata = Member(doc, "metadata"); metadata != nullptr) {
    list.resource_version = StringOr(*metadata, "resourceVersion");
    list.continue_token = StringOr(*metadata, "continue");
  }
  const rapidjson::Value* items = Member(doc, "items");
  if (items == nullptr) {
    return list;  // an empty list may omit items
  }
  if (!items->IsArray()) {
    return Invalid("list", "items must be an array");
  }
  if (items->Size() > max_items) {
    return absl::ResourceExhaustedError(
        Cat("list has ", items->Size(), " items, more than the limit of ", max_items));
  }
  list.items.reserve(items->Size());
  for (const auto& item : items->GetArray()) {
    MA_ASSIGN_OR_RETURN(KubeObject object, DecodeObject(item));
    list.items.push_back(std::move(object));
  }
  return list;
}

absl::StatusOr<WatchEvent> DecodeWatchEvent(std::string_view line) {
  MA_ASSIGN_OR_RETURN(const rapidjson::Document doc, Parse(line, "watch event"));
  const std::string type = StringOr(doc, "type");
  const rapidjson::Value* object = Member(doc, "object");
  if (object == nullptr || !object->IsObject()) {
    return Invalid("watch event", "object is missing");
  }
  WatchEvent event;
  if (type == "ERROR") {
    event.type = RawWatchEventType::kError;
    const rapidjson::Value* code = Member(*object, "code");
    event.error_code = code != nullptr && code->IsInt() ? code->GetInt() : 0;
    event.error_message = StringOr(*object, "message");
    return event;
  }
  if (type == "ADDED") {
    event.type = RawWatchEventType::kAdded;
  } else if (type == "MODIFIED") {
    event.type = RawWatchEventType::kModified;
  } else if (type == "DELETED") {
    event.type = RawWatchEventType::kDeleted;
  } else if (type == "BOOKMARK") {
    event.type = RawWatchEventType::kBookmark;
  } else {
    return Invalid("watch event", Cat("unknown type ", GoQuote(type)));
  }
  MA_ASSIGN_OR_RETURN(event.object, DecodeObject(*object));
  return event;
}

std::string DecodeStatusMessage(std::string_view json) {
  absl::StatusOr<rapidjson::Document> doc = Parse(json, "status");
  if (!doc.ok() || StringOr(*doc, "kind") != "Status") {
    return "";
  }
  return StringOr(*doc, "message");
}

absl::Status ResponseError(long http_status, std::string_view body,  // NOLINT
                           std::string_view what) {
  std::string message = DecodeStatusMessage(body);
  if (message.empty()) {
    message = "no Status message";
  }
  const std::string text = Cat(what, ": HTTP ", http_status, ": ", message);
  switch (http_status) {
    case 401:
      return absl::UnauthenticatedError(text);
    case 403:
      return absl::PermissionDeniedError(text);
    case 404:
      return absl::NotFoundError(text);
    case 409:
    case 410:
      return absl::FailedPreconditionError(text);
    case 429:
      return absl::ResourceExhaustedError(text);
    default:
      return http_status >= 500 ? absl::UnavailableError(text) : absl::InvalidArgumentError(text);
  }
}

}  // namespace ma::kube
