// Exact attention of a block of query rows over one head's keys, every sum in fp64: the ground
// truth the quantized pipeline is measured against. Shared by reference_attention and the tests
// (which call it on inputs no 16-bit tensor can hold, e.g. K minus its fp32 mean).
#pragma once

#include <cstdint>

namespace sageattn::cpu {

struct ExactAttentionRows {
  const double* q;  // [rows, head_dim]: query rows first_row .. first_row + rows - 1
  const double* k;  // [len_kv, head_dim]
  const double* v;  // [len_kv, head_dim]
  std::int64_t first_row;
  std::int64_t rows;
  std::int64_t len_q;  // of the whole problem: the causal diagonal depends on len_kv - len_q
  std::int64_t len_kv;
  int head_dim;
  double sm_scale;
  bool causal;
};

// Writes out [rows, head_dim] = softmax(sm_scale q k^T) v and lse [rows] (natural log). With
// `causal`, query i sees key j iff j <= i + len_kv - len_q (bottom-right aligned); a row that sees
// no key gets output 0 and LSE -inf.
void exact_attention_rows(const ExactAttentionRows& in, double* out, double* lse);

}  // namespace sageattn::cpu
