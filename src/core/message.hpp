// Status values with messages built from parts, for the argument checks.
#pragma once

#include <cmath>
#include <sstream>
#include <string>
#include <utility>

#include "sageattn/types.hpp"

namespace sageattn::core {

template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream text;
  (text << ... << parts);
  return text.str();
}

template <class... Parts>
Status invalid_argument(const Parts&... parts) {
  return {StatusCode::kInvalidArgument, concat(parts...)};
}

template <class... Parts>
Status unsupported(const Parts&... parts) {
  return {StatusCode::kUnsupported, concat(parts...)};
}

// Floats in messages: "NaN" and "inf" spelled the way users search for them.
inline std::string float_string(float value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return concat(value);
}

}  // namespace sageattn::core
