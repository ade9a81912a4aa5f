// CUDA runtime errors as Status values: every runtime call and every launch goes through these.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "sageattn/types.hpp"

namespace sageattn::cuda {

inline Status cuda_status(cudaError_t error, const char* what) {
  if (error == cudaSuccess) return {};
  cudaGetLastError();  // clear the runtime's last error so a later check does not report it again
  const StatusCode code =
      error == cudaErrorMemoryAllocation ? StatusCode::kOutOfMemory : StatusCode::kCudaError;
  return {code, std::string(what) + ": " + cudaGetErrorName(error) + " (" +
                    cudaGetErrorString(error) + ")"};
}

// A launch reports configuration errors (too much shared memory, bad grid) only through the last
// error; asynchronous faults surface at the caller's next synchronisation.
inline Status launch_status(const char* kernel) { return cuda_status(cudaGetLastError(), kernel); }

}  // namespace sageattn::cuda
