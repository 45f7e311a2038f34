#include "adapter/kube/object_decoder.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "queries/base/strings.h"

namespace ma::kube {
namespace {

using ::testing::HasSubstr;

TEST(DecodeObjectListTest, DecodesPartialObjectMetadataList) {
  const absl::StatusOr<ObjectList> list = DecodeObjectList(
      R"({"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1",
          "metadata":{"resourceVersion":"42","continue":"next"},
          "items":[{"metadata":{"name":"web-1","namespace":"shop","uid":"u1",
                                "resourceVersion":"40","labels":{"app":"web","tier":"fe"}}},
                   {"metadata":{"name":"node-a","resourceVersion":"41"}}]})",
      10);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->resource_version, "42");
  EXPECT_EQ(list->continue_token, "next");
  ASSERT_EQ(list->items.size(), 2u);
  const ObjectMeta& pod = list->items[0].metadata;
  EXPECT_EQ(pod.namespace_name, "shop");
  EXPECT_EQ(pod.name, "web-1");
  EXPECT_EQ(pod.uid, "u1");
  EXPECT_EQ(pod.resource_version, "40");
  EXPECT_EQ(pod.labels, (std::map<std::string, std::string>{{"app", "web"}, {"tier", "fe"}}));
  EXPECT_EQ(list->items[1].metadata.namespace_name, "");
}

TEST(DecodeObjectListTest, EmptyListMayOmitItems) {
  const absl::StatusOr<ObjectList> list =
      DecodeObjectList(R"({"metadata":{"resourceVersion":"7"},"items":null})", 10);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_TRUE(list->items.empty());
  EXPECT_EQ(list->resource_version, "7");
}

struct BadCase {
  std::string json;
  absl::StatusCode code;
  std::string message;
};

TEST(DecodeObjectListTest, RejectsBadInput) {
  const std::vector<BadCase> cases = {
      {"", absl::StatusCode::kInvalidArgument, "invalid list"},
      {"[]", absl::StatusCode::kInvalidArgument, "not a JSON object"},
      {R"({"items":{}})", absl::StatusCode::kInvalidArgument, "items must be an array"},
      {R"({"items":[{}]})", absl::StatusCode::kInvalidArgument, "metadata is missing"},
      {R"({"items":[{"metadata":{"labels":{"a":1}}}]})", absl::StatusCode::kInvalidArgument,
       "metadata.labels must be a map of strings"},
      {R"({"items":[{"metadata":{}},{"metadata":{}},{"metadata":{}}]})",
       absl::StatusCode::kResourceExhausted, "more than the limit of 2"},
      {Cat(std::string(100, '['), std::string(100, ']')), absl::StatusCode::kInvalidArgument,
       "invalid list"},
      {Cat(R"({"items":)", std::string(80, '['), std::string(80, ']'), "}"),
       absl::StatusCode::kInvalidArgument, "nested deeper than"},
  };
  for (const BadCase& c : cases) {
    const absl::StatusOr<ObjectList> list = DecodeObjectList(c.json, 2);
    ASSERT_FALSE(list.ok()) << c.json;
    EXPECT_EQ(list.status().code(), c.code) << c.json;
    EXPECT_THAT(std::string(list.status().message()), HasSubstr(c.message)) << c.json;
  }
}

TEST(DecodeWatchEventTest, DecodesEachType) {
  struct Case {
    std::string line;
    RawWatchEventType type;
    std::string resource_version;
  };
  const std::vector<Case> cases = {
      {R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}})",
       RawWatchEventType::kAdded, "1"},
      {R"({"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"2"}}})",
       RawWatchEventType::kModified, "2"},
      {R"({"type":"DELETED","object":{"metadata":{"name":"a","resourceVersion":"3"}}})",
       RawWatchEventType::kDeleted, "3"},
      {R"({"type":"BOOKMARK","object":{"kind":"PartialObjectMetadata",)"
       R"("metadata":{"resourceVersion":"9"}}})",
       RawWatchEventType::kBookmark, "9"},
  };
  for (const Case& c : cases) {
    const absl::StatusOr<WatchEvent> event = DecodeWatchEvent(c.line);
    ASSERT_TRUE(event.ok()) << c.line << ": " << event.status();
    EXPECT_EQ(event->type, c.type) << c.line;
    EXPECT_EQ(event->object.metadata.resource_version, c.resource_version) << c.line;
  }

  const absl::StatusOr<WatchEvent> error = DecodeWatchEvent(
      R"({"type":"ERROR","object":{"kind":"Status","code":410,"message":"too old"}})");
  ASSERT_TRUE(error.ok()) << error.status();
  EXPECT_EQ(error->type, RawWatchEventType::kError);
  EXPECT_EQ(error->error_code, 410);
  EXPECT_EQ(error->error_message, "too old");

  const absl::StatusOr<WatchEvent> configmap =
      DecodeWatchEvent(R"({"type":"ADDED","object":{"metadata":{"name":"c"},"data":{"k":"v"}}})");
  ASSERT_TRUE(configmap.ok());
  EXPECT_EQ(configmap->object.data, (std::map<std::string, std::string>{{"k", "v"}}));
}

TEST(DecodeWatchEventTest, RejectsBadEvents) {
  for (const char* line : {R"({"type":"ADDED"})", R"({"type":"RESYNC","object":{}})",
                           R"({"type":"ADDED","object":{"data":{"k":1},"metadata":{}}})", "{"}) {
    EXPECT_EQ(DecodeWatchEvent(line).status().code(), absl::StatusCode::kInvalidArgument) << line;
  }
}

TEST(ResponseErrorTest, MapsCodesAndKeepsTheStatusMessage) {
  const std::string body = R"({"kind":"Status","message":"configmaps is forbidden"})";
  EXPECT_EQ(ResponseError(403, body, "GET /x"),
            absl::PermissionDeniedError("GET /x: HTTP 403: configmaps is forbidden"));
  EXPECT_EQ(ResponseError(401, "", "GET /x").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ResponseError(404, "", "GET /x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ResponseError(410, "", "GET /x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ResponseError(429, "", "GET /x").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ResponseError(503, "<html>", "GET /x"),
            absl::UnavailableError("GET /x: HTTP 503: no Status message"));
  EXPECT_EQ(ResponseError(400, "", "GET /x").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ma::kube
