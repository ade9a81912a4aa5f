// Calls whose queries see no key at all (len_kv == 0): the same result as a fully masked causal
// row, output 0 and LSE -inf, written by core so no backend needs the special case.
#pragma once

#include "core/problem.hpp"

namespace sageattn::core {

void write_fully_masked_rows_on_cpu(const AttentionProblem& problem);

}  // namespace sageattn::core
