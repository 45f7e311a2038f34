#include "adapter/plugin/command_line.h"

#include "gtest/gtest.h"

namespace ma::plugin {
namespace {

TEST(ParseArgsTest, FlagsAnywhereInEveryKubectlSpelling) {
  absl::StatusOr<PluginArgs> args =
      ParseArgs({"get", "-nshop", "external", "--kubeconfig", "/k", "queue_depth", "-l",
                 "queue=orders", "--context=ctx", "-o=yaml"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->command, "get");
  EXPECT_EQ(args->positional, (std::vector<std::string>{"external", "queue_depth"}));
  EXPECT_EQ(args->namespace_name, "shop");
  EXPECT_EQ(args->kubeconfig, "/k");
  EXPECT_EQ(args->context, "ctx");
  EXPECT_EQ(args->selector, "queue=orders");
  EXPECT_EQ(args->output, "yaml");
}

TEST(ParseArgsTest, HelpForACommand) {
  absl::StatusOr<PluginArgs> args = ParseArgs({"hpa", "--help"});
  ASSERT_TRUE(args.ok());
  EXPECT_TRUE(args->help);
  EXPECT_EQ(args->command, "hpa");
  args = ParseArgs({"help", "get"});
  ASSERT_TRUE(args.ok());
  EXPECT_TRUE(args->help);
  EXPECT_EQ(args->command, "get");
  EXPECT_NE(HelpText("get").find("get custom RESOURCE/NAME METRIC"), std::string::npos);
}

TEST(ParseArgsTest, BadInputIsAClearError) {
  EXPECT_EQ(ParseArgs({"status", "--frobnicate"}).status().message(), "unknown flag: --frobnicate");
  EXPECT_EQ(ParseArgs({"get", "-n"}).status().message(), "flag needs an argument: -n");
  EXPECT_EQ(ParseArgs({"explode"}).status().message(),
            "unknown command \"explode\" (status, list, get, hpa)");
  EXPECT_FALSE(ParseArgs({"get", "-o", "wide"}).ok());
  EXPECT_FALSE(ParseArgs({"get", "--request-timeout=0"}).ok());
}

TEST(ParseArgsTest, DoubleDashEndsFlags) {
  absl::StatusOr<PluginArgs> args = ParseArgs({"get", "--", "external", "-weird"});
  ASSERT_TRUE(args.ok());
  EXPECT_EQ(args->positional, (std::vector<std::string>{"external", "-weird"}));
}

}  // namespace
}  // namespace ma::plugin
