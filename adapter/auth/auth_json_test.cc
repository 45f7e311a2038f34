#include "adapter/auth/auth_json.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ma::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

TEST(AuthJsonTest, EncodeTokenReview) {
  EXPECT_EQ(EncodeTokenReview("abc", {}),
            R"({"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{},)"
            R"("spec":{"token":"abc"}})");
  EXPECT_EQ(EncodeTokenReview("a\"b", {"api", "other"}),
            R"({"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{},)"
            R"("spec":{"token":"a\"b","audiences":["api","other"]}})");
}

TEST(AuthJsonTest, DecodeTokenReviewStatus) {
  absl::StatusOr<TokenReviewStatus> status = DecodeTokenReviewStatus(
      R"({"kind":"TokenReview","status":{"authenticated":true,"user":{"username":"system:serviceaccount:kube-system:hpa",)"
      R"("uid":"u-1","groups":["system:serviceaccounts"],"extra":{"authentication.kubernetes.io/credential-id":["JTI=1"]}},)"
      R"("audiences":["https://kubernetes.default.svc"]}})");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(status->authenticated);
  EXPECT_EQ(status->user.name, "system:serviceaccount:kube-system:hpa");
  EXPECT_EQ(status->user.uid, "u-1");
  EXPECT_THAT(status->user.groups, ElementsAre("system:serviceaccounts"));
  EXPECT_THAT(status->user.extra, ElementsAre(Pair("authentication.kubernetes.io/credential-id",
                                                   ElementsAre("JTI=1"))));
  EXPECT_THAT(status->audiences, ElementsAre("https://kubernetes.default.svc"));

  status = DecodeTokenReviewStatus(R"({"status":{"authenticated":false,"error":"expired"}})");
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->authenticated);
  EXPECT_EQ(status->error, "expired");

  status = DecodeTokenReviewStatus(R"({"kind":"TokenReview"})");
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->authenticated);
}

TEST(AuthJsonTest, MalformedAnswersAreErrors) {
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  const std::string huge =
      R"({"status":{"error":")" + std::string(kMaxKubeResponseBytes, 'x') + "\"}}";
  const std::string bodies[] = {
      "",
      "not json",
      "[]",
      deep,
      huge,
      R"({"status":"yes"})",
      R"({"status":{"user":{"groups":[1]}}})",
  };
  for (const std::string& body : bodies) {
    EXPECT_EQ(DecodeTokenReviewStatus(body).status().code(), absl::StatusCode::kInternal)
        << body.substr(0, 40);
  }
  EXPECT_EQ(DecodeSubjectAccessReviewStatus("{").status().code(), absl::StatusCode::kInternal);
}

TEST(AuthJsonTest, EncodeSubjectAccessReview) {
  UserInfo user;
  user.name = "system:serviceaccount:kube-system:horizontal-pod-autoscaler";
  user.uid = "u-1";
  user.groups = {"system:serviceaccounts", "system:authenticated"};
  user.extra["authentication.kubernetes.io/credential-id"] = {"JTI=1"};
  RequestAttributes resource;
  resource.resource_request = true;
  resource.verb = "get";
  resource.api_group = "custom.metrics.k8s.io";
  resource.api_version = "v1beta2";
  resource.namespace_name = "default";
  resource.resource = "pods";
  resource.subresource = "http_requests";
  resource.name = "*";
  EXPECT_EQ(
      EncodeSubjectAccessReview(user, resource),
      R"({"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{},)"
      R"("spec":{"resourceAttributes":{"namespace":"default","verb":"get","group":"custom.metrics.k8s.io",)"
      R"("version":"v1beta2","resource":"pods","subresource":"http_requests","name":"*"},)"
      R"("user":"system:serviceaccount:kube-system:horizontal-pod-autoscaler",)"
      R"("groups":["system:serviceaccounts","system:authenticated"],)"
      R"("extra":{"authentication.kubernetes.io/credential-id":["JTI=1"]},"uid":"u-1"}})");

  RequestAttributes external;
  external.resource_request = true;
  external.verb = "list";
  external.api_group = "external.metrics.k8s.io";
  external.api_version = "v1beta1";
  external.namespace_name = "shop";
  external.resource = "queue_depth";
  UserInfo jane;
  jane.name = "jane";
  EXPECT_EQ(
      EncodeSubjectAccessReview(jane, external),
      R"({"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{},)"
      R"("spec":{"resourceAttributes":{"namespace":"shop","verb":"list","group":"external.metrics.k8s.io",)"
      R"("version":"v1beta1","resource":"queue_depth"},"user":"jane"}})");

  RequestAttributes path;
  path.verb = "get";
  path.path = "/apis/custom.metrics.k8s.io/v1beta1";
  EXPECT_EQ(EncodeSubjectAccessReview(jane, path),
            R"({"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{},)"
            R"("spec":{"nonResourceAttributes":{"path":"/apis/custom.metrics.k8s.io/v1beta1",)"
            R"("verb":"get"},"user":"jane"}})");
}

TEST(AuthJsonTest, DecodeSubjectAccessReviewStatus) {
  absl::StatusOr<SubjectAccessReviewStatus> status = DecodeSubjectAccessReviewStatus(
      R"({"status":{"allowed":false,"denied":true,"reason":"no RBAC policy matched",)"
      R"("evaluationError":"x"}})");
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->allowed);
  EXPECT_TRUE(status->denied);
  EXPECT_EQ(status->reason, "no RBAC policy matched");
  EXPECT_EQ(status->evaluation_error, "x");
  status = DecodeSubjectAccessReviewStatus(R"({"status":{"allowed":true}})");
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->allowed);
  EXPECT_FALSE(status->denied);
}

TEST(AuthJsonTest, DecodeConfigMapData) {
  absl::StatusOr<std::map<std::string, std::string>> data = DecodeConfigMapData(
      R"({"kind":"ConfigMap","data":{"client-ca-file":"PEM","requestheader-allowed-names":"[\"a\"]","n":1}})");
  ASSERT_TRUE(data.ok());
  EXPECT_THAT(*data, ElementsAre(Pair("client-ca-file", "PEM"),
                                 Pair("requestheader-allowed-names", "[\"a\"]")));
  data = DecodeConfigMapData(R"({"kind":"ConfigMap"})");
  ASSERT_TRUE(data.ok());
  EXPECT_THAT(*data, IsEmpty());
}

TEST(AuthJsonTest, DecodeStringList) {
  EXPECT_THAT(*DecodeStringList(R"(["X-Remote-User","X-Other"])"),
              ElementsAre("X-Remote-User", "X-Other"));
  EXPECT_THAT(*DecodeStringList(""), IsEmpty());
  EXPECT_THAT(*DecodeStringList("[]"), IsEmpty());
  EXPECT_EQ(DecodeStringList("X-Remote-User").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeStringList("[1]").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ma::auth
