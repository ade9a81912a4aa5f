#include "reference_check.hpp"

#include <algorithm>
#include <thread>
#include <vector>

#include "core/validate.hpp"
#include "cpu/cpu_backend.hpp"

namespace sageattn::bench {
namespace {

// A few seconds of fp64 multiply-adds per hardware thread (the reference runs on all of them).
constexpr double kReferenceMacsPerThread = 4e9;
constexpr std::int64_t kMinimumRows = 16;

std::int64_t rows_within_budget(const ProblemShape& shape) {
  const double budget = kReferenceMacsPerThread * std::max(1u, std::thread::hardware_concurrency());
  const double macs_per_row = 2.0 * static_cast<double>(shape.batch * shape.heads) *
                              static_cast<double>(shape.kv_seq) * shape.dim;
  const auto affordable = static_cast<std::int64_t>(budget / macs_per_row);
  return std::clamp(affordable, std::min(kMinimumRows, shape.seq), shape.seq);
}

}  // namespace

Status check_against_reference(const ProblemShape& shape, const HostInputs& inputs,
                               const Options& options, const std::vector<std::uint16_t>& out,
                               ReferenceCheck* check) {
  check->rows_checked = rows_within_budget(shape);
  const std::int64_t first_row = shape.seq - check->rows_checked;
  const int token_axis = shape.layout == Layout::kNHD ? 1 : 2;

  auto view = [&](const std::vector<std::uint16_t>& data, std::array<std::int64_t, 4> dims) {
    return TensorView::contiguous(const_cast<std::uint16_t*>(data.data()), shape.dtype, dims);
  };
  TensorView q_rows = view(inputs.q, shape.q_dims());
  q_rows.data =
      const_cast<std::uint16_t*>(inputs.q.data()) + first_row * q_rows.strides[token_axis];
  q_rows.shape[token_axis] = check->rows_checked;
  Options reference_options = options;
  reference_options.backend = Backend::kCpuReference;
  core::ValidatedCall call;
  if (Status s = core::validate_call(q_rows, view(inputs.k, shape.kv_dims()),
                                     view(inputs.v, shape.kv_dims()), nullptr, nullptr,
                                     reference_options, &call);
      !s.ok()) {
    return s;
  }

  std::vector<double> reference;  // [B, H, rows, D]
  cpu::reference_attention_f64(call.problem, reference, nullptr);

  std::vector<float> produced;
  produced.reserve(reference.size());
  const TensorView full_out = view(out, shape.q_dims());
  const auto& s = full_out.strides;
  for (std::int64_t b = 0; b < shape.batch; ++b) {
    for (std::int64_t h = 0; h < shape.heads; ++h) {
      for (std::int64_t n = first_row; n < shape.seq; ++n) {
        const std::int64_t row = shape.layout == Layout::kNHD ? b * s[0] + n * s[1] + h * s[2]
                                                              : b * s[0] + h * s[1] + n * s[2];
        for (int d = 0; d < shape.dim; ++d) {
          produced.push_back(half_to_float(out[static_cast<std::size_t>(row + d)], shape.dtype));
        }
      }
    }
  }
  check->metrics = compare_outputs(produced.data(), reference.data(), produced.size());
  return {};
}

}  // namespace sageattn::bench
