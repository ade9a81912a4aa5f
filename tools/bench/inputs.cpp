// Input families. Each (batch, head) draws from its own seeded generator, so generation runs in
// parallel and a seed reproduces the same tensors (with the same C++ standard library).
#include "inputs.hpp"

#include <random>

#include "cpu/half_convert.hpp"
#include "cpu/parallel_for.hpp"

namespace sageattn::bench {
namespace {

constexpr float kBiasStd = 8.0f;
constexpr float kHeavyTailDegreesOfFreedom = 3.0f;

enum class Tensor : std::uint64_t { kQ = 1, kK = 2, kV = 3 };

std::uint16_t to_half(float value, DType dtype) {
  return dtype == DType::kBFloat16 ? cpu::float_to_bf16(value) : cpu::float_to_fp16_saturate(value);
}

// One tensor [batch, heads, tokens, dim] in `layout`: per (batch, head) a per-channel std in
// [1, 3] and, when `bias_std` > 0, a per-channel bias shared by all tokens of that head.
void fill_tensor(std::vector<std::uint16_t>& data, const ProblemShape& shape, std::int64_t heads,
                 std::int64_t tokens, Tensor which, InputFamily family, float bias_std,
                 std::uint64_t seed) {
  data.resize(static_cast<std::size_t>(shape.batch * heads * tokens * shape.dim));
  const int dim = shape.dim;
  cpu::parallel_for(shape.batch * heads, [&](std::int64_t item) {
    const std::int64_t b = item / heads;
    const std::int64_t h = item % heads;
    std::seed_seq seeds{seed, static_cast<std::uint64_t>(which), static_cast<std::uint64_t>(item)};
    std::mt19937_64 rng(seeds);
    std::uniform_real_distribution<float> spread(1.0f, 3.0f);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::student_t_distribution<float> heavy(kHeavyTailDegreesOfFreedom);
    std::vector<float> channel_std(static_cast<std::size_t>(dim));
    std::vector<float> channel_bias(static_cast<std::size_t>(dim), 0.0f);
    for (int d = 0; d < dim; ++d) {
      channel_std[d] = spread(rng);
      if (bias_std > 0.0f) channel_bias[d] = bias_std * normal(rng);
    }
    for (std::int64_t n = 0; n < tokens; ++n) {
      const std::int64_t row = shape.layout == Layout::kNHD ? (b * tokens + n) * heads + h
                                                            : (b * heads + h) * tokens + n;
      std::uint16_t* out = data.data() + row * dim;
      for (int d = 0; d < dim; ++d) {
        const float noise = family == InputFamily::kHeavy ? heavy(rng) : normal(rng);
        out[d] = to_half(channel_bias[d] + channel_std[d] * noise, shape.dtype);
      }
    }
  });
}

}  // namespace

HostInputs generate_inputs(const ProblemShape& shape, InputFamily family, std::uint64_t seed) {
  HostInputs inputs;
  const float k_bias = family == InputFamily::kKBias ? kBiasStd : 0.0f;
  const float v_bias = family == InputFamily::kVBias ? kBiasStd : 0.0f;
  fill_tensor(inputs.q, shape, shape.heads, shape.seq, Tensor::kQ, family, 0.0f, seed);
  fill_tensor(inputs.k, shape, shape.kv_heads, shape.kv_seq, Tensor::kK, family, k_bias, seed);
  fill_tensor(inputs.v, shape, shape.kv_heads, shape.kv_seq, Tensor::kV, family, v_bias, seed);
  return inputs;
}

float half_to_float(std::uint16_t bits, DType dtype) {
  return dtype == DType::kBFloat16 ? cpu::bf16_to_float(bits) : cpu::fp16_to_float(bits);
}

}  // namespace sageattn::bench
