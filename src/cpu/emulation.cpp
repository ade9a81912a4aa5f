// emulate_attention: the attention main loop of the kernels, row by row, over the buffers of the
// quantization pre-pass (emulation_stages.hpp). For each step of tile.block_k keys (at
// tile.paired_tiles_head_dim, the Hopper kernel at hd128, two tiles' 2 * block_k keys where both
// need no mask for any row of the query block; step_keys):
//
//   s    = dequantize_logit(int32 dot of codes, q_scale_folded, k_scale) [+ q_mean_logits]
//          (exp2 domain; masked and padded keys -inf). kNone: fp32 dot of fp16 values * log2 factor
//   m'   = max(m, max s);  base = m' unless that is -inf (then 0, so exp2 never sees -inf - -inf)
//   alpha = exp2(m - base);  p = exp2(s - base);  l = l * alpha + sum p        (all fp32)
//        (kFp8Fp32Accum with tile.pv_row_sums, the Hopper kernel: l adds up
//        e4m3(p * kFp8PScale) / kFp8PScale, P as the PV mma reads it)
//   PV   kFp8Fp32Accum : acc = sum_j e4m3(p_j * kFp8PScale) * v_fp8[j]  (fp32), O = O*alpha + acc
//        kFp16Fp32Accum: O = O*alpha, then O += fp16(p_j) * v_fp16[j]   (fp32)
//        kFp16Fp16Accum: acc16 = fp16(acc16 + sum over each 16-key chunk of fp16(p) * v (fp32)),
//                        one rounding per mma k-step; O = O*alpha + acc16
//
// and at the end o = O / l (fp8: O * v_scale_c / (kFp8PScale * l)) + v_mean, rounded to the
// output dtype; LSE = ln2 * (m + log2 l) + lse_shift. A row that sees no key: o = 0, LSE = -inf.
// Tiles entirely past a row's causal limit are skipped: for such a tile alpha is 1 and p is 0,
// so it would leave every value of the row bit-identical.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/emulation_stages.hpp"
#include "cpu/fixed_order_dot.hpp"
#include "cpu/half_convert.hpp"
#include "cpu/parallel_for.hpp"
#include "cpu/tensor_io.hpp"
#include "cpu/weighted_row_sum.hpp"
#include "quant/float_max.hpp"
#include "quant/fp8_e4m3.hpp"
#include "quant/int_quant.hpp"

namespace sageattn::cpu {
namespace {

using Index = std::int64_t;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int kMmaK16 = 16;  // keys per fp16 mma k-step: the fp16 accumulator's rounding interval

std::size_t at(Index i) { return static_cast<std::size_t>(i); }

// Keys in the online-softmax step that starts at `tile_start` (one row maximum, one rescale and
// one P V accumulator each): the kernel's partition of a query block's keys, where keys
// [0, unmasked_end) are visible to every row of the block. Two tiles at the paired head dim when
// both lie below unmasked_end, else one (sm90/consumer.hpp).
int step_keys(const quant::TileShape& tile, int head_dim, Index tile_start, Index unmasked_end) {
  const bool paired = tile.paired_tiles_head_dim == head_dim &&
                      tile_start + 2 * Index{tile.block_k} <= unmasked_end;
  return paired ? 2 * tile.block_k : tile.block_k;
}

const std::array<float, 256>& e4m3_values() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> values{};
    for (int c = 0; c < 256; ++c)
      values[at(c)] = quant::e4m3_to_float(static_cast<std::uint8_t>(c));
    return values;
  }();
  return table;
}

// Codes (INT4 unpacked) as int16: an int16 x int16 -> int32 multiply-add is the pattern the
// compiler turns into pmaddwd; int8 operands would be widened element by element instead.
std::vector<std::int16_t> widened_codes(const std::int8_t* codes, Index tokens, int dim,
                                        bool int4) {
  const std::vector<std::int8_t> unpacked = unpack_codes(codes, tokens, dim, int4);
  return {unpacked.begin(), unpacked.end()};
}

// One (batch, kv head)'s K and V as the main loop reads them, decoded to values once.
struct KvOperands {
  std::vector<std::int16_t> k_codes;  // [k_pad, D] (quantized modes), widened: see dot_codes
  std::vector<float> k_values;        // [k_pad, D] fp16 K (kNone)
  const float* k_scales = nullptr;
  std::vector<float> v_values;  // [k_pad, D]: e4m3 code values (fp8) or fp16 values
  const float* v_scales = nullptr;
  const float* v_mean = nullptr;
};

void decode_kv(const core::AttentionProblem& p, const QuantizedInputs& qi, Index b, Index kv_head,
               KvOperands& kv) {
  const Index head = b * p.heads_kv + kv_head;
  const Index dim = p.head_dim;
  const Index elements = qi.k_pad * dim;
  if (qi.qmax == 0) {
    const std::uint16_t* k16 = qi.k_fp16.data() + head * elements;
    kv.k_values.resize(at(elements));
    std::transform(k16, k16 + elements, kv.k_values.begin(), fp16_to_float);
  } else {
    const Index code_dim = qi.int4 ? dim / 2 : dim;
    kv.k_codes = widened_codes(qi.k_codes.data() + head * qi.k_pad * code_dim, qi.k_pad, p.head_dim,
                               qi.int4);
    kv.k_scales = qi.k_scales.data() + head * qi.k_scale_count;
  }
  kv.v_values.resize(at(elements));
  if (p.pv_precision == PVPrecision::kFp8Fp32Accum) {
    const std::uint8_t* v8 = qi.v_fp8.data() + head * elements;  // [D, k_pad]
    for (Index n = 0; n < qi.k_pad; ++n) {
      for (Index d = 0; d < dim; ++d)
        kv.v_values[at(n * dim + d)] = e4m3_values()[v8[d * qi.k_pad + n]];
    }
    kv.v_scales = qi.v_scales.data() + head * dim;
  } else {
    const std::uint16_t* v16 = qi.v_fp16.data() + head * elements;
    std::transform(v16, v16 + elements, kv.v_values.begin(), fp16_to_float);
  }
  kv.v_mean = qi.v_mean.data() + head * dim;
}

// The integer dot of two code rows, exact in int32 like the tensor cores' IMMA.
std::int32_t dot_codes(const std::int16_t* a, const std::int16_t* b, int n) {
  std::int32_t sum = 0;
  for (int d = 0; d < n; ++d) sum += std::int32_t{a[d]} * std::int32_t{b[d]};
  return sum;
}

// The online-softmax state of one query row, and what it needs to compute its logits.
struct RowState {
  Index row = 0;        // token index in Q
  Index key_limit = 0;  // keys [0, key_limit) are visible (causal and length masks)
  const std::int16_t* q_codes = nullptr;
  const float* q_values = nullptr;
  float q_scale = 0.0f;
  const float* q_mean_logits = nullptr;
  float m = kNegInf;
  float l = 0.0f;
  float* o = nullptr;  // [D] fp32 accumulator
};

struct BlockContext {
  const core::AttentionProblem& p;
  const QuantizedInputs& qi;
  const KvOperands& kv;
};

// Per-block scratch, allocated once rather than per (row, tile).
struct TileScratch {
  std::vector<float> s;          // [keys] logits, then probabilities (up to 2 * block_k)
  std::vector<float> p_operand;  // [keys] P as the PV mma reads it (e4m3 or fp16 values)
  std::vector<float> acc;        // [D] the step's PV accumulator
  std::vector<float> chunk;      // [D] one fp16 mma k-step (kFp16Fp16Accum)
};

void tile_logits(const BlockContext& c, const RowState& r, Index tile_start, int keys, float* s) {
  const int dim = c.p.head_dim;
  for (Index j = tile_start; j < tile_start + keys; ++j) {
    float& logit = s[j - tile_start];
    if (j >= r.key_limit) {
      logit = kNegInf;
      continue;
    }
    if (c.qi.qmax == 0) {
      logit = fixed_order_dot(r.q_values, c.kv.k_values.data() + j * dim, dim) *
              quant::softmax_log2_factor(c.p.sm_scale);
    } else {
      const std::int32_t dot = dot_codes(r.q_codes, c.kv.k_codes.data() + j * dim, dim);
      logit = quant::dequantize_logit(
          dot, r.q_scale, c.kv.k_scales[quant::k_scale_group(j, c.qi.granularity, c.qi.tile)]);
    }
    if (r.q_mean_logits != nullptr) logit += r.q_mean_logits[j];
  }
}

// P V of one step into the row's accumulator, in the precision of the problem's PV mode. Returns
// the sum of P as the mma reads it (e4m3 or fp16 values, in units of p).
float accumulate_pv(const BlockContext& c, RowState& r, Index tile_start, int keys,
                    TileScratch& scratch, float alpha) {
  const int dim = c.p.head_dim;
  const float* v = c.kv.v_values.data() + tile_start * dim;
  const bool fp8 = c.p.pv_precision == PVPrecision::kFp8Fp32Accum;
  float* p = scratch.p_operand.data();
  float operand_sum = 0.0f;
  for (int j = 0; j < keys; ++j) {
    p[j] = fp8 ? e4m3_values()[quant::float_to_e4m3(scratch.s[at(j)] * quant::kFp8PScale)]
               : round_to_fp16(scratch.s[at(j)]);
    operand_sum += p[j];
  }
  float* acc = scratch.acc.data();
  std::fill(acc, acc + dim, 0.0f);
  switch (c.p.pv_precision) {
    case PVPrecision::kFp8Fp32Accum:
      add_weighted_rows(p, v, keys, dim, acc);
      for (int d = 0; d < dim; ++d) r.o[d] = r.o[d] * alpha + acc[d];
      break;
    case PVPrecision::kFp16Fp16Accum: {
      float* chunk = scratch.chunk.data();
      for (int j0 = 0; j0 < keys; j0 += kMmaK16) {
        std::fill(chunk, chunk + dim, 0.0f);
        add_weighted_rows(p + j0, v + j0 * dim, std::min(kMmaK16, keys - j0), dim, chunk);
        for (int d = 0; d < dim; ++d) acc[d] = round_to_fp16(acc[d] + chunk[d]);
      }
      for (int d = 0; d < dim; ++d) r.o[d] = r.o[d] * alpha + acc[d];
      break;
    }
    default:
      for (int d = 0; d < dim; ++d) r.o[d] *= alpha;
      add_weighted_rows(p, v, keys, dim, r.o);
  }
  return fp8 ? operand_sum / quant::kFp8PScale : operand_sum;
}

void process_tile(const BlockContext& c, RowState& r, Index tile_start, int keys,
                  TileScratch& scratch) {
  float* s = scratch.s.data();
  tile_logits(c, r, tile_start, keys, s);
  float m_new = r.m;
  for (int j = 0; j < keys; ++j) m_new = quant::max_nan(m_new, s[j]);
  const float base = m_new == kNegInf ? 0.0f : m_new;
  const float alpha = std::exp2(r.m - base);
  float tile_sum = 0.0f;
  for (int j = 0; j < keys; ++j) {
    s[j] = std::exp2(s[j] - base);
    tile_sum += s[j];
  }
  const float operand_sum = accumulate_pv(c, r, tile_start, keys, scratch, alpha);
  const bool fp8 = c.p.pv_precision == PVPrecision::kFp8Fp32Accum;
  const bool sums_of_operand = fp8 && c.qi.tile.pv_row_sums;
  r.l = r.l * alpha + (sums_of_operand ? operand_sum : tile_sum);
  r.m = m_new;
}

// Normalises a finished row in place and returns its LSE.
float finish_row(const BlockContext& c, RowState& r, float lse_shift) {
  const int dim = c.p.head_dim;
  if (r.m == kNegInf) {
    std::fill(r.o, r.o + dim, 0.0f);
    return kNegInf;
  }
  for (int d = 0; d < dim; ++d) {
    const float scaled = c.p.pv_precision == PVPrecision::kFp8Fp32Accum
                             ? r.o[d] * c.kv.v_scales[d] / (quant::kFp8PScale * r.l)
                             : r.o[d] / r.l;
    r.o[d] = scaled + c.kv.v_mean[d];
  }
  return quant::kLn2 * (r.m + std::log2(r.l)) + lse_shift;
}

void emulate_block(const BlockContext& c, const QueryBlock& blk) {
  const core::AttentionProblem& p = c.p;
  const QuantizedInputs& qi = c.qi;
  const int dim = p.head_dim;
  const Index head = blk.batch * p.heads_q + blk.head_q;
  std::vector<std::int16_t> q_codes;
  std::vector<float> q_values;
  if (qi.qmax == 0) {
    const std::uint16_t* q16 = qi.q_fp16.data() + (head * qi.q_pad + blk.first_row) * dim;
    q_values.resize(at(blk.rows * dim));
    std::transform(q16, q16 + blk.rows * dim, q_values.begin(), fp16_to_float);
  } else {
    const Index code_dim = qi.int4 ? dim / 2 : dim;
    q_codes = widened_codes(qi.q_codes.data() + (head * qi.q_pad + blk.first_row) * code_dim,
                            blk.rows, dim, qi.int4);
  }
  std::vector<float> out(at(blk.rows * dim), 0.0f);
  std::vector<RowState> rows(at(blk.rows));
  Index last_tile_end = 0;
  for (Index r = 0; r < blk.rows; ++r) {
    RowState& row = rows[at(r)];
    row.row = blk.first_row + r;
    row.key_limit =
        p.causal ? std::clamp<Index>(row.row + p.causal_offset() + 1, 0, p.len_kv) : p.len_kv;
    row.o = out.data() + r * dim;
    if (qi.qmax == 0) {
      row.q_values = q_values.data() + r * dim;
    } else {
      row.q_codes = q_codes.data() + r * dim;
      row.q_scale = qi.q_scales[at(head * qi.q_scale_count +
                                   quant::q_scale_group(row.row, qi.granularity, qi.tile))];
    }
    if (qi.smooth_q) {
      const Index blocks = qi.q_pad / qi.tile.block_q;
      row.q_mean_logits =
          qi.q_mean_logits.data() + (head * blocks + row.row / qi.tile.block_q) * qi.k_pad;
    }
    last_tile_end = std::max(last_tile_end, row.key_limit);
  }
  // Tile-major like the kernel: each K/V tile stays in cache while every row of the block uses it.
  // Keys below the block's first row's limit are visible to all its rows (the limit grows with
  // the row).
  const Index unmasked_end = rows.empty() ? 0 : rows.front().key_limit;
  const Index max_keys = 2 * Index{qi.tile.block_k};
  TileScratch scratch{std::vector<float>(at(max_keys)), std::vector<float>(at(max_keys)),
                      std::vector<float>(at(dim)), std::vector<float>(at(dim))};
  for (Index tile_start = 0; tile_start < last_tile_end;) {
    const int keys = step_keys(qi.tile, dim, tile_start, unmasked_end);
    for (RowState& row : rows) {
      if (tile_start < row.key_limit) process_tile(c, row, tile_start, keys, scratch);
    }
    tile_start += keys;
  }
  std::vector<float> lse(at(blk.rows));
  for (Index r = 0; r < blk.rows; ++r) {
    lse[at(r)] = finish_row(c, rows[at(r)], qi.lse_shift[at(head * p.len_q + blk.first_row + r)]);
  }
  const TokenRange range{blk.batch, blk.head_q, blk.first_row, blk.rows};
  store_output(p, range, out.data());
  store_lse(p, range, lse.data());
}

}  // namespace

Status emulate_attention(const core::AttentionProblem& problem, quant::TileShape tile) {
  const QuantizedInputs qi = quantize_inputs(problem, tile);
  KvOperands kv;
  for_each_query_block(
      problem, tile.block_q,
      [&](Index b, Index kv_head) { decode_kv(problem, qi, b, kv_head, kv); },
      [&](const QueryBlock& blk) {
        emulate_block({problem, qi, kv}, blk);
      });
  return Status::ok_status();
}

}  // namespace sageattn::cpu
