#pragma once

// What a request asks to do, classified as a Go apiserver's RequestInfoFactory does (the table in
// docs/security.md, "Authorization"): the attributes of its SubjectAccessReview and of its 403
// message.

#include <string>

#include "adapter/http/message.h"

namespace ma::auth {

struct RequestAttributes {
  bool resource_request = false;
  std::string verb;  // get, list, watch, create, ...; non-resource: the lowercase method
  // Non-resource requests: the request path ("/apis/custom.metrics.k8s.io/v1beta1").
  std::string path;
  // Resource requests.
  std::string api_group;
  std::string api_version;
  std::string namespace_name;
  std::string resource;
  std::string subresource;
  std::string name;

  bool operator==(const RequestAttributes&) const = default;
};

// `/apis/<group>/<version>/...` and `/api/<version>/...` with a resource part are resource
// requests (GET with a name: get; without: list, or watch with watch=true); everything else is
// a non-resource request.
RequestAttributes AttributesOf(const http::Request& request);

}  // namespace ma::auth
