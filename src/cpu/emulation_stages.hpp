// The quantization pre-pass of the SageAttention pipeline, on the CPU, producing every buffer in
// the layout of cuda/quant/quantized_layout.hpp (B batch, Hq/Hkv heads, D head dim, Nq_pad/Nk_pad
// token counts padded to whole tile.block_q / tile.block_k; padding is zero). The emulation's main
// loop reads these buffers, and the GPU tests compare the pre-pass kernels' buffers against them
// bit for bit.
//
//   q_codes   int8  [B, Hq, Nq_pad, D]   q_sm quantized; INT4: [.., D/2], two codes a byte
//   q_scales  fp32  [B, Hq, q_scale_count]   amax/qmax of the group, times sm_scale*log2(e)
//   k_codes   int8  [B, Hkv, Nk_pad, D]  k_sm quantized; INT4 packed like Q
//   k_scales  fp32  [B, Hkv, k_scale_count]
//   k_mean    fp32  [B, Hkv, D]          mean of K over its len_kv tokens (zeros if !smooth_k)
//   v_fp8     e4m3  [B, Hkv, D, Nk_pad]  v_sm / v_scales[c], transposed (fp8 PV only)
//   v_fp16    fp16  [B, Hkv, Nk_pad, D]  v_sm, saturated to +-65504 (fp16 PV only)
//   v_scales  fp32  [B, Hkv, D]          fp8_channel_scale(max_t |v_sm[t, c]|) (fp8 PV only)
//   v_mean    fp32  [B, Hkv, D]          mean of V over tokens (zeros if !smooth_v)
//   q_mean_logits fp32 [B, Hq, Nq_pad/block_q, Nk_pad]   smooth_q only, 0 for padded keys
//   lse_shift fp32  [B, Hq, Nq]          float(sm_scale * (q_i . k_mean) in fp64)
//
// Not in the GPU layout: for QKQuant::kNone the emulation keeps q_fp16 [B, Hq, Nq_pad, D] and
// k_fp16 [B, Hkv, Nk_pad, D], Q and K rounded (saturating) to fp16; codes and
// scales are then empty. Buffers a configuration does not use are empty vectors.
//
// Choices the layout leaves open, made here once:
//   - smooth_k and smooth_q exist for the quantization of Q and K, so kNone (the fp16 baseline)
//     ignores them: k - mean needs more bits than fp16 keeps, and smoothing the baseline would
//     raise its LSE error from ~1e-5 to ~3e-3 (0.2 on heavy tails). smooth_v applies in every
//     PV mode. QuantizedInputs::smooth_k / smooth_q say what was applied.
//   - fp16 operands saturate at +-65504 (cvt.rn.satfinite): a bf16 V or K beyond the fp16 range
//     is clipped, not turned into inf.
//   - Means count real tokens only: a partial last Q block's mean divides by its real rows.
//
// The arithmetic, in order (every rule from src/quant/):
//   k_sm = float(k) - k_mean                                  (fp32 subtraction)
//   q_sm = float(q) - q_block_mean   where q_block_mean is the mean of Q over the real tokens of
//          its block of tile.block_q rows (smooth_q; else q_sm = float(q))
//   scale of a group = symmetric_scale(max |x| over all channels of the group's tokens, qmax)
//   code  = quantize_symmetric(x, symmetric_inverse_scale(that max, qmax), qmax); qmax 127 (INT8)
//           or 7 (INT4)
//   q_mean_logits[blk, j] = float(sum_d q_block_mean_d * k_sm[j, d] in fp64) *
//                           softmax_log2_factor(sm_scale)
//   v_sm = float(v) - v_mean;  v_fp8 = float_to_e4m3(fp8_scaled_input(v_sm, inv_c)) with
//          inv_c = fp8_inverse_scale(max_t |v_sm[t, c]|)
#pragma once

#include <cstdint>
#include <vector>

#include "core/problem.hpp"
#include "quant/granularity.hpp"

namespace sageattn::cpu {

struct QuantizedInputs {
  quant::TileShape tile{};
  quant::Granularity granularity = quant::Granularity::kPerWarp;
  int qmax = 0;  // 127, 7, or 0 for QKQuant::kNone
  bool int4 = false;
  bool smooth_k = false;  // as applied: the problem's flags, off for QKQuant::kNone
  bool smooth_q = false;
  std::int64_t q_pad = 0;
  std::int64_t k_pad = 0;
  int q_scale_count = 0;  // per (batch, head)
  int k_scale_count = 0;

  std::vector<std::int8_t> q_codes, k_codes;
  std::vector<float> q_scales, k_scales, k_mean;
  std::vector<std::uint8_t> v_fp8;
  std::vector<std::uint16_t> v_fp16;
  std::vector<float> v_scales, v_mean, q_mean_logits, lse_shift;
  std::vector<std::uint16_t> q_fp16, k_fp16;
};

// Runs the pre-pass for `problem` with the token partition of `tile`; multithreaded over heads.
QuantizedInputs quantize_inputs(const core::AttentionProblem& problem, quant::TileShape tile);

// The qmax a QK mode quantizes with (kNone: 0).
int qmax_of(QKQuant mode);

// INT4 packing: two codes a byte, the even channel in the low nibble (two's complement nibbles).
inline std::int8_t pack_int4_pair(int even_code, int odd_code) {
  return static_cast<std::int8_t>((even_code & 0xF) | ((odd_code & 0xF) << 4));
}
inline int unpack_int4(std::int8_t packed, bool odd_channel) {
  const int nibble = odd_channel ? (static_cast<std::uint8_t>(packed) >> 4)
                                 : (static_cast<std::uint8_t>(packed) & 0xF);
  return nibble >= 8 ? nibble - 16 : nibble;
}

// Unpacks one head's codes (int8 as is, INT4 to one code per byte): [tokens, D] int8.
std::vector<std::int8_t> unpack_codes(const std::int8_t* codes, std::int64_t tokens, int head_dim,
                                      bool int4);

}  // namespace sageattn::cpu
