// SPDX-License-Identifier: Apache-2.0
// The tokens of a .npy header, the Python dict literal NumPy writes
// ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), shared by
// the tensor reader (npy.cpp) and the event reader (events_npy.cpp), which
// accept different descr values. A parser derives from it and says how its
// errors read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tspike::detail {

class NpyHeaderLexer {
 protected:
  explicit NpyHeaderLexer(const std::string& text) : s_(text) {}
  virtual ~NpyHeaderLexer() = default;

  // A malformed header: `why` says what is wrong. Throws.
  [[noreturn]] virtual void fail(const std::string& why) const = 0;
  // A shape dimension beyond int64. Throws.
  [[noreturn]] virtual void dimension_too_big() const = 0;

  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  void expect(char c) {
    if (!peek(c)) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool at_end() {
    skip_space();
    return pos_ == s_.size();
  }
  std::string quoted() {
    skip_space();
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) fail("expected a string");
    const char q = s_[pos_++];
    const std::size_t end = s_.find(q, pos_);
    if (end == std::string::npos) fail("unterminated string");
    std::string v = s_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return v;
  }
  // fortran_order's True or False.
  bool boolean() {
    skip_space();
    if (s_.compare(pos_, 4, "True") == 0) return pos_ += 4, true;
    if (s_.compare(pos_, 5, "False") != 0) fail("fortran_order must be True or False");
    pos_ += 5;
    return false;
  }
  // "()", "(3,)", "(2, 3)": non-negative decimal integers (a Python 2 'L'
  // suffix, in old files, is accepted).
  std::vector<int64_t> tuple() {
    std::vector<int64_t> shape;
    expect('(');
    while (!peek(')')) {
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9')
        fail("shape entries must be non-negative integers");
      int64_t v = 0;
      for (; pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9'; ++pos_) {
        const int digit = s_[pos_] - '0';
        if (v > (INT64_MAX - digit) / 10) dimension_too_big();
        v = v * 10 + digit;
      }
      if (pos_ < s_.size() && s_[pos_] == 'L') ++pos_;
      shape.push_back(v);
      if (!peek(')')) expect(',');
    }
    expect(')');
    return shape;
  }

  const std::string& s_;
  std::size_t pos_ = 0;
};

}  // namespace tspike::detail
