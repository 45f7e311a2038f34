#include "adapter/objects/api_discovery.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "adapter/json/reader.h"
#include "adapter/telemetry/log.h"
#include "queries/base/status_macros.h"
#include "queries/base/strings.h"

namespace ma::objects {
namespace {

using rapidjson::Value;

// Discovery documents nest four levels: anything deeper is refused while it is parsed.
constexpr int kMaxJsonDepth = 16;

absl::Status Malformed(std::string_view what) {
  return absl::InternalError(Cat("malformed discovery document: ", what));
}

// Parses `body` into a document of the expected `kind`.
absl::StatusOr<rapidjson::Document> ParseDocument(std::string_view body, std::string_view kind) {
  absl::StatusOr<rapidjson::Document> document =
      json::Parse(body, {.max_bytes = kMaxDiscoveryDocumentBytes, .max_depth = kMaxJsonDepth});
  if (!document.ok()) {
    return Malformed(Cat(kind, ": ", document.status().message()));
  }
  if (!document->IsObject()) {
    return Malformed(Cat(kind, " is not a JSON object"));
  }
  if (const Value* found = json::Member(*document, "kind");
      found != nullptr && found->IsString() && json::StringOf(*found) != kind) {
    return Malformed(Cat("expected kind ", kind, ", got ", GoQuote(json::StringOf(*found))));
  }
  return document;
}

// The string member `name`, or "" when it is absent or not a string.
std::string StringMember(const Value& object, const char* name) {
  const Value* value = json::Member(object, name);
  return value != nullptr && value->IsString() ? std::string(json::StringOf(*value)) : "";
}

// The array member `name`, or nullptr.
const Value* ArrayMember(const Value& object, const char* name) {
  const Value* value = json::Member(object, name);
  return value != nullptr && value->IsArray() ? value : nullptr;
}

// Waits for a set of ApiClient calls issued together. Thread-safe: the slots complete on the
// client's thread while Wait blocks on the caller's.
class CallGroup {
 public:
  explicit CallGroup(size_t calls) : results_(calls), pending_(calls) {}

  kube::ApiCallback Slot(size_t index) {
    return [this, index](absl::StatusOr<kube::ApiResponse> response) {
      std::lock_guard<std::mutex> lock(mutex_);
      results_[index] = std::move(response);
      if (--pending_ == 0) {
        done_.notify_all();
      }
    };
  }

  std::vector<absl::StatusOr<kube::ApiResponse>> Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    return std::move(results_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<absl::StatusOr<kube::ApiResponse>> results_;
  size_t pending_;
};

std::vector<absl::StatusOr<kube::ApiResponse>> GetAll(kube::ApiClient& client,
                                                      const std::vector<std::string>& paths) {
  CallGroup group(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    kube::ApiRequest request;
    request.path = paths[i];
    client.Call(std::move(request), group.Slot(i));
  }
  return group.Wait();
}

// The body of a 200 response; anything else as a status naming the path.
absl::StatusOr<std::string> BodyOf(std::string_view path,
                                   absl::StatusOr<kube::ApiResponse> response) {
  if (!response.ok()) {
    return absl::Status(response.status().code(),
                        Cat("GET ", path, ": ", ToStd(response.status().message())));
  }
  if (response->status != 200) {
    return absl::UnavailableError(Cat("GET ", path, ": HTTP ", response->status));
  }
  return std::move(response->body);
}

absl::StatusOr<std::string> Get(kube::ApiClient& client, const std::string& path) {
  return BodyOf(path, std::move(GetAll(client, {path}).front()));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> DecodeApiVersions(std::string_view body) {
  MA_ASSIGN_OR_RETURN(auto document, ParseDocument(body, "APIVersions"));
  const Value* versions = ArrayMember(document, "versions");
  if (versions == nullptr) {
    return Malformed("APIVersions has no versions");
  }
  if (versions->Size() > kMaxApiGroups) {
    return Malformed(Cat("APIVersions lists more than ", kMaxApiGroups, " versions"));
  }
  std::vector<std::string> out;
  for (const auto& version : versions->GetArray()) {
    if (version.IsString() && version.GetStringLength() > 0) {
      out.emplace_back(json::StringOf(version));
    }
  }
  return out;
}

absl::StatusOr<std::vector<GroupVersion>> DecodeApiGroupList(std::string_view body) {
  MA_ASSIGN_OR_RETURN(auto document, ParseDocument(body, "APIGroupList"));
  const Value* groups = ArrayMember(document, "groups");
  if (groups == nullptr) {
    return Malformed("APIGroupList has no groups");
  }
  if (groups->Size() > kMaxApiGroups) {
    return Malformed(Cat("APIGroupList lists more than ", kMaxApiGroups, " groups"));
  }
  std::vector<GroupVersion> out;
  for (const auto& group : groups->GetArray()) {
    if (!group.IsObject()) {
      continue;
    }
    GroupVersion gv{StringMember(group, "name"), ""};
    if (const Value* preferred = json::Member(group, "preferredVersion"); preferred != nullptr) {
      gv.version = StringMember(*preferred, "version");
    }
    if (const Value* versions = ArrayMember(group, "versions");
        gv.version.empty() && versions != nullptr && !versions->Empty() &&
        (*versions)[0].IsObject()) {
      gv.version = StringMember((*versions)[0], "version");
    }
    if (!gv.group.empty() && !gv.version.empty()) {
      out.push_back(std::move(gv));
    }
  }
  return out;
}

absl::StatusOr<std::vector<ApiResource>> DecodeApiResourceList(std::string_view body,
                                                               const GroupVersion& group_version) {
  MA_ASSIGN_OR_RETURN(auto document, ParseDocument(body, "APIResourceList"));
  const Value* resources = ArrayMember(document, "resources");
  if (resources == nullptr) {
    return Malformed("APIResourceList has no resources");
  }
  if (resources->Size() > kMaxResourcesPerGroupVersion) {
    return Malformed(
        Cat("APIResourceList lists more than ", kMaxResourcesPerGroupVersion, " resources"));
  }
  std::vector<ApiResource> out;
  for (const auto& entry : resources->GetArray()) {
    if (!entry.IsObject()) {
      continue;
    }
    ApiResource resource;
    resource.group = group_version.group;
    resource.version = group_version.version;
    resource.plural = StringMember(entry, "name");
    if (resource.plural.empty() || resource.plural.find('/') != std::string::npos) {
      continue;  // a subresource: pods/log, deployments/scale
    }
    resource.kind = StringMember(entry, "kind");
    resource.singular = StringMember(entry, "singularName");
    if (resource.singular.empty()) {
      // Older servers leave it out; a RESTMapper then uses the lowercase kind.
      resource.singular = absl::AsciiStrToLower(resource.kind);
    }
    if (const Value* namespaced = json::Member(entry, "namespaced");
        namespaced != nullptr && namespaced->IsBool()) {
      resource.namespaced = namespaced->GetBool();
    }
    if (const Value* verbs = ArrayMember(entry, "verbs"); verbs != nullptr) {
      if (verbs->Size() > kMaxVerbsPerResource) {
        return Malformed(Cat("resource ", GoQuote(resource.plural), " lists more than ",
                             kMaxVerbsPerResource, " verbs"));
      }
      for (const auto& verb : verbs->GetArray()) {
        if (verb.IsString()) {
          resource.verbs.emplace_back(json::StringOf(verb));
        }
      }
    }
    out.push_back(std::move(resource));
  }
  return out;
}

namespace {

absl::Status Unavailable(const absl::Status& status) {
  return absl::UnavailableError(
      Cat("unable to discover the Kubernetes API's resources: ", ToStd(status.message())));
}

// Sends GETs for `paths` at once; `done` gets the answers in the same order, through `post`.
void GetAllAsync(kube::ApiClient& client, std::vector<std::string> paths, const Post& post,
                 std::function<void(std::vector<absl::StatusOr<kube::ApiResponse>>)> done) {
  struct Pending {
    std::mutex mutex;
    size_t remaining = 0;
    std::vector<absl::StatusOr<kube::ApiResponse>> results;
    Post post;
    std::function<void(std::vector<absl::StatusOr<kube::ApiResponse>>)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->remaining = paths.size();
  pending->results.assign(paths.size(), absl::UnknownError("not sent"));
  pending->post = post;
  pending->done = std::move(done);
  for (size_t i = 0; i < paths.size(); ++i) {
    kube::ApiRequest request;
    request.path = std::move(paths[i]);
    client.Call(std::move(request), [pending, i](absl::StatusOr<kube::ApiResponse> response) {
      {
        std::lock_guard<std::mutex> lock(pending->mutex);
        pending->results[i] = std::move(response);
        if (--pending->remaining != 0) {
          return;
        }
      }
      pending->post([pending] { pending->done(std::move(pending->results)); });
    });
  }
}

// /api must list a version: the core group's document is the one that may not fail.
absl::Status CheckCore(std::string_view core_body) {
  auto core_versions = DecodeApiVersions(core_body);
  if (!core_versions.ok()) {
    return Unavailable(core_versions.status());
  }
  if (core_versions->empty()) {
    return Unavailable(Malformed("/api lists no versions"));
  }
  return absl::OkStatus();
}

// The group-version documents of one run, core first.
struct GroupDocuments {
  std::vector<GroupVersion> documents;
  std::vector<std::string> paths;
};

absl::StatusOr<GroupDocuments> PlanGroupDocuments(std::string_view core_body,
                                                  std::string_view groups_body) {
  auto core_versions = DecodeApiVersions(core_body);
  if (!core_versions.ok()) {
    return Unavailable(core_versions.status());
  }
  if (core_versions->empty()) {
    return Unavailable(Malformed("/api lists no versions"));
  }
  auto groups = DecodeApiGroupList(groups_body);
  if (!groups.ok()) {
    return Unavailable(groups.status());
  }
  // The core group's document first, then every group's, all at once.
  GroupDocuments out;
  out.documents = {{"", core_versions->front()}};
  out.documents.insert(out.documents.end(), groups->begin(), groups->end());
  out.paths.reserve(out.documents.size());
  for (const auto& gv : out.documents) {
    out.paths.push_back(gv.group.empty() ? Cat("/api/", gv.version)
                                         : Cat("/apis/", gv.group, "/", gv.version));
  }
  return out;
}

absl::StatusOr<DiscoveryResult> Assemble(const GroupDocuments& plan,
                                         std::vector<absl::StatusOr<kube::ApiResponse>> responses) {
  DiscoveryResult result;
  for (size_t i = 0; i < plan.documents.size(); ++i) {
    auto resources = [&]() -> absl::StatusOr<std::vector<ApiResource>> {
      MA_ASSIGN_OR_RETURN(std::string body, BodyOf(plan.paths[i], std::move(responses[i])));
      return DecodeApiResourceList(body, plan.documents[i]);
    }();
    if (resources.ok() && result.resources.size() + resources->size() > kMaxDiscoveredResources) {
      resources = Malformed(Cat("more than ", kMaxDiscoveredResources, " resources in all"));
    }
    if (!resources.ok()) {
      if (i == 0) {
        return Unavailable(resources.status());
      }
      MA_LOG(WARNING) << "API discovery of group " << plan.documents[i].group
                      << " failed; keeping what was known of it: " << resources.status();
      result.failed_groups.push_back(plan.documents[i].group);
      continue;
    }
    for (auto& resource : *resources) {
      result.resources.push_back(std::move(resource));
    }
  }
  return result;
}

}  // namespace

absl::StatusOr<DiscoveryResult> DiscoverApiResources(kube::ApiClient& client) {
  auto core_body = Get(client, "/api");
  if (!core_body.ok()) {
    return Unavailable(core_body.status());
  }
  // Checked before /apis is asked for.
  if (absl::Status s = CheckCore(*core_body); !s.ok()) {
    return s;
  }
  auto groups_body = Get(client, "/apis");
  if (!groups_body.ok()) {
    return Unavailable(groups_body.status());
  }
  MA_ASSIGN_OR_RETURN(GroupDocuments plan, PlanGroupDocuments(*core_body, *groups_body));
  return Assemble(plan, GetAll(client, plan.paths));
}

void DiscoverApiResourcesAsync(kube::ApiClient& client, Post post, DiscoveryCallback done) {
  // /api, then /apis, then every group's document; each step decodes through `post`.
  GetAllAsync(client, {"/api"}, post, [&client, post, done = std::move(done)](auto core) mutable {
    auto core_body = BodyOf("/api", std::move(core.front()));
    if (!core_body.ok()) {
      done(Unavailable(core_body.status()));
      return;
    }
    if (absl::Status s = CheckCore(*core_body); !s.ok()) {
      done(std::move(s));
      return;
    }
    GetAllAsync(client, {"/apis"}, post,
                [&client, post, done = std::move(done),
                 core_body = *std::move(core_body)](auto groups) mutable {
                  auto groups_body = BodyOf("/apis", std::move(groups.front()));
                  if (!groups_body.ok()) {
                    done(Unavailable(groups_body.status()));
                    return;
                  }
                  absl::StatusOr<GroupDocuments> plan = PlanGroupDocuments(core_body, *groups_body);
                  if (!plan.ok()) {
                    done(plan.status());
                    return;
                  }
                  auto shared_plan = std::make_shared<const GroupDocuments>(*std::move(plan));
                  GetAllAsync(client, shared_plan->paths, post,
                              [shared_plan, done = std::move(done)](auto responses) {
                                done(Assemble(*shared_plan, std::move(responses)));
                              });
                });
  });
}

}  // namespace ma::objects
