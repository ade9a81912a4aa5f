#include "cpu/tensor_io.hpp"

#include "cpu/half_convert.hpp"

namespace sageattn::cpu {
namespace {

float element_to_float(const void* base, DType dtype, std::int64_t index) {
  switch (dtype) {
    case DType::kFloat16:
      return fp16_to_float(static_cast<const std::uint16_t*>(base)[index]);
    case DType::kBFloat16:
      return bf16_to_float(static_cast<const std::uint16_t*>(base)[index]);
    default:
      return static_cast<const float*>(base)[index];
  }
}

void store_element(void* base, DType dtype, std::int64_t index, float value) {
  switch (dtype) {
    case DType::kFloat16:
      static_cast<std::uint16_t*>(base)[index] = float_to_fp16(value);
      break;
    case DType::kBFloat16:
      static_cast<std::uint16_t*>(base)[index] = float_to_bf16(value);
      break;
    default:
      static_cast<float*>(base)[index] = value;
  }
}

template <typename T>
void load_tokens_as(const TensorSlice& slice, TokenRange range, T* dst) {
  for (std::int64_t n = 0; n < range.count; ++n) {
    const std::int64_t row = slice.strides.offset(range.batch, range.head, range.first + n);
    T* out = dst + n * slice.head_dim;
    for (int d = 0; d < slice.head_dim; ++d) {
      out[d] = static_cast<T>(element_to_float(slice.data, slice.dtype, row + d));
    }
  }
}

template <typename T>
void store_output_as(const core::AttentionProblem& p, TokenRange range, const T* src) {
  for (std::int64_t n = 0; n < range.count; ++n) {
    const std::int64_t row = p.out_strides.offset(range.batch, range.head, range.first + n);
    const T* in = src + n * p.head_dim;
    for (int d = 0; d < p.head_dim; ++d) {
      store_element(p.out, p.dtype, row + d, static_cast<float>(in[d]));
    }
  }
}

}  // namespace

void load_tokens(const TensorSlice& slice, TokenRange range, float* dst) {
  load_tokens_as(slice, range, dst);
}

void load_tokens(const TensorSlice& slice, TokenRange range, double* dst) {
  load_tokens_as(slice, range, dst);
}

std::vector<float> load_head_f32(const TensorSlice& slice, std::int64_t batch, std::int64_t head) {
  std::vector<float> values(static_cast<std::size_t>(slice.tokens * slice.head_dim));
  load_tokens(slice, {batch, head, 0, slice.tokens}, values.data());
  return values;
}

void store_output(const core::AttentionProblem& problem, TokenRange range, const float* src) {
  store_output_as(problem, range, src);
}

void store_output(const core::AttentionProblem& problem, TokenRange range, const double* src) {
  store_output_as(problem, range, src);
}

void store_lse(const core::AttentionProblem& problem, TokenRange range, const float* src) {
  if (problem.lse == nullptr) return;
  for (std::int64_t n = 0; n < range.count; ++n) {
    problem.lse[problem.lse_strides.offset(range.batch, range.head, range.first + n)] = src[n];
  }
}

}  // namespace sageattn::cpu
