#pragma once

// The serving certificate a Go generic apiserver makes for itself when it is given none:
// <cert_dir>/apiserver.crt and apiserver.key, valid for localhost and 127.0.0.1.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ma::server {

inline constexpr std::string_view kSelfSignedCertFileName = "apiserver.crt";
inline constexpr std::string_view kSelfSignedKeyFileName = "apiserver.key";
// Go's GenerateSelfSignedCertKey: valid from an hour ago, for a year.
inline constexpr absl::Duration kSelfSignedBackdate = absl::Hours(1);
inline constexpr absl::Duration kSelfSignedValidity = absl::Hours(24 * 365);
// A generated pair found at start is replaced when it expires within this, so that a process
// started near the end of the year does not run into the expiry (a running process does not renew
// it: docs/deploy.md, "Certificate rotation").
inline constexpr absl::Duration kSelfSignedRenewBefore = absl::Hours(24 * 30);

struct PemCertificate {
  std::string certificate_pem;
  std::string private_key_pem;
};

struct CertificateFiles {
  std::string cert_file;
  std::string key_file;
};

// An EC P-256 certificate signed by its own key: CN "localhost@<unix seconds of now>",
// SANs DNS:localhost and IP:127.0.0.1, EKU serverAuth.
absl::StatusOr<PemCertificate> GenerateSelfSignedCertificate(absl::Time now);

// Returns the pair in `cert_dir`, reusing it when both files parse, match and stay valid for
// kSelfSignedRenewBefore,
// and otherwise generating and writing a new one (the key with mode 0600), creating the directory
// if needed.
absl::StatusOr<CertificateFiles> EnsureSelfSignedCertificate(std::string_view cert_dir);

}  // namespace ma::server
