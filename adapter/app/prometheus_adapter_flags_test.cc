#include "adapter/app/prometheus_adapter_flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "absl/flags/reflection.h"

namespace ma::app {
namespace {

std::string Underscored(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

TEST(PrometheusAdapterFlagsTest, HonouredFlagsAreDefinedAndNoEffectFlagsAreNot) {
  std::set<std::string> seen;
  for (const PrometheusAdapterFlag& flag : PrometheusAdapterFlags()) {
    SCOPED_TRACE(flag.name);
    EXPECT_TRUE(seen.insert(Underscored(flag.name)).second) << "listed twice";
    const std::string absl_name = Underscored(flag.name);
    // --prometheus-header repeats, so NormalizeCommandLine takes it instead of an absl flag.
    const bool defined = absl_name == "prometheus_header" ||
                         absl::FindCommandLineFlag({absl_name.data(), absl_name.size()}) != nullptr;
    switch (flag.effect) {
      case FlagEffect::kHonoured:
        EXPECT_TRUE(defined);
        EXPECT_TRUE(flag.note.empty()) << "a flag with a note is kChanged";
        break;
      case FlagEffect::kChanged:
        EXPECT_TRUE(defined);
        EXPECT_FALSE(flag.note.empty()) << "say what changed";
        break;
      case FlagEffect::kNoEffect:
        EXPECT_FALSE(defined) << "defined here, so it has an effect";
        EXPECT_FALSE(flag.note.empty()) << "say why it has no effect";
        break;
    }
  }
  // The flags of every layer are there: a sample of each.
  for (const char* name :
       {"prometheus-auth-config", "client-qps", "tls-sni-cert-key", "authentication-skip-lookup",
        "audit-webhook-mode", "profiling", "vmodule", "logtostderr"}) {
    EXPECT_NE(FindPrometheusAdapterFlag(name), nullptr) << name;
  }
}

TEST(PrometheusAdapterFlagsTest, FoundInEitherSpelling) {
  ASSERT_NE(FindPrometheusAdapterFlag("log-dir"), nullptr);
  EXPECT_EQ(FindPrometheusAdapterFlag("log-dir"), FindPrometheusAdapterFlag("log_dir"));
  EXPECT_EQ(FindPrometheusAdapterFlag("tls_cipher_suites")->effect, FlagEffect::kHonoured);
  EXPECT_EQ(FindPrometheusAdapterFlag("no-such-flag"), nullptr);
}

// docs/migrating.md tells prometheus-adapter users what each of their flags does: every flag of
// the table is there, in the section of its effect, so the two cannot drift apart.
TEST(PrometheusAdapterFlagsTest, MigrationGuideListsEveryFlagInItsSection) {
  std::ifstream file(std::string(MA_SOURCE_DIR) + "/docs/migrating.md");
  ASSERT_TRUE(file.good()) << "docs/migrating.md is missing";
  std::stringstream text;
  text << file.rdbuf();
  const std::string doc = text.str();
  const auto section = [&doc](std::string_view heading) {
    const size_t start = doc.find(heading);
    EXPECT_NE(start, std::string::npos) << heading;
    if (start == std::string::npos) {
      return std::string();
    }
    const size_t end = doc.find("\n### ", start + heading.size());
    return doc.substr(start, end == std::string::npos ? std::string::npos : end - start);
  };
  const std::string honoured = section("### Flags honoured as in prometheus-adapter");
  const std::string changed = section("### Flags honoured with a difference");
  const std::string no_effect = section("### Flags accepted without effect");
  for (const PrometheusAdapterFlag& flag : PrometheusAdapterFlags()) {
    const std::string mention = "`--" + std::string(flag.name) + "`";
    const std::string& where = flag.effect == FlagEffect::kHonoured  ? honoured
                               : flag.effect == FlagEffect::kChanged ? changed
                                                                     : no_effect;
    EXPECT_NE(where.find(mention), std::string::npos)
        << mention << " is missing from its section of docs/migrating.md";
  }
}

}  // namespace
}  // namespace ma::app
