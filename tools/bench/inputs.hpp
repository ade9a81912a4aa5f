// Host-side Q, K, V for one run, generated from an input family, in the run's layout and dtype.
#pragma once

#include <cstdint>
#include <vector>

#include "bench_config.hpp"

namespace sageattn::bench {

struct ProblemShape {
  std::int64_t batch, heads, kv_heads, seq, kv_seq;
  int dim;
  Layout layout;
  DType dtype;

  std::array<std::int64_t, 4> q_dims() const { return dims(heads, seq); }
  std::array<std::int64_t, 4> kv_dims() const { return dims(kv_heads, kv_seq); }
  std::int64_t q_elements() const { return batch * heads * seq * dim; }
  std::int64_t kv_elements() const { return batch * kv_heads * kv_seq * dim; }

 private:
  std::array<std::int64_t, 4> dims(std::int64_t h, std::int64_t n) const {
    return layout == Layout::kNHD ? std::array<std::int64_t, 4>{batch, n, h, dim}
                                  : std::array<std::int64_t, 4>{batch, h, n, dim};
  }
};

// fp16 or bf16 bit patterns, compact in the shape's layout.
struct HostInputs {
  std::vector<std::uint16_t> q, k, v;
};

HostInputs generate_inputs(const ProblemShape& shape, InputFamily family, std::uint64_t seed);

float half_to_float(std::uint16_t bits, DType dtype);

}  // namespace sageattn::bench
