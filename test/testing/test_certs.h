#pragma once

// Test-only certificates: a throwaway CA and client/server certificates it signs, generated in
// memory so tests never depend on checked-in key material.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/server/self_signed_cert.h"

namespace ma::testing {

struct TestCertificateSpec {
  std::string common_name;
  std::vector<std::string> organizations;
  bool is_ca = false;
  bool client_auth_usage = true;  // EKU clientAuth (otherwise EKU serverAuth only)
};

// A certificate for `spec`, signed by `issuer` (or by itself when `issuer` is null).
absl::StatusOr<server::PemCertificate> IssueTestCertificate(const TestCertificateSpec& spec,
                                                            const server::PemCertificate* issuer);

}  // namespace ma::testing
