// The API boundary: the public arguments become a validated AttentionProblem or a Status whose
// message names the argument, the value seen and what is expected. Backends never re-check.
#pragma once

#include "core/problem.hpp"
#include "sageattn/sageattn.hpp"

namespace sageattn::core {

struct ValidatedCall {
  AttentionProblem problem;
  Backend backend = Backend::kCpuEmulation;  // resolved: never kAuto
  int capability = 0;                        // compute capability, for Backend::kCuda only

  // No output elements: the call succeeds without touching any backend.
  bool has_no_output() const {
    return problem.batch == 0 || problem.heads_q == 0 || problem.len_q == 0;
  }
  // Queries exist but there are no keys: every row is fully masked (output 0, LSE -inf).
  bool has_no_keys() const { return !has_no_output() && problem.len_kv == 0; }
};

// Checks every argument and resolves the kAuto options for the tensors' device. `out` is null only
// for workspace queries; `lse` is null when the caller wants no LSE.
Status validate_call(const TensorView& q, const TensorView& k, const TensorView& v,
                     const TensorView* out, const TensorView* lse, const Options& options,
                     ValidatedCall* call);

}  // namespace sageattn::core
