// reference_attention and reference_attention_f64: exact_attention_rows over every head.
#include <algorithm>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/exact_attention.hpp"
#include "cpu/parallel_for.hpp"
#include "cpu/tensor_io.hpp"

namespace sageattn::cpu {
namespace {

// Query rows per work item: enough that each K/V row read serves many rows, few enough that a
// block's logits stay in cache and causal work balances over the threads.
constexpr int kReferenceBlockRows = 32;

// Calls sink(block, out rows, lse rows) with the fp64 result of every query block.
template <typename Sink>
void run_reference(const core::AttentionProblem& p, Sink&& sink) {
  const auto kv_size = static_cast<std::size_t>(p.len_kv * p.head_dim);
  std::vector<double> k(kv_size), v(kv_size);
  for_each_query_block(
      p, kReferenceBlockRows,
      [&](std::int64_t b, std::int64_t kv_head) {
        load_tokens(k_slice(p), {b, kv_head, 0, p.len_kv}, k.data());
        load_tokens(v_slice(p), {b, kv_head, 0, p.len_kv}, v.data());
      },
      [&](const QueryBlock& blk) {
        std::vector<double> q(static_cast<std::size_t>(blk.rows * p.head_dim));
        load_tokens(q_slice(p), {blk.batch, blk.head_q, blk.first_row, blk.rows}, q.data());
        std::vector<double> out(q.size()), lse(static_cast<std::size_t>(blk.rows));
        exact_attention_rows({q.data(), k.data(), v.data(), blk.first_row, blk.rows, p.len_q,
                              p.len_kv, p.head_dim, static_cast<double>(p.sm_scale), p.causal},
                             out.data(), lse.data());
        sink(blk, out, lse);
      });
}

}  // namespace

Status reference_attention(const core::AttentionProblem& problem) {
  run_reference(problem, [&](const QueryBlock& blk, const std::vector<double>& out,
                             const std::vector<double>& lse) {
    const TokenRange range{blk.batch, blk.head_q, blk.first_row, blk.rows};
    store_output(problem, range, out.data());
    const std::vector<float> lse32(lse.begin(), lse.end());
    store_lse(problem, range, lse32.data());
  });
  return Status::ok_status();
}

void reference_attention_f64(const core::AttentionProblem& problem, std::vector<double>& out,
                             std::vector<double>* lse) {
  const std::int64_t rows = problem.batch * problem.heads_q * problem.len_q;
  out.assign(static_cast<std::size_t>(rows * problem.head_dim), 0.0);
  if (lse != nullptr) lse->assign(static_cast<std::size_t>(rows), 0.0);
  run_reference(problem, [&](const QueryBlock& blk, const std::vector<double>& block_out,
                             const std::vector<double>& block_lse) {
    const std::int64_t row0 =
        (blk.batch * problem.heads_q + blk.head_q) * problem.len_q + blk.first_row;
    std::copy(block_out.begin(), block_out.end(), out.begin() + row0 * problem.head_dim);
    if (lse != nullptr) std::copy(block_lse.begin(), block_lse.end(), lse->begin() + row0);
  });
}

}  // namespace sageattn::cpu
