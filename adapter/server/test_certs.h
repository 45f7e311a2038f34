#pragma once

// Test-only certificates: a throwaway CA and client/server certificates it signs, generated in
// memory so tests never depend on checked-in key material.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapter/server/self_signed_cert.h"

namespace ma::server {

struct TestCertificateSpec {
  std::string common_name;
  std::vector<std::string> organizations;
  bool is_ca = false;
  bool client_auth_usage = true;  // EKU clientAuth (otherwise EKU serverAuth only)
};

// A certificate for `spec`, signed by `issuer` (or by itself when `issuer` is null).
absl::StatusOr<PemCertificate> IssueTestCertificate(const TestCertificateSpec& spec,
                                                    const PemCertificate* issuer);

// Writes `contents` to `path`, replacing it.
absl::Status WriteTestFile(const std::string& path, std::string_view contents);

}  // namespace ma::server
