#include "adapter/prometheus/series_stream_decoder.h"

// A hand-written tokenizer: RapidJSON's reader pulls from a stream and would have to block the
// curl worker thread until the next chunk arrived. This one keeps its whole state between chunks.

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <numeric>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "adapter/prometheus/response_decoder.h"
#include "queries/base/check.h"
#include "queries/base/hex.h"
#include "queries/base/strings.h"
#include "queries/base/utf8.h"

namespace ma::prometheus {
namespace {

constexpr std::string_view kNameLabel = "__name__";
constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD, as Go decodes bad \u

// Where the tokenizer is: what the next byte may be.
enum class Lex : uint8_t {
  kValue,       // a value
  kValueOrEnd,  // after '[': a value or ']'
  kKeyOrEnd,    // after '{': a key or '}'
  kKey,         // after ',' in an object
  kColon,
  kCommaOrEnd,  // after a value inside a container
  kString,
  kEscape,   // after '\' in a string
  kUnicode,  // inside \uXXXX
  kUtf8,     // inside a multi-byte UTF-8 sequence
  kNumber,
  kLiteral,  // inside true, false or null
  kDone,     // after the root value: whitespace only
};

enum class Num : uint8_t { kAfterMinus, kZero, kInt, kFracStart, kFrac, kExpStart, kExpSign, kExp };

// What a container is to the envelope.
enum class Role : uint8_t { kEnvelope, kData, kSeries, kIgnored };

// What the value about to start is to the envelope.
enum class Slot : uint8_t {
  kRoot,
  kStatus,
  kErrorType,
  kError,
  kData,
  kSeries,
  kName,
  kLabelValue,
  kIgnored
};

// A field of the envelope: not there, there with the expected type, there with another type.
enum class Field : uint8_t { kAbsent, kExpected, kOther };

// Bytes that a string may hold as they are: printable ASCII but the quote and the backslash.
constexpr std::array<bool, 256> kPlainStringBytes = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) {
    plain[c] = c != '"' && c != '\\';
  }
  return plain;
}();

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Length of the UTF-8 sequence `lead` starts, 0 when it starts none.
size_t Utf8Length(unsigned char lead) {
  if (lead >= 0xC2 && lead <= 0xDF) {
    return 2;
  }
  if (lead >= 0xE0 && lead <= 0xEF) {
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    return 4;
  }
  return 0;
}

absl::Status Malformed(std::string_view what) {
  return absl::InternalError(Cat("malformed Prometheus response: ", what));
}

absl::Status Undecodable(std::string_view why) {
  return absl::InternalError(Cat("bad_response: undecodable response: ", why));
}

}  // namespace

class SeriesStreamDecoder::Impl {
 public:
  explicit Impl(SeriesDecoderLimits limits) : limits_(limits) {}
  absl::Status Feed(std::string_view chunk);
  absl::StatusOr<std::vector<model::Series>> Finish();
  size_t series_count() const { return series_count_; }

 private:
  struct Frame {
    bool object;
    Role role;
  };
  struct Shape {
    uint32_t name;
    std::vector<uint32_t> labels;  // sorted ids
    size_t last_series;            // ordinal of its last series
    size_t count = 1;              // series of this shape
  };

  uint64_t Offset(const char* at) const {
    return consumed_ + static_cast<uint64_t>(at - chunk_begin_);
  }
  void Fail(const char* at, std::string_view what) {
    error_ = Undecodable(Cat(what, " at byte offset ", Offset(at)));
  }
  void Exhausted(std::string_view what) { error_ = absl::ResourceExhaustedError(ToAbsl(what)); }
  bool DataWanted() const {
    return data_error_.ok() && !(status_ == Field::kExpected && status_text_ == "error");
  }
  void DataError(const char* at, std::string_view what);

  const char* Structural(const char* p);
  const char* BeginValue(const char* p);
  const char* ScanString(const char* p, const char* end);
  const char* Escape(const char* p);
  const char* Unicode(const char* p);
  const char* Utf8(const char* p);
  const char* Number(const char* p);
  const char* Literal(const char* p);

  Slot NextSlot() const;
  void Push(const char* at, bool object, Role role);
  void EndContainer();
  void EndValue() { lex_ = stack_.empty() ? Lex::kDone : Lex::kCommaOrEnd; }
  void EndString();
  void EndKey();
  void Keep(std::string_view text);
  void FlushHighSurrogate();
  void CommitSeries();
  uint32_t Intern(std::string_view name);

  const SeriesDecoderLimits limits_;
  absl::Status error_;
  bool finished_ = false;
  uint64_t consumed_ = 0;  // bytes of earlier chunks
  const char* chunk_begin_ = nullptr;

  // Tokenizer.
  Lex lex_ = Lex::kValue;
  std::vector<Frame> stack_;
  Num num_ = Num::kInt;
  std::string_view literal_;
  size_t literal_pos_ = 0;
  bool in_key_ = false;
  bool capture_ = false;  // whether the current string's text is kept in text_
  std::string text_;
  Slot string_slot_ = Slot::kIgnored;
  Slot key_slot_ = Slot::kIgnored;  // the slot of the value after the last key
  uint32_t hex_ = 0;
  int hex_digits_ = 0;
  bool high_surrogate_pending_ = false;
  uint32_t high_surrogate_ = 0;
  char utf8_[4] = {};
  size_t utf8_length_ = 0;
  size_t utf8_have_ = 0;

  // Envelope; the first occurrence of a field counts, as with a DOM's FindMember.
  bool status_key_seen_ = false;
  bool error_type_key_seen_ = false;
  bool error_key_seen_ = false;
  bool data_key_seen_ = false;
  Field status_ = Field::kAbsent;
  Field data_ = Field::kAbsent;
  std::string status_text_;
  std::string error_type_;
  std::string error_text_;
  // A malformed series: reported at Finish unless the envelope turns out to be an error.
  absl::Status data_error_;

  // Series and their shapes.
  size_t series_count_ = 0;
  size_t labels_in_series_ = 0;
  std::string series_name_;
  std::vector<uint32_t> series_labels_;    // ids in the order of the object
  std::vector<uint32_t> previous_labels_;  // the same for the series before
  std::string shape_key_;
  std::deque<std::string> names_;  // by id; a deque keeps the views in ids_ valid
  absl::flat_hash_map<absl::string_view, uint32_t> ids_;
  size_t name_bytes_ = 0;
  std::vector<Shape> shapes_;
  absl::flat_hash_map<std::string, uint32_t> shape_index_;
};

absl::Status SeriesStreamDecoder::Impl::Feed(std::string_view chunk) {
  MA_CHECK(!finished_);
  if (!error_.ok()) {
    return error_;
  }
  chunk_begin_ = chunk.data();
  const char* p = chunk.data();
  const char* const end = p + chunk.size();
  while (p < end && error_.ok()) {
    switch (lex_) {
      case Lex::kString:
        p = ScanString(p, end);
        break;
      case Lex::kEscape:
        p = Escape(p);
        break;
      case Lex::kUnicode:
        p = Unicode(p);
        break;
      case Lex::kUtf8:
        p = Utf8(p);
        break;
      case Lex::kNumber:
        p = Number(p);
        break;
      case Lex::kLiteral:
        p = Literal(p);
        break;
      default:
        p = IsSpace(*p) ? p + 1 : Structural(p);
        break;
    }
  }
  consumed_ += chunk.size();
  return error_;
}

const char* SeriesStreamDecoder::Impl::Structural(const char* p) {
  const char c = *p;
  switch (lex_) {
    case Lex::kValue:
      return BeginValue(p);
    case Lex::kValueOrEnd:
      if (c == ']') {
        EndContainer();
        return p + 1;
      }
      return BeginValue(p);
    case Lex::kKeyOrEnd:
      if (c == '}') {
        EndContainer();
        return p + 1;
      }
      [[fallthrough]];
    case Lex::kKey:
      if (c != '"') {
        Fail(p, "expected a string key");
        return p;
      }
      in_key_ = true;
      text_.clear();
      capture_ = stack_.back().role == Role::kEnvelope ||
                 (stack_.back().role == Role::kSeries && DataWanted());
      lex_ = Lex::kString;
      return p + 1;
    case Lex::kColon:
      if (c != ':') {
        Fail(p, "expected ':'");
        return p;
      }
      lex_ = Lex::kValue;
      return p + 1;
    case Lex::kCommaOrEnd: {
      const bool object = stack_.back().object;
      if (c == ',') {
        lex_ = object ? Lex::kKey : Lex::kValue;
        return p + 1;
      }
      if (c == (object ? '}' : ']')) {
        EndContainer();
        return p + 1;
      }
      Fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
      return p;
    }
    case Lex::kDone:
      Fail(p, "data after the JSON value");
      return p;
    default:
      MA_CHECK(false);
      return p;
  }
}

Slot SeriesStreamDecoder::Impl::NextSlot() const {
  if (stack_.empty()) {
    return Slot::kRoot;
  }
  const Frame& top = stack_.back();
  if (top.object) {
    return key_slot_;
  }
  return top.role == Role::kData && DataWanted() ? Slot::kSeries : Slot::kIgnored;
}

void SeriesStreamDecoder::Impl::DataError(const char* at, std::string_view what) {
  if (!data_error_.ok()) {
    return;
  }
  data_error_ = Malformed(Cat(what, " (byte offset ", Offset(at), ")"));
  if (status_ == Field::kExpected && status_text_ == "success") {
    error_ = data_error_;
  }
}

const char* SeriesStreamDecoder::Impl::BeginValue(const char* p) {
  const Slot slot = NextSlot();
  const char c = *p;
  if (std::string_view("{[\"-tfn").find(c) == std::string_view::npos && !IsDigit(c)) {
    Fail(p, "expected a value");
    return p;
  }
  if (slot == Slot::kRoot && c != '{') {
    Fail(p, "not a JSON object");
    return p;
  }
  if (slot == Slot::kSeries && ++series_count_ > limits_.max_series) {
    Exhausted(Cat("series listing returned more than ", limits_.max_series,
                  " series; the limit is ", limits_.max_series));
    return p;
  }
  const bool is_string = c == '"';
  const bool is_object = c == '{';
  switch (slot) {
    case Slot::kStatus:
      status_ = is_string ? Field::kExpected : Field::kOther;
      break;
    case Slot::kData:
      data_ = c == '[' ? Field::kExpected : Field::kOther;
      break;
    case Slot::kSeries:
      if (!is_object) {
        DataError(p, "labels are not an object");
      }
      break;
    case Slot::kName:
    case Slot::kLabelValue:
      if (!is_string) {
        DataError(p, "a label value is not a string");
      }
      break;
    default:
      break;
  }
  if (!error_.ok()) {
    return p;
  }
  switch (c) {
    case '{':
    case '[': {
      Role role = Role::kIgnored;
      if (slot == Slot::kRoot) {
        role = Role::kEnvelope;
      } else if (slot == Slot::kData && c == '[') {
        role = Role::kData;
      } else if (slot == Slot::kSeries && is_object && DataWanted()) {
        role = Role::kSeries;
        labels_in_series_ = 0;
        series_name_.clear();
        series_labels_.clear();
      }
      Push(p, is_object, role);
      if (error_.ok()) {
        lex_ = is_object ? Lex::kKeyOrEnd : Lex::kValueOrEnd;
      }
      return p + 1;
    }
    case '"':
      in_key_ = false;
      string_slot_ = slot;
      capture_ = slot == Slot::kStatus || slot == Slot::kErrorType || slot == Slot::kError ||
                 (slot == Slot::kName && DataWanted());
      text_.clear();
      lex_ = Lex::kString;
      return p + 1;
    case '-':
      num_ = Num::kAfterMinus;
      lex_ = Lex::kNumber;
      return p + 1;
    case 't':
    case 'f':
    case 'n':
      literal_ = c == 't' ? "true" : c == 'f' ? "false" : "null";
      literal_pos_ = 1;
      lex_ = Lex::kLiteral;
      return p + 1;
    default:
      num_ = c == '0' ? Num::kZero : Num::kInt;
      lex_ = Lex::kNumber;
      return p + 1;
  }
}

void SeriesStreamDecoder::Impl::Push(const char* at, bool object, Role role) {
  if (stack_.size() >= static_cast<size_t>(kMaxJsonDepth)) {
    Fail(at, Cat("JSON nested deeper than ", kMaxJsonDepth, " levels"));
    return;
  }
  stack_.push_back({object, role});
}

void SeriesStreamDecoder::Impl::EndContainer() {
  const Frame top = stack_.back();
  stack_.pop_back();
  if (top.role == Role::kSeries && DataWanted()) {
    CommitSeries();
  }
  EndValue();
}

const char* SeriesStreamDecoder::Impl::ScanString(const char* p, const char* end) {
  const char* run = p;
  while (p < end) {
    const auto c = static_cast<unsigned char>(*p);
    if (kPlainStringBytes[c]) {
      ++p;
      continue;
    }
    Keep(std::string_view(run, static_cast<size_t>(p - run)));
    if (c == '"') {
      FlushHighSurrogate();
      EndString();
      return p + 1;
    }
    if (c == '\\') {
      lex_ = Lex::kEscape;
      return p + 1;
    }
    if (c < 0x20) {
      Fail(p, "control character in a string");
      return p;
    }
    utf8_length_ = Utf8Length(c);
    if (utf8_length_ == 0) {
      Fail(p, "invalid UTF-8");
      return p;
    }
    utf8_[0] = static_cast<char>(c);
    utf8_have_ = 1;
    lex_ = Lex::kUtf8;
    return p + 1;
  }
  Keep(std::string_view(run, static_cast<size_t>(p - run)));
  return p;
}

const char* SeriesStreamDecoder::Impl::Escape(const char* p) {
  char decoded = 0;
  switch (*p) {
    case '"':
    case '\\':
    case '/':
      decoded = *p;
      break;
    case 'b':
      decoded = '\b';
      break;
    case 'f':
      decoded = '\f';
      break;
    case 'n':
      decoded = '\n';
      break;
    case 'r':
      decoded = '\r';
      break;
    case 't':
      decoded = '\t';
      break;
    case 'u':
      hex_ = 0;
      hex_digits_ = 0;
      lex_ = Lex::kUnicode;
      return p + 1;
    default:
      Fail(p, "invalid escape in a string");
      return p;
  }
  Keep(std::string_view(&decoded, 1));
  lex_ = Lex::kString;
  return p + 1;
}

const char* SeriesStreamDecoder::Impl::Unicode(const char* p) {
  const int digit = HexDigitValue(*p);
  if (digit < 0) {
    Fail(p, "invalid \\u escape");
    return p;
  }
  hex_ = hex_ * 16 + static_cast<uint32_t>(digit);
  if (++hex_digits_ < 4) {
    return p + 1;
  }
  lex_ = Lex::kString;
  uint32_t cp = hex_;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    // A high surrogate waits for its low half, which may follow in the next \u escape.
    FlushHighSurrogate();
    high_surrogate_pending_ = true;
    high_surrogate_ = cp;
    return p + 1;
  }
  if (cp >= 0xDC00 && cp <= 0xDFFF && high_surrogate_pending_) {
    high_surrogate_pending_ = false;
    cp = 0x10000 + ((high_surrogate_ - 0xD800) << 10) + (cp - 0xDC00);
  }
  std::string encoded;
  AppendUtf8(encoded, cp);  // a lone low surrogate becomes U+FFFD
  Keep(encoded);
  return p + 1;
}

const char* SeriesStreamDecoder::Impl::Utf8(const char* p) {
  const auto c = static_cast<unsigned char>(*p);
  if ((c & 0xC0u) != 0x80u) {
    Fail(p, "invalid UTF-8");
    return p;
  }
  utf8_[utf8_have_++] = static_cast<char>(c);
  if (utf8_have_ < utf8_length_) {
    return p + 1;
  }
  const std::string_view sequence(utf8_, utf8_length_);
  uint32_t cp = 0;
  if (DecodeUtf8(sequence, 0, cp) != utf8_length_) {
    Fail(p, "invalid UTF-8");
    return p;
  }
  Keep(sequence);
  lex_ = Lex::kString;
  return p + 1;
}

const char* SeriesStreamDecoder::Impl::Number(const char* p) {
  const char c = *p;
  const bool digit = IsDigit(c);
  const bool exponent = c == 'e' || c == 'E';
  switch (num_) {
    case Num::kAfterMinus:
      if (!digit) {
        Fail(p, "expected a digit");
        return p;
      }
      num_ = c == '0' ? Num::kZero : Num::kInt;
      return p + 1;
    case Num::kZero:
    case Num::kInt:
      if (digit && num_ == Num::kInt) {
        return p + 1;
      }
      if (c == '.') {
        num_ = Num::kFracStart;
        return p + 1;
      }
      if (exponent) {
        num_ = Num::kExpStart;
        return p + 1;
      }
      break;
    case Num::kFracStart:
    case Num::kExpSign:
      if (!digit) {
        Fail(p, "expected a digit");
        return p;
      }
      num_ = num_ == Num::kFracStart ? Num::kFrac : Num::kExp;
      return p + 1;
    case Num::kFrac:
      if (digit) {
        return p + 1;
      }
      if (exponent) {
        num_ = Num::kExpStart;
        return p + 1;
      }
      break;
    case Num::kExpStart:
      if (c == '+' || c == '-') {
        num_ = Num::kExpSign;
        return p + 1;
      }
      if (!digit) {
        Fail(p, "expected a digit");
        return p;
      }
      num_ = Num::kExp;
      return p + 1;
    case Num::kExp:
      if (digit) {
        return p + 1;
      }
      break;
  }
  // The number ended before this byte, which belongs to what follows.
  EndValue();
  return p;
}

const char* SeriesStreamDecoder::Impl::Literal(const char* p) {
  if (*p != literal_[literal_pos_]) {
    Fail(p, "invalid literal");
    return p;
  }
  if (++literal_pos_ == literal_.size()) {
    EndValue();
  }
  return p + 1;
}

void SeriesStreamDecoder::Impl::Keep(std::string_view text) {
  if (text.empty()) {
    return;
  }
  FlushHighSurrogate();
  if (!capture_) {
    return;
  }
  if (text_.size() + text.size() > limits_.max_kept_string_bytes) {
    Exhausted(Cat("a name or envelope string in the series listing is longer than ",
                  limits_.max_kept_string_bytes, " bytes"));
    return;
  }
  text_.append(text);
}

void SeriesStreamDecoder::Impl::FlushHighSurrogate() {
  if (high_surrogate_pending_) {
    high_surrogate_pending_ = false;
    Keep(kReplacementChar);
  }
}

void SeriesStreamDecoder::Impl::EndString() {
  if (!error_.ok()) {
    return;
  }
  if (in_key_) {
    EndKey();
    lex_ = Lex::kColon;
    return;
  }
  switch (string_slot_) {
    case Slot::kStatus:
      status_text_ = text_;
      if (status_text_ == "success" && !data_error_.ok()) {
        error_ = data_error_;
      }
      break;
    case Slot::kErrorType:
      error_type_ = text_;
      break;
    case Slot::kError:
      error_text_ = text_;
      break;
    case Slot::kName:
      series_name_ = text_;
      break;
    default:
      break;
  }
  EndValue();
}

void SeriesStreamDecoder::Impl::EndKey() {
  key_slot_ = Slot::kIgnored;
  const Role role = stack_.back().role;
  if (role == Role::kEnvelope) {
    const auto first = [&](std::string_view name, bool& seen) {
      if (text_ != name || seen) {
        return false;
      }
      seen = true;
      return true;
    };
    if (first("status", status_key_seen_)) {
      key_slot_ = Slot::kStatus;
    } else if (first("errorType", error_type_key_seen_)) {
      key_slot_ = Slot::kErrorType;
    } else if (first("error", error_key_seen_)) {
      key_slot_ = Slot::kError;
    } else if (first("data", data_key_seen_)) {
      key_slot_ = Slot::kData;
    }
    return;
  }
  if (role != Role::kSeries || !DataWanted()) {
    return;
  }
  if (++labels_in_series_ > limits_.max_labels_per_series) {
    Exhausted(Cat("a series has more than ", limits_.max_labels_per_series,
                  " labels; the limit is ", limits_.max_labels_per_series));
    return;
  }
  if (text_ == kNameLabel) {
    key_slot_ = Slot::kName;
    return;
  }
  // Series of a listing mostly repeat the label names of the one before, in the same order:
  // comparing with that name is cheaper than hashing.
  const size_t position = series_labels_.size();
  uint32_t id = 0;
  if (position < previous_labels_.size() && names_[previous_labels_[position]] == text_) {
    id = previous_labels_[position];
  } else {
    id = Intern(text_);
    if (!error_.ok()) {
      return;
    }
  }
  series_labels_.push_back(id);
  key_slot_ = Slot::kLabelValue;
}

uint32_t SeriesStreamDecoder::Impl::Intern(std::string_view name) {
  if (const auto it = ids_.find(ToAbsl(name)); it != ids_.end()) {
    return it->second;
  }
  if (name_bytes_ + name.size() > limits_.max_name_bytes) {
    Exhausted(
        Cat("the distinct names of the series listing exceed ", limits_.max_name_bytes, " bytes"));
    return 0;
  }
  name_bytes_ += name.size();
  const auto id = static_cast<uint32_t>(names_.size());
  names_.emplace_back(name);
  ids_.emplace(ToAbsl(names_.back()), id);
  return id;
}

void SeriesStreamDecoder::Impl::CommitSeries() {
  // A series without __name__ gets the empty name, as the DOM decoder gives it.
  const uint32_t name = Intern(series_name_);
  if (!error_.ok()) {
    return;
  }
  previous_labels_ = series_labels_;
  // Duplicate label names in one object count once, as they would in a map.
  std::sort(series_labels_.begin(), series_labels_.end());
  series_labels_.erase(std::unique(series_labels_.begin(), series_labels_.end()),
                       series_labels_.end());
  shape_key_.clear();
  const auto append_id = [&](uint32_t id) {
    shape_key_.append(reinterpret_cast<const char*>(&id), sizeof(id));
  };
  append_id(name);
  for (const uint32_t id : series_labels_) {
    append_id(id);
  }
  if (const auto it = shape_index_.find(ToAbsl(shape_key_)); it != shape_index_.end()) {
    Shape& shape = shapes_[it->second];
    shape.last_series = series_count_;
    ++shape.count;
    return;
  }
  if (shapes_.size() >= limits_.max_shapes) {
    Exhausted(Cat("the series listing has more than ", limits_.max_shapes,
                  " distinct (metric name, label names) shapes; the limit is ",
                  limits_.max_shapes));
    return;
  }
  shape_index_.emplace(shape_key_, static_cast<uint32_t>(shapes_.size()));
  shapes_.push_back({name, series_labels_, series_count_});
}

absl::StatusOr<std::vector<model::Series>> SeriesStreamDecoder::Impl::Finish() {
  MA_CHECK(!finished_);
  finished_ = true;
  if (!error_.ok()) {
    return error_;
  }
  if (lex_ != Lex::kDone) {
    return Undecodable(Cat("the body ends inside the JSON value at byte offset ", consumed_));
  }
  if (status_ != Field::kExpected) {
    return Undecodable("no status field");
  }
  if (status_text_ == "error") {
    return ApiErrorStatus(error_type_.empty() ? "bad_response" : error_type_, error_text_);
  }
  if (status_text_ != "success") {
    return Undecodable(Cat("status ", GoQuote(std::string_view(status_text_).substr(0, 64))));
  }
  if (data_ == Field::kAbsent) {
    return Malformed("success without data");
  }
  if (data_ == Field::kOther) {
    return Malformed("series data is not an array");
  }
  if (!data_error_.ok()) {
    return data_error_;
  }
  std::vector<uint32_t> order(shapes_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return shapes_[a].last_series < shapes_[b].last_series;
  });
  std::vector<model::Series> out;
  out.reserve(shapes_.size());
  for (const uint32_t index : order) {
    const Shape& shape = shapes_[index];
    model::Series series;
    series.name = names_[shape.name];
    series.count = shape.count;
    for (const uint32_t label : shape.labels) {
      series.labels.emplace(names_[label], std::string());
    }
    out.push_back(std::move(series));
  }
  return out;
}

SeriesStreamDecoder::SeriesStreamDecoder(SeriesDecoderLimits limits)
    : impl_(std::make_unique<Impl>(limits)) {}
SeriesStreamDecoder::~SeriesStreamDecoder() = default;

absl::Status SeriesStreamDecoder::Feed(std::string_view chunk) { return impl_->Feed(chunk); }

absl::StatusOr<std::vector<model::Series>> SeriesStreamDecoder::Finish() { return impl_->Finish(); }

size_t SeriesStreamDecoder::series_count() const { return impl_->series_count(); }

}  // namespace ma::prometheus
