// Runs independent work items on all hardware threads. The CPU backends split their work into
// items that write disjoint outputs (a head, a Q block), so no item needs a lock.
#pragma once

#include <cstdint>
#include <functional>

#include "core/problem.hpp"

namespace sageattn::cpu {

// Calls item(i) once for every i in [0, count), on up to std::thread::hardware_concurrency()
// threads (SAGEATTN_CPU_THREADS overrides). Items are handed out dynamically so uneven items
// (causal rows) balance; returns when all are done.
void parallel_for(std::int64_t count, const std::function<void(std::int64_t)>& item);

// A block of consecutive query rows of one (batch, q head).
struct QueryBlock {
  std::int64_t batch;
  std::int64_t head_q;
  std::int64_t first_row;
  std::int64_t rows;
};

// The loop both CPU backends share. For each (batch, kv head) in turn, prepare(batch, kv_head)
// runs once (it loads that head's K and V), then block() runs in parallel for every block of
// block_rows query rows of every q head reading that kv head (GQA). Holding one kv head at a
// time bounds memory; a block reuses each K/V row across its rows.
void for_each_query_block(const core::AttentionProblem& problem, int block_rows,
                          const std::function<void(std::int64_t, std::int64_t)>& prepare,
                          const std::function<void(const QueryBlock&)>& block);

}  // namespace sageattn::cpu
