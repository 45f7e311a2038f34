#include "adapter/api/status.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapter/http/error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

std::string StatusBody(const std::string& message, const std::string& reason, int code,
                       const std::string& details_json = "") {
  return absl::StrCat(R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)",
                      R"("message":")", message, R"(","reason":")", reason, "\",",
                      details_json.empty() ? "" : absl::StrCat(R"("details":)", details_json, ","),
                      R"("code":)", code, "}\n");
}

// Every row of the table, with a message that contains something a client must not see when the
// row is a server error.
TEST(StatusResponseTest, Table) {
  constexpr char kSecret[] = "dial tcp 10.0.0.1:9090: secret";
  const std::string kInternalBody =
      StatusBody("Internal error occurred: unable to fetch metrics", "InternalError", 500,
                 R"({"causes":[{"message":"unable to fetch metrics"}]})");
  struct Case {
    absl::Status status;
    int http_status;
    std::string body;
  };
  const Case cases[] = {
      {absl::InvalidArgumentError("unable to parse requirement: x"), 400,
       StatusBody("unable to parse requirement: x", "BadRequest", 400)},
      {absl::FailedPreconditionError("fieldSelector metadata.name doesn't match requested name"),
       400,
       StatusBody("fieldSelector metadata.name doesn't match requested name", "BadRequest", 400)},
      {absl::UnauthenticatedError("Unauthorized"), 401,
       StatusBody("Unauthorized", "Unauthorized", 401)},
      {absl::PermissionDeniedError("forbidden: User \"jane\" cannot get path \"/metrics\""), 403,
       StatusBody(R"(forbidden: User \"jane\" cannot get path \"/metrics\")", "Forbidden", 403)},
      {absl::NotFoundError("the server could not find the metric m for pods web-1"), 404,
       StatusBody("the server could not find the metric m for pods web-1", "NotFound", 404)},
      {absl::ResourceExhaustedError("too many concurrent queries"), 429,
       StatusBody("too many concurrent queries", "TooManyRequests", 429,
                  R"({"retryAfterSeconds":1})")},
      {absl::UnavailableError(kSecret), 503,
       StatusBody("metrics backend unavailable", "ServiceUnavailable", 503)},
      {absl::DeadlineExceededError(kSecret), 504,
       StatusBody("timed out waiting for the metrics backend", "Timeout", 504)},
      {absl::InternalError(kSecret), 500, kInternalBody},
      {absl::UnknownError(kSecret), 500, kInternalBody},
      {absl::DataLossError(kSecret), 500, kInternalBody},
      {absl::AbortedError(kSecret), 500, kInternalBody},
      {absl::CancelledError(kSecret), 500, kInternalBody},
      {absl::OutOfRangeError(kSecret), 500, kInternalBody},
      {absl::UnimplementedError(kSecret), 500, kInternalBody},
      {absl::AlreadyExistsError(kSecret), 500, kInternalBody},
      {absl::OkStatus(), 500, kInternalBody},  // a caller bug must not look like success
  };
  for (const Case& c : cases) {
    const http::Response response = StatusResponse(c.status);
    EXPECT_EQ(response.status, c.http_status) << c.status;
    EXPECT_EQ(response.content_type, "application/json") << c.status;
    EXPECT_EQ(response.body, c.body) << c.status;
    EXPECT_THAT(response.body, Not(HasSubstr("10.0.0.1")));
    EXPECT_THAT(response.body, Not(HasSubstr("secret")));
    if (!c.status.ok()) {
      EXPECT_EQ(HttpCode(c.status), c.http_status) << c.status;
    }
  }
}

TEST(StatusResponseTest, HttpCodeAgreesWithResponseForEveryCode) {
  EXPECT_EQ(HttpCode(absl::OkStatus()), 200);
  for (int code = 1; code <= 16; ++code) {
    const absl::Status status(static_cast<absl::StatusCode>(code), "m");
    EXPECT_EQ(HttpCode(status), StatusResponse(status).status) << status;
  }
}

TEST(StatusResponseTest, RetryAfterOnlyForResourceExhausted) {
  EXPECT_THAT(StatusResponse(absl::ResourceExhaustedError("slow down")).headers,
              ElementsAre(Pair("Retry-After", "1")));
  for (const absl::Status& status :
       {absl::InvalidArgumentError("x"), absl::UnavailableError("x"), absl::InternalError("x")}) {
    EXPECT_THAT(StatusResponse(status).headers, IsEmpty()) << status;
  }
}

// The server's own limits have HTTP codes that no absl code names.
TEST(StatusResponseTest, AttachedHttpCodeSelectsItsRow) {
  const absl::Status too_large =
      http::WithHttpCode(absl::InvalidArgumentError("the request body is too large"), 413);
  http::Response body = StatusResponse(too_large);
  EXPECT_EQ(body.status, 413);
  EXPECT_EQ(HttpCode(too_large), 413);
  EXPECT_EQ(body.body, StatusBody("the request body is too large", "RequestEntityTooLarge", 413));
  const absl::Status headers =
      http::WithHttpCode(absl::InvalidArgumentError("request header fields too large"), 431);
  EXPECT_EQ(StatusResponse(headers).status, 431);
  EXPECT_EQ(HttpCode(headers), 431);
  // A code without a row keeps the status code's own row.
  EXPECT_EQ(StatusResponse(http::WithHttpCode(absl::NotFoundError("x"), 418)).status, 404);
}

TEST(StatusResponseTest, PublicMessageReplacesTheFixedOne) {
  struct Case {
    absl::Status status;
    std::string body;
  };
  const Case cases[] = {
      {WithPublicMessage(absl::InternalError("template exec: secret"),
                         "encountered an unexpected query result type"),
       StatusBody("Internal error occurred: encountered an unexpected query result type",
                  "InternalError", 500,
                  R"({"causes":[{"message":"encountered an unexpected query result type"}]})")},
      {WithPublicMessage(absl::UnavailableError("connect: secret"),
                         "metrics backend not ready, retry shortly"),
       StatusBody("metrics backend not ready, retry shortly", "ServiceUnavailable", 503)},
      {WithPublicMessage(absl::DeadlineExceededError("secret"), "query took longer than 30s"),
       StatusBody("query took longer than 30s", "Timeout", 504)},
      {WithPublicMessage(absl::NotFoundError("secret"), "no such metric"),
       StatusBody("no such metric", "NotFound", 404)},
      // An empty public message keeps the fixed one.
      {WithPublicMessage(absl::UnavailableError("secret"), ""),
       StatusBody("metrics backend unavailable", "ServiceUnavailable", 503)},
  };
  for (const Case& c : cases) {
    const http::Response response = StatusResponse(c.status);
    EXPECT_EQ(response.body, c.body);
    EXPECT_THAT(response.body, Not(HasSubstr("secret")));
  }
  EXPECT_TRUE(WithPublicMessage(absl::OkStatus(), "fine").ok());
  // The payload survives copies and leaves code and message alone.
  const absl::Status marked = WithPublicMessage(absl::InternalError("detail"), "public");
  // NOLINTNEXTLINE(performance-unnecessary-copy-initialization): the copy is under test.
  const absl::Status copy = marked;
  EXPECT_EQ(copy.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(copy.message(), "detail");
  EXPECT_THAT(StatusResponse(copy).body, HasSubstr("Internal error occurred: public"));
}

TEST(StatusResponseTest, EmptyClientMessagesGetAGenericOne) {
  struct Case {
    absl::Status status;
    std::string body;
  };
  const Case cases[] = {
      {absl::UnauthenticatedError(""), StatusBody("Unauthorized", "Unauthorized", 401)},
      {absl::NotFoundError(""),
       StatusBody("the server could not find the requested resource", "NotFound", 404)},
      {absl::InvalidArgumentError(""), StatusBody("bad request", "BadRequest", 400)},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(StatusResponse(c.status).body, c.body);
  }
}

TEST(StatusResponseTest, LongMessagesAreBounded) {
  // A multi-byte character straddles the cut: it must not be split.
  const std::string message = std::string(kMaxStatusMessageBytes - 1, 'a') + "\xc3\xa9" + "tail";
  const http::Response response = StatusResponse(absl::InvalidArgumentError(message));
  EXPECT_EQ(response.body,
            StatusBody(std::string(kMaxStatusMessageBytes - 1, 'a') + "...", "BadRequest", 400));
  const http::Response public_response = StatusResponse(
      WithPublicMessage(absl::InternalError("x"), std::string(2 * kMaxStatusMessageBytes, 'b')));
  EXPECT_THAT(public_response.body,
              HasSubstr(std::string(kMaxStatusMessageBytes, 'b') + "...\"}]},"));
  EXPECT_THAT(public_response.body, Not(HasSubstr(std::string(kMaxStatusMessageBytes + 1, 'b'))));
}

TEST(StatusResponseTest, ClientMessagesAreJsonEscaped) {
  EXPECT_EQ(StatusResponse(absl::InvalidArgumentError("bad \"<sel>\"\n")).body,
            StatusBody(R"(bad \"\u003csel\u003e\"\n)", "BadRequest", 400));
}

TEST(MethodNotAllowedResponseTest, Renders405) {
  const http::Response response =
      MethodNotAllowedResponse("POST", "/apis/custom.metrics.k8s.io/v1beta1");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.body,
            StatusBody(R"(POST is not supported on \"/apis/custom.metrics.k8s.io/v1beta1\")",
                       "MethodNotAllowed", 405));
  EXPECT_THAT(response.headers, ElementsAre(Pair("Allow", "GET")));

  const http::Response long_path = MethodNotAllowedResponse("DELETE", std::string(100000, 'p'));
  EXPECT_LT(long_path.body.size(), 2000u);
  EXPECT_THAT(long_path.body, HasSubstr("DELETE is not supported on"));
}

TEST(NotFoundPathResponseTest, RendersKubeApiserverBody) {
  const http::Response response = NotFoundPathResponse();
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body,
            StatusBody("the server could not find the requested resource", "NotFound", 404, "{}"));
  EXPECT_THAT(response.headers, IsEmpty());
}

TEST(ForbiddenResponseTest, RendersGoAuthorizationDenial) {
  struct Case {
    std::string message;
    std::string json_message;
    std::string name;
    std::string group;
    std::string kind;
    std::string details_json;
  };
  const Case cases[] = {
      {R"(pods.custom.metrics.k8s.io "*" is forbidden: User "jane" cannot get resource)",
       R"(pods.custom.metrics.k8s.io \"*\" is forbidden: User \"jane\" cannot get resource)", "*",
       "custom.metrics.k8s.io", "pods",
       R"({"name":"*","group":"custom.metrics.k8s.io","kind":"pods"})"},
      {R"(forbidden: User "jane" cannot get path "/metrics")",
       R"(forbidden: User \"jane\" cannot get path \"/metrics\")", "", "", "", "{}"},
  };
  for (const Case& c : cases) {
    const http::Response response = ForbiddenResponse(c.message, c.name, c.group, c.kind);
    EXPECT_EQ(response.status, 403);
    EXPECT_EQ(response.content_type, "application/json");
    EXPECT_EQ(response.body, StatusBody(c.json_message, "Forbidden", 403, c.details_json));
    EXPECT_THAT(response.headers, ElementsAre(Pair("X-Content-Type-Options", "nosniff")));
  }
}

}  // namespace
}  // namespace ma::api
