#include "cpu/parallel_for.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

namespace sageattn::cpu {
namespace {

std::int64_t worker_count() {
  if (const char* forced = std::getenv("SAGEATTN_CPU_THREADS")) {
    const long value = std::strtol(forced, nullptr, 10);
    if (value > 0) return value;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

void parallel_for(std::int64_t count, const std::function<void(std::int64_t)>& item) {
  const std::int64_t workers = std::min(worker_count(), count);
  if (workers <= 1) {
    for (std::int64_t i = 0; i < count; ++i) item(i);
    return;
  }
  std::atomic<std::int64_t> next{0};
  auto drain = [&] {
    for (std::int64_t i = next++; i < count; i = next++) item(i);
  };
  std::vector<std::jthread> threads;
  threads.reserve(static_cast<std::size_t>(workers - 1));
  for (std::int64_t t = 1; t < workers; ++t) threads.emplace_back(drain);
  drain();
}

void for_each_query_block(const core::AttentionProblem& problem, int block_rows,
                          const std::function<void(std::int64_t, std::int64_t)>& prepare,
                          const std::function<void(const QueryBlock&)>& block) {
  const std::int64_t group = problem.heads_q / problem.heads_kv;
  const std::int64_t blocks_per_head = (problem.len_q + block_rows - 1) / block_rows;
  for (std::int64_t b = 0; b < problem.batch; ++b) {
    for (std::int64_t kv_head = 0; kv_head < problem.heads_kv; ++kv_head) {
      prepare(b, kv_head);
      parallel_for(group * blocks_per_head, [&](std::int64_t item) {
        const std::int64_t first_row = (item % blocks_per_head) * block_rows;
        block({b, kv_head * group + item / blocks_per_head, first_row,
               std::min<std::int64_t>(block_rows, problem.len_q - first_row)});
      });
    }
  }
}

}  // namespace sageattn::cpu
