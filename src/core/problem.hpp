// A validated attention call: what every backend (CPU reference, CPU emulation, CUDA) receives.
// core/validate builds it from the public arguments, so backends never re-check their input.
#pragma once

#include <cstdint>

#include "quant/granularity.hpp"
#include "sageattn/sageattn.hpp"

namespace sageattn::core {

// Element strides of a [batch, head, token, dim] tensor whatever its layout; dim stride is 1.
struct TokenStrides {
  std::int64_t batch = 0;
  std::int64_t head = 0;
  std::int64_t token = 0;

  std::int64_t offset(std::int64_t b, std::int64_t h, std::int64_t n) const {
    return b * batch + h * head + n * token;
  }
};

struct AttentionProblem {
  std::int64_t batch = 0;
  std::int64_t heads_q = 0;
  std::int64_t heads_kv = 0;
  std::int64_t len_q = 0;
  std::int64_t len_kv = 0;
  int head_dim = 0;
  DType dtype = DType::kFloat16;  // of q, k, v and out
  Device device{};

  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;
  float* lse = nullptr;  // optional, [batch, heads_q, len_q]
  TokenStrides q_strides, k_strides, v_strides, out_strides, lse_strides;  // lse: dim unused

  // Resolved options: never kAuto here.
  bool causal = false;
  float sm_scale = 0.0f;
  QKQuant qk_quant = QKQuant::kInt8PerWarp;
  PVPrecision pv_precision = PVPrecision::kFp8Fp32Accum;
  bool smooth_k = true;
  bool smooth_q = false;
  bool smooth_v = false;

  // Which tokens share a Q/K scale (quant/granularity.hpp); kNone quantizes nothing and never
  // reads it.
  quant::Granularity qk_granularity() const {
    switch (qk_quant) {
      case QKQuant::kInt8PerBlock:
        return quant::Granularity::kPerBlock;
      case QKQuant::kInt8PerThread:
      case QKQuant::kInt4PerThread:
        return quant::Granularity::kPerThread;
      default:
        return quant::Granularity::kPerWarp;
    }
  }

  std::int64_t kv_head_of(std::int64_t head_q) const { return head_q / (heads_q / heads_kv); }
  // Bottom-right causal alignment: query i sees key j iff j <= i + causal_offset().
  std::int64_t causal_offset() const { return len_kv - len_q; }
};

}  // namespace sageattn::core
