// Checks on the tensor views of an attention call, each producing a message that names the tensor.
#pragma once

#include <string>

#include "core/problem.hpp"
#include "sageattn/sageattn.hpp"

namespace sageattn::core {

std::string shape_string(const TensorView& view);
std::string device_string(Device device);

enum class TensorRole { kInput, kOutput };

// One view on its own: rank, dtype value, non-negative sizes and strides, unit innermost stride
// (rank 4), data present, byte extent representable, and for outputs no element written twice.
Status check_view(const char* name, const TensorView& view, int expected_rank, TensorRole role);

// [batch, heads, tokens, dim] of a rank-4 view read in `layout`.
struct HeadMajorShape {
  std::int64_t batch = 0;
  std::int64_t heads = 0;
  std::int64_t tokens = 0;
  std::int64_t dim = 0;
  TokenStrides strides;
};
HeadMajorShape head_major_shape(const TensorView& view, Layout layout);

// q, k, v, out and lse against each other (views already passed check_view): dtypes, devices,
// head_dim, batch, head and token counts, GQA divisibility, out and lse shapes.
Status check_consistency(const TensorView& q, const TensorView& k, const TensorView& v,
                         const TensorView* out, const TensorView* lse, Layout layout);

// out and lse must not share memory with the inputs or with each other.
Status check_no_overlap(const TensorView& q, const TensorView& k, const TensorView& v,
                        const TensorView* out, const TensorView* lse);

}  // namespace sageattn::core
