#include "adapter/auth/request_attributes.h"

#include <optional>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"

namespace ma::auth {
namespace {

// Namespace subresources that keep `namespaces/{ns}/<x>` about the namespace object itself.
bool IsNamespaceSubresource(std::string_view segment) {
  return segment == "status" || segment == "finalize";
}

// Other methods keep their lowercase name, as in Go.
std::string ResourceVerb(std::string_view method, std::string lowercase_method) {
  if (method == "GET" || method == "HEAD") return "get";
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  if (method == "PATCH") return "patch";
  if (method == "DELETE") return "delete";
  return lowercase_method;
}

// Go's strconv.ParseBool, which decides `watch=`.
bool IsTrue(std::string_view value) {
  return value == "1" || value == "t" || value == "T" || value == "true" || value == "TRUE" ||
         value == "True";
}

}  // namespace

RequestAttributes AttributesOf(const http::Request& request) {
  RequestAttributes attributes;
  attributes.path = request.path;
  attributes.verb = absl::AsciiStrToLower(request.method);
  const std::vector<std::string>& segments = request.path_segments;
  if (segments.size() < 3 || (segments[0] != "apis" && segments[0] != "api")) {
    return attributes;
  }
  size_t next = 1;
  if (segments[0] == "apis") {
    if (segments.size() < 4) {
      return attributes;
    }
    attributes.api_group = segments[next++];
  }
  attributes.resource_request = true;
  attributes.api_version = segments[next++];
  std::vector<std::string> parts(segments.begin() + static_cast<std::ptrdiff_t>(next),
                                 segments.end());
  // `/watch/...` and `/proxy/...` name the verb in the path.
  const bool proxy = parts.size() >= 2 && parts[0] == "proxy";
  if (parts.size() >= 2 && (parts[0] == "watch" || proxy)) {
    attributes.verb = parts[0];
    parts.erase(parts.begin());
  } else {
    attributes.verb = ResourceVerb(request.method, attributes.verb);
  }
  if (!parts.empty() && parts[0] == "namespaces" && parts.size() > 1) {
    attributes.namespace_name = parts[1];
    if (parts.size() > 2 && !IsNamespaceSubresource(parts[2])) {
      parts.erase(parts.begin(), parts.begin() + 2);
    }
  }
  if (parts.size() >= 3 && !proxy) {
    attributes.subresource = parts[2];
  }
  if (parts.size() >= 2) {
    attributes.name = parts[1];
  }
  if (!parts.empty()) {
    attributes.resource = parts[0];
  }
  if (attributes.name.empty() && attributes.verb == "get") {
    const std::optional<std::string> watch = request.QueryParam("watch");
    attributes.verb = watch.has_value() && IsTrue(*watch) ? "watch" : "list";
  } else if (attributes.name.empty() && attributes.verb == "delete") {
    attributes.verb = "deletecollection";
  }
  return attributes;
}

}  // namespace ma::auth
