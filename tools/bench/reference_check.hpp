// Accuracy of a run's output against the fp64 CPU reference.
#pragma once

#include <cstdint>

#include "inputs.hpp"
#include "sageattn/metrics.hpp"

namespace sageattn::bench {

struct ReferenceCheck {
  AccuracyMetrics metrics;
  std::int64_t rows_checked = 0;  // per (batch, head): the last rows_checked query rows
};

// The reference costs O(B·H·Nq·Nkv·D) in fp64; past a budget only the last query rows of every
// head are compared (they see the most keys under the causal mask, and bottom-right alignment
// makes them a valid smaller problem of their own).
Status check_against_reference(const ProblemShape& shape, const HostInputs& inputs,
                               const Options& options, const std::vector<std::uint16_t>& out,
                               ReferenceCheck* check);

}  // namespace sageattn::bench
