#include "adapter/objects/api_discovery.h"

#include <condition_variable>
#include <cstdint>
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

absl::StatusOr<DiscoveryResult> DiscoverApiResources(kube::ApiClient& client) {
  const auto unavailable = [](const absl::Status& status) {
    return absl::UnavailableError(
        Cat("unable to discover the Kubernetes API's resources: ", ToStd(status.message())));
  };
  auto core_body = Get(client, "/api");
  if (!core_body.ok()) {
    return unavailable(core_body.status());
  }
  auto core_versions = DecodeApiVersions(*core_body);
  if (!core_versions.ok()) {
    return unavailable(core_versions.status());
  }
  if (core_versions->empty()) {
    return unavailable(Malformed("/api lists no versions"));
  }
  auto groups_body = Get(client, "/apis");
  if (!groups_body.ok()) {
    return unavailable(groups_body.status());
  }
  auto groups = DecodeApiGroupList(*groups_body);
  if (!groups.ok()) {
    return unavailable(groups.status());
  }

  // The core group's document first, then every group's, all at once.
  std::vector<GroupVersion> documents = {{"", core_versions->front()}};
  documents.insert(documents.end(), groups->begin(), groups->end());
  std::vector<std::string> paths;
  paths.reserve(documents.size());
  for (const auto& gv : documents) {
    paths.push_back(gv.group.empty() ? Cat("/api/", gv.version)
                                     : Cat("/apis/", gv.group, "/", gv.version));
  }
  auto responses = GetAll(client, paths);

  DiscoveryResult result;
  for (size_t i = 0; i < documents.size(); ++i) {
    auto resources = [&]() -> absl::StatusOr<std::vector<ApiResource>> {
      MA_ASSIGN_OR_RETURN(std::string body, BodyOf(paths[i], std::move(responses[i])));
      return DecodeApiResourceList(body, documents[i]);
    }();
    if (resources.ok() && result.resources.size() + resources->size() > kMaxDiscoveredResources) {
      resources = Malformed(Cat("more than ", kMaxDiscoveredResources, " resources in all"));
    }
    if (!resources.ok()) {
      if (i == 0) {
        return unavailable(resources.status());
      }
      MA_LOG(WARNING) << "API discovery of group " << documents[i].group
                      << " failed; keeping what was known of it: " << resources.status();
      result.failed_groups.push_back(documents[i].group);
      continue;
    }
    for (auto& resource : *resources) {
      result.resources.push_back(std::move(resource));
    }
  }
  return result;
}

}  // namespace ma::objects
