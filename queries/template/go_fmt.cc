#include "queries/template/go_fmt.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "queries/base/hex.h"
#include "queries/base/strings.h"
#include "queries/base/utf8.h"

namespace ma::tmpl {
namespace {

// A Go rune (any int64) as UTF-8; out-of-range runes become U+FFFD.
void AppendRune(std::string& out, int64_t rune) {
  ::ma::AppendUtf8(out, rune < 0 || rune > 0x10FFFF ? 0xFFFD : static_cast<uint32_t>(rune));
}

// Go's fmt ignores widths and precisions above this ("tooLarge").
constexpr int kMaxFmtNumber = 1000000;

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

// The first `runes` runes of `s`.
std::string_view TruncateRunes(std::string_view s, int runes) {
  size_t i = 0;
  int seen = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (seen == runes) {
        break;
      }
      ++seen;
    }
  }
  return s.substr(0, i);
}

// strconv.QuoteRune for the runes a template can produce.
std::string QuoteRune(int64_t rune) {
  if (rune == '\'') {
    return "'\\''";
  }
  std::string encoded;
  AppendRune(encoded, rune);
  std::string quoted = GoQuote(encoded);  // "..." with Go's escapes
  std::string inner = quoted.substr(1, quoted.size() - 2);
  if (inner == "\\\"") {
    inner = "\"";
  }
  return absl::StrCat("'", inner, "'");
}

struct Flags {
  bool plus = false;
  bool minus = false;
  bool sharp = false;
  bool space = false;
  bool zero = false;
  bool wid_present = false;
  bool prec_present = false;
  int wid = 0;
  int prec = 0;
};

class Printer {
 public:
  explicit Printer(size_t max_bytes) : max_bytes_(max_bytes) {}

  absl::StatusOr<std::string> Finish() {
    if (overflow_ || out_.size() > max_bytes_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("formatted output exceeds ", max_bytes_, " bytes"));
    }
    return std::move(out_);
  }

  void Write(std::string_view s) {
    if (overflow_ || out_.size() + s.size() > max_bytes_) {
      overflow_ = true;
      return;
    }
    out_.append(s);
  }

  void WritePadding(size_t n, char c) {
    if (overflow_ || out_.size() + n > max_bytes_) {
      overflow_ = true;
      return;
    }
    out_.append(n, c);
  }

  // fmt.pad: width counts runes; '0' pads on the left only.
  void Pad(std::string_view s) {
    if (!flags_.wid_present || flags_.wid == 0) {
      Write(s);
      return;
    }
    const size_t runes = RuneCount(s);
    const size_t width = static_cast<size_t>(flags_.wid);
    const size_t padding = width > runes ? width - runes : 0;
    if (flags_.minus) {
      Write(s);
      WritePadding(padding, ' ');
    } else {
      WritePadding(padding, flags_.zero ? '0' : ' ');
      Write(s);
    }
  }

  void PrintArg(const RuntimeValue& v, char verb) {
    if (overflow_) {
      return;
    }
    if (verb == 'T') {
      Pad(v.IsNilOrInvalid() ? "<nil>" : v.TypeName());
      return;
    }
    switch (v.kind) {
      case RuntimeValue::Kind::kInvalid:
      case RuntimeValue::Kind::kNil:
        if (verb == 'v') {
          Pad("<nil>");
        } else {
          BadVerb(v, verb);
        }
        return;
      case RuntimeValue::Kind::kBool:
        if (verb == 'v' || verb == 't') {
          Pad(v.bool_value ? "true" : "false");
        } else {
          BadVerb(v, verb);
        }
        return;
      case RuntimeValue::Kind::kInt:
        FmtInteger(v, verb);
        return;
      case RuntimeValue::Kind::kFloat:
        FmtFloat(v, verb);
        return;
      case RuntimeValue::Kind::kString:
        FmtString(v, verb);
        return;
      case RuntimeValue::Kind::kStrings: {
        Write("[");
        bool first = true;
        for (const auto& s : *v.strings) {
          if (!first) {
            Write(" ");
          }
          first = false;
          PrintArg(RuntimeValue::String(s), verb);
        }
        Write("]");
        return;
      }
      case RuntimeValue::Kind::kMap: {
        Write("map[");
        bool first = true;
        for (const auto& [key, value] : *v.map) {
          if (!first) {
            Write(" ");
          }
          first = false;
          PrintArg(RuntimeValue::String(key), verb);
          Write(":");
          PrintArg(RuntimeValue::String(value), verb);
        }
        Write("]");
        return;
      }
      case RuntimeValue::Kind::kStruct: {
        Write("{");
        bool first = true;
        for (const auto& name : *v.root_fields) {
          if (!first) {
            Write(" ");
          }
          first = false;
          const auto it = v.root->find(name);
          PrintArg(it == v.root->end() ? RuntimeValue::Nil() : RuntimeValue::Borrow(it->second),
                   verb);
        }
        Write("}");
        return;
      }
    }
  }

  void Sprintf(std::string_view format, const std::vector<RuntimeValue>& args) {
    size_t arg_num = 0;
    const size_t end = format.size();
    size_t i = 0;
    while (i < end && !overflow_) {
      const size_t last = i;
      while (i < end && format[i] != '%') {
        ++i;
      }
      Write(format.substr(last, i - last));
      if (i >= end) {
        break;
      }
      ++i;  // '%'
      flags_ = Flags{};
      for (; i < end; ++i) {
        const char c = format[i];
        if (c == '#') {
          flags_.sharp = true;
        } else if (c == '0') {
          flags_.zero = !flags_.minus;
        } else if (c == '+') {
          flags_.plus = true;
        } else if (c == '-') {
          flags_.minus = true;
          flags_.zero = false;
        } else if (c == ' ') {
          flags_.space = true;
        } else {
          break;
        }
      }
      if (i < end && format[i] == '*') {
        ++i;
        flags_.wid_present = IntFromArg(args, arg_num, flags_.wid);
        if (!flags_.wid_present) {
          Write("%!(BADWIDTH)");
        }
        if (flags_.wid < 0) {
          flags_.wid = -flags_.wid;
          flags_.minus = true;
          flags_.zero = false;
        }
      } else {
        flags_.wid_present = ParseNum(format, i, flags_.wid);
      }
      if (i + 1 <= end && i < end && format[i] == '.') {
        ++i;
        if (i < end && format[i] == '*') {
          ++i;
          flags_.prec_present = IntFromArg(args, arg_num, flags_.prec);
          if (flags_.prec < 0) {
            flags_.prec = 0;
            flags_.prec_present = false;
          }
          if (!flags_.prec_present) {
            Write("%!(BADPREC)");
          }
        } else {
          flags_.prec_present = ParseNum(format, i, flags_.prec);
          if (!flags_.prec_present) {
            flags_.prec = 0;
            flags_.prec_present = true;
          }
        }
      }
      if (i >= end) {
        Write("%!(NOVERB)");
        break;
      }
      // Verbs are ASCII; a multi-byte rune is reported whole in the bad-verb text.
      size_t verb_len = 1;
      while (i + verb_len < end &&
             (static_cast<unsigned char>(format[i + verb_len]) & 0xC0) == 0x80) {
        ++verb_len;
      }
      const std::string_view verb_text = format.substr(i, verb_len);
      const char verb = verb_len == 1 ? format[i] : '\x01';
      i += verb_len;
      if (verb == '%') {
        Write("%");
        continue;
      }
      if (arg_num >= args.size()) {
        Write(absl::StrCat("%!", ToAbsl(verb_text), "(MISSING)"));
        continue;
      }
      if (verb_len != 1) {
        bad_verb_text_ = verb_text;
      }
      PrintArg(args[arg_num++], verb);
      bad_verb_text_ = {};
    }
    if (arg_num < args.size()) {
      flags_ = Flags{};
      Write("%!(EXTRA ");
      for (size_t k = arg_num; k < args.size(); ++k) {
        if (k > arg_num) {
          Write(", ");
        }
        if (args[k].IsNilOrInvalid()) {
          Write("<nil>");
        } else {
          Write(args[k].TypeName());
          Write("=");
          PrintArg(args[k], 'v');
        }
      }
      Write(")");
    }
  }

 private:
  static bool TooLarge(int64_t x) { return x > kMaxFmtNumber || x < -kMaxFmtNumber; }

  // Go's parsenum: an absurdly long number swallows the rest of the format.
  static bool ParseNum(std::string_view s, size_t& i, int& num) {
    num = 0;
    bool is_num = false;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (TooLarge(num)) {
        num = 0;
        i = s.size();
        return false;
      }
      num = num * 10 + (s[i] - '0');
      is_num = true;
    }
    return is_num;
  }

  static bool IntFromArg(const std::vector<RuntimeValue>& args, size_t& arg_num, int& num) {
    num = 0;
    if (arg_num >= args.size()) {
      return false;
    }
    const RuntimeValue& arg = args[arg_num++];
    if (arg.kind != RuntimeValue::Kind::kInt || TooLarge(arg.int_value)) {
      return false;
    }
    num = static_cast<int>(arg.int_value);
    return true;
  }

  void BadVerb(const RuntimeValue& v, char verb) {
    Write("%!");
    if (!bad_verb_text_.empty()) {
      Write(bad_verb_text_);
    } else {
      Write(std::string_view(&verb, 1));
    }
    Write("(");
    if (v.IsNilOrInvalid()) {
      Write("<nil>");
    } else {
      Write(v.TypeName());
      Write("=");
      const std::string_view saved = bad_verb_text_;
      bad_verb_text_ = {};
      PrintArg(v, 'v');
      bad_verb_text_ = saved;
    }
    Write(")");
  }

  // Sign, then zero padding up to the width, then digits (fmt.fmtFloat's layout).
  void PadNumber(bool negative, std::string_view body) {
    std::string sign;
    if (negative) {
      sign = "-";
    } else if (flags_.plus) {
      sign = "+";
    } else if (flags_.space) {
      sign = " ";
    }
    if (flags_.zero && flags_.wid_present && !flags_.minus &&
        static_cast<size_t>(flags_.wid) > sign.size() + body.size()) {
      Write(sign);
      WritePadding(static_cast<size_t>(flags_.wid) - sign.size() - body.size(), '0');
      Write(body);
      return;
    }
    const bool saved_zero = flags_.zero;
    flags_.zero = false;
    Pad(absl::StrCat(sign, ToAbsl(body)));
    flags_.zero = saved_zero;
  }

  void FmtInteger(const RuntimeValue& v, char verb) {
    const int64_t value = v.int_value;
    switch (verb) {
      case 'c': {
        std::string s;
        AppendRune(s, value);
        Pad(s);
        return;
      }
      case 'q':
        Pad(QuoteRune(value));
        return;
      case 'U': {
        std::string hex;
        uint64_t u = static_cast<uint64_t>(value);
        do {
          hex.insert(hex.begin(), kUpperHexDigits[u & 0xF]);
          u >>= 4;
        } while (u != 0);
        while (hex.size() < 4) {
          hex.insert(hex.begin(), '0');
        }
        Pad(absl::StrCat("U+", hex));
        return;
      }
      default:
        break;
    }
    int base = 0;
    const char* digits = kLowerHexDigits.data();
    std::string prefix;
    switch (verb) {
      case 'v':
      case 'd':
        base = 10;
        break;
      case 'b':
        base = 2;
        if (flags_.sharp) {
          prefix = "0b";
        }
        break;
      case 'o':
      case 'O':
        base = 8;
        if (verb == 'O') {
          prefix = "0o";
        }
        break;
      case 'x':
        base = 16;
        if (flags_.sharp) {
          prefix = "0x";
        }
        break;
      case 'X':
        base = 16;
        digits = kUpperHexDigits.data();
        if (flags_.sharp) {
          prefix = "0X";
        }
        break;
      default:
        BadVerb(v, verb);
        return;
    }
    const bool negative = value < 0;
    uint64_t u = negative ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
    int prec = 0;
    if (flags_.prec_present) {
      prec = flags_.prec;
      if (prec == 0 && u == 0) {
        const bool saved_zero = flags_.zero;
        flags_.zero = false;
        WritePadding(static_cast<size_t>(flags_.wid_present ? flags_.wid : 0), ' ');
        flags_.zero = saved_zero;
        return;
      }
    } else if (flags_.zero && flags_.wid_present) {
      prec = flags_.wid;
      if (negative || flags_.plus || flags_.space) {
        --prec;
      }
    }
    std::string body;
    do {
      body.insert(body.begin(), digits[u % static_cast<uint64_t>(base)]);
      u /= static_cast<uint64_t>(base);
    } while (u != 0);
    if (static_cast<int>(body.size()) < prec) {
      body.insert(0, static_cast<size_t>(prec) - body.size(), '0');
    }
    if (verb == 'o' && flags_.sharp && body[0] != '0') {
      prefix = "0";
    }
    std::string sign;
    if (negative) {
      sign = "-";
    } else if (flags_.plus) {
      sign = "+";
    } else if (flags_.space) {
      sign = " ";
    }
    const bool saved_zero = flags_.zero;
    flags_.zero = false;
    Pad(absl::StrCat(sign, prefix, body));
    flags_.zero = saved_zero;
  }

  // strconv.FormatFloat(f, 'g', -1, 64): the shortest digits that round-trip, in %e form when
  // the exponent is < -4 or >= 6 (Go's threshold for the shortest form, not C's precision).
  static std::string ShortestG(double f, bool upper) {
    char buf[64];
    const auto result = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
    const std::string_view sci(buf, static_cast<size_t>(result.ptr - buf));
    const size_t e = sci.find('e');
    std::string digits;
    for (char c : sci.substr(0, e)) {
      if (c != '.') {
        digits += c;
      }
    }
    const int exp = std::atoi(std::string(sci.substr(e + 1)).c_str());
    std::string out;
    if (exp < -4 || exp >= 6) {
      out += digits[0];
      if (digits.size() > 1) {
        out += '.';
        out += digits.substr(1);
      }
      out += upper ? 'E' : 'e';
      out += exp < 0 ? '-' : '+';
      const int abs_exp = exp < 0 ? -exp : exp;
      if (abs_exp < 10) {
        out += '0';
      }
      out += std::to_string(abs_exp);
      return out;
    }
    if (exp < 0) {
      return absl::StrCat("0.", std::string(static_cast<size_t>(-exp - 1), '0'), digits);
    }
    const size_t int_digits = static_cast<size_t>(exp) + 1;
    if (digits.size() <= int_digits) {
      return digits + std::string(int_digits - digits.size(), '0');
    }
    return absl::StrCat(digits.substr(0, int_digits), ".", digits.substr(int_digits));
  }

  void FmtFloat(const RuntimeValue& v, char verb) {
    const double f = v.float_value;
    const bool negative = std::signbit(f);
    const double a = std::fabs(f);
    if (std::isnan(f) || std::isinf(f)) {
      if (verb != 'v' && verb != 'g' && verb != 'G' && verb != 'e' && verb != 'E' && verb != 'f' &&
          verb != 'F') {
        BadVerb(v, verb);
        return;
      }
      const bool saved_zero = flags_.zero;
      flags_.zero = false;
      Pad(std::isnan(f) ? (flags_.plus ? "+NaN" : "NaN") : (negative ? "-Inf" : "+Inf"));
      flags_.zero = saved_zero;
      return;
    }
    const int prec = std::min(flags_.prec, kMaxFmtNumber);
    char buf[512];
    std::string body;
    switch (verb) {
      case 'v':
      case 'g':
      case 'G':
        if (verb == 'v' || !flags_.prec_present) {
          body = ShortestG(a, verb == 'G');
        } else if (verb == 'g') {
          body = Format(buf, sizeof(buf), "%.*g", prec, a);
        } else {
          body = Format(buf, sizeof(buf), "%.*G", prec, a);
        }
        break;
      case 'e':
        body = Format(buf, sizeof(buf), "%.*e", flags_.prec_present ? prec : 6, a);
        break;
      case 'E':
        body = Format(buf, sizeof(buf), "%.*E", flags_.prec_present ? prec : 6, a);
        break;
      case 'f':
      case 'F':
        body = Format(buf, sizeof(buf), "%.*f", flags_.prec_present ? prec : 6, a);
        break;
      default:
        BadVerb(v, verb);
        return;
    }
    PadNumber(negative, body);
  }

  // snprintf with a literal format chosen by the caller; grows past `buf` for huge precisions.
  static std::string Format(char* buf, size_t size, const char* format, int prec, double a) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    const int n = std::snprintf(buf, size, format, prec, a);
    if (n < 0) {
      return "";
    }
    if (static_cast<size_t>(n) < size) {
      return std::string(buf, static_cast<size_t>(n));
    }
    std::string big(static_cast<size_t>(n) + 1, '\0');
    std::snprintf(big.data(), big.size(), format, prec, a);
#pragma GCC diagnostic pop
    big.resize(static_cast<size_t>(n));
    return big;
  }

  void FmtString(const RuntimeValue& v, char verb) {
    std::string_view s = v.string_value;
    if (flags_.prec_present) {
      s = TruncateRunes(s, flags_.prec);
    }
    switch (verb) {
      case 'v':
      case 's':
        Pad(s);
        return;
      case 'q':
        if (flags_.sharp && s.find('`') == std::string_view::npos &&
            s.find('\n') == std::string_view::npos) {
          Pad(absl::StrCat("`", ToAbsl(s), "`"));
        } else {
          Pad(GoQuote(s));
        }
        return;
      case 'x':
      case 'X': {
        const char* digits = verb == 'x' ? kLowerHexDigits.data() : kUpperHexDigits.data();
        std::string hex;
        if (flags_.sharp && !s.empty()) {
          hex += verb == 'x' ? "0x" : "0X";
        }
        for (size_t i = 0; i < s.size(); ++i) {
          if (flags_.space && i > 0) {
            hex += ' ';
            if (flags_.sharp) {
              hex += verb == 'x' ? "0x" : "0X";
            }
          }
          const auto c = static_cast<unsigned char>(s[i]);
          hex += digits[c >> 4];
          hex += digits[c & 0xF];
        }
        Pad(hex);
        return;
      }
      default:
        BadVerb(v, verb);
        return;
    }
  }

  size_t max_bytes_;
  std::string out_;
  bool overflow_ = false;
  Flags flags_;
  std::string_view bad_verb_text_;
};

bool IsStringArg(const RuntimeValue& v) { return v.kind == RuntimeValue::Kind::kString; }

}  // namespace

std::string FormatValue(const RuntimeValue& value) {
  if (value.kind == RuntimeValue::Kind::kString) {
    return value.string_value;
  }
  Printer printer(static_cast<size_t>(-1));
  printer.PrintArg(value, 'v');
  return *printer.Finish();
}

absl::StatusOr<std::string> Sprint(const std::vector<RuntimeValue>& args, size_t max_bytes) {
  Printer printer(max_bytes);
  for (size_t i = 0; i < args.size(); ++i) {
    // Go adds a space between operands when neither is a string.
    if (i > 0 && !IsStringArg(args[i]) && !IsStringArg(args[i - 1])) {
      printer.Write(" ");
    }
    printer.PrintArg(args[i], 'v');
  }
  return printer.Finish();
}

absl::StatusOr<std::string> Sprintln(const std::vector<RuntimeValue>& args, size_t max_bytes) {
  Printer printer(max_bytes);
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) {
      printer.Write(" ");
    }
    printer.PrintArg(args[i], 'v');
  }
  printer.Write("\n");
  return printer.Finish();
}

absl::StatusOr<std::string> Sprintf(std::string_view format, const std::vector<RuntimeValue>& args,
                                    size_t max_bytes) {
  Printer printer(max_bytes);
  printer.Sprintf(format, args);
  return printer.Finish();
}

}  // namespace ma::tmpl
