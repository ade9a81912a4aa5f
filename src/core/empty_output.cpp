#include "core/empty_output.hpp"

#include <cstdint>
#include <limits>

namespace sageattn::core {

void write_fully_masked_rows_on_cpu(const AttentionProblem& problem) {
  // fp16 and bf16 both encode +0 as all-zero bits.
  auto* out = static_cast<std::uint16_t*>(problem.out);
  for (std::int64_t b = 0; b < problem.batch; ++b) {
    for (std::int64_t h = 0; h < problem.heads_q; ++h) {
      for (std::int64_t n = 0; n < problem.len_q; ++n) {
        std::uint16_t* row = out + problem.out_strides.offset(b, h, n);
        for (int d = 0; d < problem.head_dim; ++d) row[d] = 0;
        if (problem.lse != nullptr) {
          problem.lse[problem.lse_strides.offset(b, h, n)] =
              -std::numeric_limits<float>::infinity();
        }
      }
    }
  }
}

}  // namespace sageattn::core
