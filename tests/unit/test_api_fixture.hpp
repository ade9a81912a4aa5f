// A valid attention call on host buffers (HND, GQA 8:2, q_len != kv_len) that tests then break or
// vary one argument at a time.
#pragma once

#include <cstdint>
#include <vector>

#include "sageattn/sageattn.hpp"

namespace sageattn::testing {

struct ApiTestCall {
  std::vector<std::uint16_t> q_data, k_data, v_data, out_data;
  std::vector<float> lse_data;
  TensorView q, k, v, out, lse;
  bool with_lse = true;
  Options options;

  ApiTestCall(std::int64_t batch = 2, std::int64_t heads_q = 8, std::int64_t heads_kv = 2,
              std::int64_t len_q = 16, std::int64_t len_kv = 24, std::int64_t head_dim = 64,
              Layout layout = Layout::kHND);

  // A copy owns copies of the buffers and its views point at them.
  ApiTestCall(const ApiTestCall& other);
  ApiTestCall& operator=(const ApiTestCall&) = delete;

  Status run() const { return attention(q, k, v, out, with_lse ? &lse : nullptr, options); }
};

}  // namespace sageattn::testing
