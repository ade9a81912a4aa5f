// Accuracy of an output against a reference (usually the fp64 CPU reference).
#pragma once

#include <cstddef>

namespace sageattn {

struct AccuracyMetrics {
  double cosine_similarity = 0;  // <out, ref> / (|out| |ref|)
  double relative_l1 = 0;        // sum |out - ref| / sum |ref|
  double rmse = 0;               // sqrt(mean (out - ref)^2)
  double max_abs_error = 0;
  std::size_t non_finite = 0;    // NaN/Inf elements in out (any makes the comparison fail)
};

AccuracyMetrics compare_outputs(const float* out, const double* ref, std::size_t count);
AccuracyMetrics compare_outputs(const float* out, const float* ref, std::size_t count);

}  // namespace sageattn
