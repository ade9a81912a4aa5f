// Moving one (batch, head) slice of a problem's tensors between its typed, strided buffers and
// dense [tokens, head_dim] host arrays the CPU backends compute on.
#pragma once

#include <cstdint>
#include <vector>

#include "core/problem.hpp"

namespace sageattn::cpu {

// Where one tensor of a problem lives: its buffer, element type and strides (dim stride 1).
struct TensorSlice {
  const void* data;
  DType dtype;
  core::TokenStrides strides;
  std::int64_t tokens;
  int head_dim;
};

inline TensorSlice q_slice(const core::AttentionProblem& p) {
  return {p.q, p.dtype, p.q_strides, p.len_q, p.head_dim};
}
inline TensorSlice k_slice(const core::AttentionProblem& p) {
  return {p.k, p.dtype, p.k_strides, p.len_kv, p.head_dim};
}
inline TensorSlice v_slice(const core::AttentionProblem& p) {
  return {p.v, p.dtype, p.v_strides, p.len_kv, p.head_dim};
}

// A run of consecutive tokens of one (batch, head).
struct TokenRange {
  std::int64_t batch;
  std::int64_t head;
  std::int64_t first;
  std::int64_t count;
};

// Reads the tokens of `range` into a dense [count, head_dim] array; every fp16/bf16/fp32 value is
// exactly representable in the destination type.
void load_tokens(const TensorSlice& slice, TokenRange range, float* dst);
void load_tokens(const TensorSlice& slice, TokenRange range, double* dst);
// All tokens of (batch, head) as [tokens, head_dim] fp32.
std::vector<float> load_head_f32(const TensorSlice& slice, std::int64_t batch, std::int64_t head);

// Writes a dense [count, head_dim] array to problem.out at `range` (Q tokens), rounding to the
// problem's dtype (round to nearest even). A double is rounded to fp32 first; that differs from a
// direct rounding only when the fp32 value lands exactly on a 16-bit midpoint (odds about 2^-29).
void store_output(const core::AttentionProblem& problem, TokenRange range, const float* src);
void store_output(const core::AttentionProblem& problem, TokenRange range, const double* src);

// Writes range.count LSE values to problem.lse, if the problem asks for them.
void store_lse(const core::AttentionProblem& problem, TokenRange range, const float* src);

}  // namespace sageattn::cpu
