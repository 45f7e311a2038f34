#include "adapter/json/writer.h"

#include <map>
#include <string>

#include "gtest/gtest.h"

namespace ma::json {
namespace {

std::string Quoted(std::string_view text) {
  std::string out;
  AppendQuoted(out, text);
  return out;
}

// The expected literals are what Go's json.Marshal prints for the same string.
TEST(AppendQuotedTest, EscapesAsGoDoes) {
  struct Case {
    std::string text;
    std::string want;
  };
  const Case cases[] = {
      {"", R"("")"},
      {"plain", R"("plain")"},
      {"a\"b\\c", R"("a\"b\\c")"},
      {"\b\f\n\r\t", R"("\b\f\n\r\t")"},
      {std::string("\x00\x01\x1f\x7f", 4), "\"\\u0000\\u0001\\u001f\x7f\""},
      {"<a href=\"x\">&</a>", R"("\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e")"},
      {"/", R"("/")"},
      {"caf\xc3\xa9 \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\""},
      {"\xe2\x80\xa8\xe2\x80\xa9", R"("\u2028\u2029")"},
      {"a\xffz", R"("a\ufffdz")"},
      {"\xc3", R"("\ufffd")"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Quoted(c.text), c.want) << c.text;
  }
}

TEST(WriterTest, PlacesCommasAndColons) {
  Writer writer;
  writer.StartObject();
  writer.Key("kind");
  writer.String("Thing");
  writer.EmptyObject("metadata");
  writer.OptionalString("omitted", "");
  writer.OptionalString("kept", "v");
  writer.Key("items");
  writer.StartArray();
  writer.Int64(-9223372036854775807 - 1);
  writer.Bool(true);
  writer.Null();
  writer.StartArray();
  writer.EndArray();
  writer.StringArray({"a", "b"});
  writer.EndArray();
  writer.Key("labels");
  writer.StringMap(std::map<std::string, std::string>{{"b", "2"}, {"a", "1"}});
  writer.EndObject();
  EXPECT_EQ(std::move(writer).Finish(),
            R"({"kind":"Thing","metadata":{},"kept":"v","items":[-9223372036854775808,true,)"
            R"(null,[],["a","b"]],"labels":{"a":"1","b":"2"}})");
}

TEST(WriterDeathTest, AnUnclosedDocumentIsABug) {
  EXPECT_DEATH(
      {
        Writer writer;
        writer.StartObject();
        std::move(writer).Finish();
      },
      "check failed");
}

}  // namespace
}  // namespace ma::json
