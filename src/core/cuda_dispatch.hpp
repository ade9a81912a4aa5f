// Running a validated call on the CUDA backend: the device guard, the workspace (the caller's, or
// one allocated stream-ordered for this call) and the len_kv == 0 case.
#pragma once

#include <cstddef>

#include "core/validate.hpp"

namespace sageattn::core {

Status cuda_workspace_bytes(const ValidatedCall& call, std::size_t* bytes);

Status run_on_cuda(const ValidatedCall& call, Workspace workspace, void* stream);

}  // namespace sageattn::core
