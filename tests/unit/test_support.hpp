// Shared helpers of the CPU unit tests: a printed random seed, the input families the accuracy
// tests and the bench use, and an AttentionProblem over host buffers in either layout.
//
//   auto rng = seeded_rng();                 // prints the seed; SAGEATTN_TEST_SEED replays it
//   ProblemSpec spec{.len_q = 65, .causal = true};
//   HostProblem hp(spec, rng);               // random q, k, v of spec.family
//   cpu::emulate_attention(hp.problem, quant::kTileSm80);
//   std::vector<float> out = hp.out.to_bhnd();  // [B, Hq, Nq, D] whatever the layout
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "core/problem.hpp"
#include "cpu/half_convert.hpp"

namespace sageattn::testing {

// A fresh seed each run, printed so a failure can be replayed with SAGEATTN_TEST_SEED=<seed>.
inline std::mt19937_64 seeded_rng() {
  std::uint64_t seed = std::random_device{}();
  if (const char* forced = std::getenv("SAGEATTN_TEST_SEED"))
    seed = std::strtoull(forced, nullptr, 10);
  std::cout << "[ seed     ] SAGEATTN_TEST_SEED=" << seed << "\n";
  return std::mt19937_64(seed);
}

// Input distributions (every tensor gets per-channel standard deviations uniform in [1, 3]):
enum class InputFamily {
  kGaussian,      // plain gaussian
  kKChannelBias,  // + a per-channel bias on K, std 8 (the outliers K smoothing removes)
  kKAndVBias,     // + the K bias and a per-channel bias on V, std 8 (what smooth_v targets)
  kHeavyTailed,   // student-t with 3 degrees of freedom (rare large values)
};

inline const char* to_string(InputFamily family) {
  switch (family) {
    case InputFamily::kGaussian:
      return "gaussian";
    case InputFamily::kKChannelBias:
      return "k_bias";
    case InputFamily::kKAndVBias:
      return "k_v_bias";
    default:
      return "heavy_tailed";
  }
}

// A [B, H, N, D] fp16/bf16/fp32 host tensor in HND or NHD order.
struct HostTensor {
  DType dtype = DType::kFloat16;
  Layout layout = Layout::kHND;
  std::int64_t batch = 0, heads = 0, tokens = 0;
  int head_dim = 0;
  std::vector<std::uint16_t> half_bits;  // fp16/bf16 storage
  std::vector<float> floats;             // fp32 storage

  HostTensor() = default;
  HostTensor(DType t, Layout l, std::int64_t b, std::int64_t h, std::int64_t n, int d)
      : dtype(t), layout(l), batch(b), heads(h), tokens(n), head_dim(d) {
    const auto size = static_cast<std::size_t>(b * h * n * d);
    if (t == DType::kFloat32)
      floats.assign(size, 0.0f);
    else
      half_bits.assign(size, 0);
  }

  core::TokenStrides strides() const {
    const std::int64_t d = head_dim;
    if (layout == Layout::kHND) return {heads * tokens * d, tokens * d, d};
    return {tokens * heads * d, d, heads * d};
  }
  void* data() {
    return dtype == DType::kFloat32 ? static_cast<void*>(floats.data()) : half_bits.data();
  }
  std::size_t index(std::int64_t b, std::int64_t h, std::int64_t n, int d) const {
    return static_cast<std::size_t>(strides().offset(b, h, n) + d);
  }
  float get(std::int64_t b, std::int64_t h, std::int64_t n, int d) const {
    const std::size_t i = index(b, h, n, d);
    if (dtype == DType::kFloat32) return floats[i];
    return dtype == DType::kFloat16 ? cpu::fp16_to_float(half_bits[i])
                                    : cpu::bf16_to_float(half_bits[i]);
  }
  // Stores x rounded to the tensor's dtype (fp16 saturates, so heavy tails stay finite).
  void set(std::int64_t b, std::int64_t h, std::int64_t n, int d, float x) {
    const std::size_t i = index(b, h, n, d);
    if (dtype == DType::kFloat32)
      floats[i] = x;
    else
      half_bits[i] =
          dtype == DType::kFloat16 ? cpu::float_to_fp16_saturate(x) : cpu::float_to_bf16(x);
  }
  // The values in [B, H, N, D] order.
  std::vector<float> to_bhnd() const {
    std::vector<float> values;
    values.reserve(static_cast<std::size_t>(batch * heads * tokens * head_dim));
    for (std::int64_t b = 0; b < batch; ++b)
      for (std::int64_t h = 0; h < heads; ++h)
        for (std::int64_t n = 0; n < tokens; ++n)
          for (int d = 0; d < head_dim; ++d) values.push_back(get(b, h, n, d));
    return values;
  }
};

// Fills a tensor from a family; `bias_std` adds one N(0, bias_std) offset per (batch, head,
// channel).
inline void fill_random(HostTensor& t, std::mt19937_64& rng, bool heavy_tailed, float bias_std) {
  std::uniform_real_distribution<float> channel_std(1.0f, 3.0f);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::chi_squared_distribution<float> chi2(3.0f);
  for (std::int64_t b = 0; b < t.batch; ++b) {
    for (std::int64_t h = 0; h < t.heads; ++h) {
      for (int d = 0; d < t.head_dim; ++d) {
        const float scale = channel_std(rng);
        const float bias = bias_std * normal(rng);
        for (std::int64_t n = 0; n < t.tokens; ++n) {
          const float z = heavy_tailed ? normal(rng) / std::sqrt(chi2(rng) / 3.0f) : normal(rng);
          t.set(b, h, n, d, bias + scale * z);
        }
      }
    }
  }
}

struct ProblemSpec {
  std::int64_t batch = 1, heads_q = 2, heads_kv = 2, len_q = 64, len_kv = 64;
  int head_dim = 64;
  DType dtype = DType::kFloat16;
  Layout layout = Layout::kHND;
  InputFamily family = InputFamily::kGaussian;
  bool causal = false;
  QKQuant qk_quant = QKQuant::kInt8PerWarp;
  PVPrecision pv_precision = PVPrecision::kFp8Fp32Accum;
  bool smooth_k = true, smooth_q = false, smooth_v = false;
};

// Random q, k, v of a spec, an output and an LSE buffer, and the AttentionProblem over them. The
// outputs are poisoned with NaN (0xFFFF in fp16 and bf16 alike) so an unwritten element fails.
struct HostProblem {
  HostTensor q, k, v, out;
  std::vector<float> lse;
  core::AttentionProblem problem;

  HostProblem(const ProblemSpec& s, std::mt19937_64& rng)
      : q(s.dtype, s.layout, s.batch, s.heads_q, s.len_q, s.head_dim),
        k(s.dtype, s.layout, s.batch, s.heads_kv, s.len_kv, s.head_dim),
        v(s.dtype, s.layout, s.batch, s.heads_kv, s.len_kv, s.head_dim),
        out(s.dtype, s.layout, s.batch, s.heads_q, s.len_q, s.head_dim) {
    const bool heavy = s.family == InputFamily::kHeavyTailed;
    const bool k_bias =
        s.family == InputFamily::kKChannelBias || s.family == InputFamily::kKAndVBias;
    fill_random(q, rng, heavy, 0.0f);
    fill_random(k, rng, heavy, k_bias ? 8.0f : 0.0f);
    fill_random(v, rng, heavy, s.family == InputFamily::kKAndVBias ? 8.0f : 0.0f);
    lse.assign(static_cast<std::size_t>(s.batch * s.heads_q * s.len_q), NAN);
    problem.batch = s.batch;
    problem.heads_q = s.heads_q;
    problem.heads_kv = s.heads_kv;
    problem.len_q = s.len_q;
    problem.len_kv = s.len_kv;
    problem.head_dim = s.head_dim;
    problem.dtype = s.dtype;
    problem.causal = s.causal;
    problem.sm_scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
    problem.qk_quant = s.qk_quant;
    problem.pv_precision = s.pv_precision;
    problem.smooth_k = s.smooth_k;
    problem.smooth_q = s.smooth_q;
    problem.smooth_v = s.smooth_v;
    rebind();
  }
  HostProblem(const HostProblem&) = delete;
  HostProblem& operator=(const HostProblem&) = delete;

  // Points the problem at the buffers again (after a tensor was replaced) and poisons the outputs.
  void rebind() {
    problem.q = q.data();
    problem.k = k.data();
    problem.v = v.data();
    problem.out = out.data();
    problem.q_strides = q.strides();
    problem.k_strides = k.strides();
    problem.v_strides = v.strides();
    problem.out_strides = out.strides();
    problem.lse = lse.data();
    problem.lse_strides = {problem.heads_q * problem.len_q, problem.len_q, 1};
    std::fill(out.half_bits.begin(), out.half_bits.end(), std::uint16_t{0xFFFF});
    std::fill(out.floats.begin(), out.floats.end(), NAN);
    std::fill(lse.begin(), lse.end(), NAN);
  }
};

}  // namespace sageattn::testing
