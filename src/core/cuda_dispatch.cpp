#include "core/cuda_dispatch.hpp"

#include <cuda_runtime.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "core/message.hpp"
#include "cuda/cuda_backend.hpp"

namespace sageattn::core {
namespace {

Status cuda_status(cudaError_t error, const char* call) {
  if (error == cudaSuccess) return {};
  cudaGetLastError();  // reset the runtime's last error so a later call does not report this one
  const StatusCode code =
      error == cudaErrorMemoryAllocation ? StatusCode::kOutOfMemory : StatusCode::kCudaError;
  return {code, concat(call, ": ", cudaGetErrorName(error), " (", cudaGetErrorString(error), ")")};
}

// Makes the tensors' device current for the call (the stream, the workspace pool and the kernels
// all belong to it) and restores the caller's device afterwards.
class ScopedDevice {
 public:
  explicit ScopedDevice(int device) {
    if (cudaGetDevice(&previous_) != cudaSuccess) previous_ = -1;
    if (previous_ != device) status_ = cuda_status(cudaSetDevice(device), "cudaSetDevice");
  }
  ~ScopedDevice() {
    if (previous_ >= 0) cudaSetDevice(previous_);
  }
  ScopedDevice(const ScopedDevice&) = delete;
  ScopedDevice& operator=(const ScopedDevice&) = delete;
  const Status& status() const { return status_; }

 private:
  int previous_ = -1;
  Status status_;
};

Status write_fully_masked_rows_on_cuda(const AttentionProblem& problem, cudaStream_t stream) {
  const std::size_t element = dtype_size(problem.dtype);
  const std::size_t row_bytes = static_cast<std::size_t>(problem.head_dim) * element;
  // Pageable source: the copy is staged before the call returns, so the vector may go out of
  // scope while the transfer is still in flight.
  const std::vector<float> minus_inf(static_cast<std::size_t>(problem.len_q),
                                     -std::numeric_limits<float>::infinity());
  for (std::int64_t b = 0; b < problem.batch; ++b) {
    for (std::int64_t h = 0; h < problem.heads_q; ++h) {
      auto* out = static_cast<char*>(problem.out) +
                  problem.out_strides.offset(b, h, 0) * static_cast<std::int64_t>(element);
      // A single row may have any token stride; the runtime still wants pitch >= width.
      const std::size_t out_pitch =
          problem.len_q > 1 ? static_cast<std::size_t>(problem.out_strides.token) * element
                            : row_bytes;
      if (Status s = cuda_status(cudaMemset2DAsync(out, out_pitch, 0, row_bytes,
                                                   static_cast<std::size_t>(problem.len_q), stream),
                                 "cudaMemset2DAsync");
          !s.ok()) {
        return s;
      }
      if (problem.lse == nullptr) continue;
      float* lse = problem.lse + problem.lse_strides.offset(b, h, 0);
      const std::size_t lse_pitch =
          problem.len_q > 1 ? static_cast<std::size_t>(problem.lse_strides.token) * sizeof(float)
                            : sizeof(float);
      if (Status s =
              cuda_status(cudaMemcpy2DAsync(lse, lse_pitch, minus_inf.data(), sizeof(float),
                                            sizeof(float), static_cast<std::size_t>(problem.len_q),
                                            cudaMemcpyHostToDevice, stream),
                          "cudaMemcpy2DAsync");
          !s.ok()) {
        return s;
      }
    }
  }
  return {};
}

}  // namespace

Status cuda_workspace_bytes(const ValidatedCall& call, std::size_t* bytes) {
  *bytes = call.has_no_output() || call.has_no_keys()
               ? 0
               : cuda::workspace_bytes(call.problem, call.capability);
  return {};
}

Status run_on_cuda(const ValidatedCall& call, Workspace workspace, void* stream) {
  ScopedDevice device(call.problem.device.index);
  if (!device.status().ok()) return device.status();
  auto* cuda_stream = static_cast<cudaStream_t>(stream);
  if (call.has_no_keys()) return write_fully_masked_rows_on_cuda(call.problem, cuda_stream);

  const std::size_t needed = cuda::workspace_bytes(call.problem, call.capability);
  if (workspace.data != nullptr) {
    if (workspace.bytes < needed) {
      return invalid_argument("workspace: ", workspace.bytes, " bytes (expected at least ", needed,
                              " for this call; see workspace_bytes())");
    }
    return cuda::attention(call.problem, call.capability, workspace.data, stream);
  }
  void* allocated = nullptr;
  if (needed > 0) {
    if (Status s = cuda_status(cudaMallocAsync(&allocated, needed, cuda_stream), "cudaMallocAsync");
        !s.ok()) {
      return s;
    }
  }
  const Status status = cuda::attention(call.problem, call.capability, allocated, stream);
  if (allocated != nullptr) {
    const Status freed = cuda_status(cudaFreeAsync(allocated, cuda_stream), "cudaFreeAsync");
    if (status.ok()) return freed;
  }
  return status;
}

}  // namespace sageattn::core
