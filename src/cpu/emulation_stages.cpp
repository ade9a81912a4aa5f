#include "cpu/emulation_stages.hpp"

#include <algorithm>
#include <cmath>

#include "cpu/half_convert.hpp"
#include "cpu/parallel_for.hpp"
#include "cpu/tensor_io.hpp"
#include "quant/float_max.hpp"
#include "quant/fp8_e4m3.hpp"
#include "quant/int_quant.hpp"

namespace sageattn::cpu {
namespace {

using Index = std::int64_t;

std::size_t at(Index i) { return static_cast<std::size_t>(i); }

// Per-channel mean of rows [first, first + count) of a dense [*, dim] array: fp64 sum, one
// rounding to fp32 (quant::mean_from_sum), so the order of the sum does not matter.
std::vector<float> channel_means(const float* x, Index first, Index count, int dim) {
  std::vector<double> sums(at(dim), 0.0);
  for (Index n = first; n < first + count; ++n) {
    for (int d = 0; d < dim; ++d) sums[at(d)] += x[n * dim + d];
  }
  std::vector<float> means(at(dim));
  for (int d = 0; d < dim; ++d) means[at(d)] = quant::mean_from_sum(sums[at(d)], count);
  return means;
}

// Subtracts per-channel means from rows [first, first + count) of a dense [*, dim] array.
void subtract_means(std::vector<float>& x, const float* means, Index first, Index count, int dim) {
  for (Index n = first; n < first + count; ++n) {
    for (int d = 0; d < dim; ++d) x[at(n * dim + d)] -= means[d];
  }
}

// K of one (batch, kv head) minus its mean, zero-padded to k_pad tokens: [k_pad, D].
std::vector<float> smoothed_k(const core::AttentionProblem& p, Index b, Index kv_head,
                              const float* k_mean, Index k_pad) {
  std::vector<float> k(at(k_pad * p.head_dim), 0.0f);
  load_tokens(k_slice(p), {b, kv_head, 0, p.len_kv}, k.data());
  subtract_means(k, k_mean, 0, p.len_kv, p.head_dim);
  return k;
}

// Symmetric quantization of a zero-padded [tokens, D] array whose token t belongs to scale group
// group_of(t): scales[g] from the largest magnitude of the group, codes in the stored layout.
template <typename GroupOf>
void quantize_groups(const std::vector<float>& x, Index tokens, int dim, int qmax, bool int4,
                     GroupOf group_of, float* scales, int scale_count, std::int8_t* codes) {
  std::vector<float> amax(at(scale_count), 0.0f);
  for (Index t = 0; t < tokens; ++t) {
    float& group_max = amax[at(group_of(t))];
    for (int d = 0; d < dim; ++d) group_max = quant::amax_update(group_max, x[at(t * dim + d)]);
  }
  for (int g = 0; g < scale_count; ++g) scales[g] = quant::symmetric_scale(amax[at(g)], qmax);
  for (Index t = 0; t < tokens; ++t) {
    const float inv = quant::symmetric_inverse_scale(amax[at(group_of(t))], qmax);
    const float* row = x.data() + t * dim;
    if (int4) {
      for (int d = 0; d < dim; d += 2) {
        codes[(t * dim + d) / 2] = pack_int4_pair(quant::quantize_symmetric(row[d], inv, qmax),
                                                  quant::quantize_symmetric(row[d + 1], inv, qmax));
      }
    } else {
      for (int d = 0; d < dim; ++d) {
        codes[t * dim + d] = static_cast<std::int8_t>(quant::quantize_symmetric(row[d], inv, qmax));
      }
    }
  }
}

void to_fp16(const std::vector<float>& x, std::uint16_t* dst) {
  std::transform(x.begin(), x.end(), dst, float_to_fp16_saturate);
}

void quantize_kv_head(const core::AttentionProblem& p, QuantizedInputs& qi, Index b,
                      Index kv_head) {
  const int dim = p.head_dim;
  const Index head = b * p.heads_kv + kv_head;
  float* k_mean = qi.k_mean.data() + head * dim;
  if (qi.smooth_k) {
    const std::vector<float> k = load_head_f32(k_slice(p), b, kv_head);
    const std::vector<float> means = channel_means(k.data(), 0, p.len_kv, dim);
    std::copy(means.begin(), means.end(), k_mean);
  }
  const std::vector<float> k_sm = smoothed_k(p, b, kv_head, k_mean, qi.k_pad);
  if (qi.qmax == 0) {
    to_fp16(k_sm, qi.k_fp16.data() + head * qi.k_pad * dim);
  } else {
    const Index code_dim = qi.int4 ? dim / 2 : dim;
    quantize_groups(
        k_sm, qi.k_pad, dim, qi.qmax, qi.int4,
        [&](Index t) { return quant::k_scale_group(t, qi.granularity, qi.tile); },
        qi.k_scales.data() + head * qi.k_scale_count, qi.k_scale_count,
        qi.k_codes.data() + head * qi.k_pad * code_dim);
  }

  std::vector<float> v(at(qi.k_pad * dim), 0.0f);
  load_tokens(v_slice(p), {b, kv_head, 0, p.len_kv}, v.data());
  float* v_mean = qi.v_mean.data() + head * dim;
  if (p.smooth_v) {
    const std::vector<float> means = channel_means(v.data(), 0, p.len_kv, dim);
    std::copy(means.begin(), means.end(), v_mean);
    subtract_means(v, v_mean, 0, p.len_kv, dim);
  }
  if (p.pv_precision != PVPrecision::kFp8Fp32Accum) {
    to_fp16(v, qi.v_fp16.data() + head * qi.k_pad * dim);
    return;
  }
  float* v_scales = qi.v_scales.data() + head * dim;
  std::uint8_t* v_fp8 = qi.v_fp8.data() + head * dim * qi.k_pad;
  for (int d = 0; d < dim; ++d) {
    float amax = 0.0f;
    for (Index n = 0; n < p.len_kv; ++n) amax = std::fmax(amax, std::fabs(v[at(n * dim + d)]));
    v_scales[d] = quant::fp8_channel_scale(amax);
    const float inv = quant::fp8_inverse_scale(amax);
    for (Index n = 0; n < qi.k_pad; ++n) {
      v_fp8[d * qi.k_pad + n] =
          quant::float_to_e4m3(quant::fp8_scaled_input(v[at(n * dim + d)], inv));
    }
  }
}

void quantize_q_head(const core::AttentionProblem& p, QuantizedInputs& qi, Index b, Index head_q) {
  const int dim = p.head_dim;
  const Index head = b * p.heads_q + head_q;
  const Index kv_head = b * p.heads_kv + p.kv_head_of(head_q);
  const float* k_mean = qi.k_mean.data() + kv_head * dim;
  std::vector<float> q(at(qi.q_pad * dim), 0.0f);
  load_tokens(q_slice(p), {b, head_q, 0, p.len_q}, q.data());

  float* lse_shift = qi.lse_shift.data() + head * p.len_q;
  for (Index n = 0; n < p.len_q; ++n) {
    double dot = 0.0;
    for (int d = 0; d < dim; ++d) dot += static_cast<double>(q[at(n * dim + d)]) * k_mean[d];
    lse_shift[n] = static_cast<float>(static_cast<double>(p.sm_scale) * dot);
  }

  if (qi.smooth_q) {
    const std::vector<float> k_sm = smoothed_k(p, b, p.kv_head_of(head_q), k_mean, qi.k_pad);
    const Index blocks = qi.q_pad / qi.tile.block_q;
    for (Index blk = 0; blk < blocks; ++blk) {
      const Index first = blk * qi.tile.block_q;
      const Index count = std::min<Index>(qi.tile.block_q, p.len_q - first);
      const std::vector<float> mean = channel_means(q.data(), first, count, dim);
      subtract_means(q, mean.data(), first, count, dim);
      float* logits = qi.q_mean_logits.data() + (head * blocks + blk) * qi.k_pad;
      for (Index j = 0; j < p.len_kv; ++j) {
        double dot = 0.0;
        for (int d = 0; d < dim; ++d)
          dot += static_cast<double>(mean[at(d)]) * k_sm[at(j * dim + d)];
        logits[j] = static_cast<float>(dot) * quant::softmax_log2_factor(p.sm_scale);
      }
    }
  }

  if (qi.qmax == 0) {
    to_fp16(q, qi.q_fp16.data() + head * qi.q_pad * dim);
    return;
  }
  float* scales = qi.q_scales.data() + head * qi.q_scale_count;
  const Index code_dim = qi.int4 ? dim / 2 : dim;
  quantize_groups(
      q, qi.q_pad, dim, qi.qmax, qi.int4,
      [&](Index t) { return quant::q_scale_group(t, qi.granularity, qi.tile); }, scales,
      qi.q_scale_count, qi.q_codes.data() + head * qi.q_pad * code_dim);
  for (int g = 0; g < qi.q_scale_count; ++g) scales[g] = quant::fold_q_scale(scales[g], p.sm_scale);
}

}  // namespace

int qmax_of(QKQuant mode) {
  switch (mode) {
    case QKQuant::kNone:
      return 0;
    case QKQuant::kInt4PerThread:
      return quant::kInt4Max;
    default:
      return quant::kInt8Max;
  }
}

std::vector<std::int8_t> unpack_codes(const std::int8_t* codes, std::int64_t tokens, int head_dim,
                                      bool int4) {
  const auto count = at(tokens * head_dim);
  if (!int4) return {codes, codes + count};
  std::vector<std::int8_t> unpacked(count);
  for (std::size_t i = 0; i < count; ++i) {
    unpacked[i] = static_cast<std::int8_t>(unpack_int4(codes[i / 2], i % 2 == 1));
  }
  return unpacked;
}

QuantizedInputs quantize_inputs(const core::AttentionProblem& p, quant::TileShape tile) {
  QuantizedInputs qi;
  qi.tile = tile;
  qi.granularity = p.qk_granularity();
  qi.qmax = qmax_of(p.qk_quant);
  qi.int4 = p.qk_quant == QKQuant::kInt4PerThread;
  qi.smooth_k = p.smooth_k && qi.qmax != 0;
  qi.smooth_q = p.smooth_q && qi.qmax != 0;
  qi.q_pad = Index{quant::ceil_div(p.len_q, tile.block_q)} * tile.block_q;
  qi.k_pad = Index{quant::ceil_div(p.len_kv, tile.block_k)} * tile.block_k;
  const Index dim = p.head_dim;
  const Index bq = p.batch * p.heads_q;
  const Index bk = p.batch * p.heads_kv;
  if (qi.qmax == 0) {
    qi.q_fp16.resize(at(bq * qi.q_pad * dim));
    qi.k_fp16.resize(at(bk * qi.k_pad * dim));
  } else {
    const Index code_dim = qi.int4 ? dim / 2 : dim;
    qi.q_scale_count = quant::q_scale_count(p.len_q, qi.granularity, tile);
    qi.k_scale_count = quant::k_scale_count(p.len_kv, qi.granularity, tile);
    qi.q_codes.resize(at(bq * qi.q_pad * code_dim));
    qi.k_codes.resize(at(bk * qi.k_pad * code_dim));
    qi.q_scales.resize(at(bq * qi.q_scale_count));
    qi.k_scales.resize(at(bk * qi.k_scale_count));
  }
  qi.k_mean.assign(at(bk * dim), 0.0f);
  qi.v_mean.assign(at(bk * dim), 0.0f);
  if (p.pv_precision == PVPrecision::kFp8Fp32Accum) {
    qi.v_fp8.resize(at(bk * dim * qi.k_pad));
    qi.v_scales.resize(at(bk * dim));
  } else {
    qi.v_fp16.resize(at(bk * qi.k_pad * dim));
  }
  if (qi.smooth_q) qi.q_mean_logits.assign(at(bq * (qi.q_pad / tile.block_q) * qi.k_pad), 0.0f);
  qi.lse_shift.resize(at(bq * p.len_q));

  parallel_for(bk, [&](Index i) { quantize_kv_head(p, qi, i / p.heads_kv, i % p.heads_kv); });
  parallel_for(bq, [&](Index i) { quantize_q_head(p, qi, i / p.heads_q, i % p.heads_q); });
  return qi;
}

}  // namespace sageattn::cpu
