// sageattn::attention and workspace_bytes: validate once, then hand the problem to one backend.
#include "core/attention.hpp"

#include <new>

#include "core/empty_output.hpp"
#include "core/message.hpp"
#include "core/validate.hpp"
#include "cpu/cpu_backend.hpp"
#include "quant/tile_shapes.hpp"

#ifdef SAGEATTN_HAS_CUDA
#include "core/cuda_dispatch.hpp"
#endif

namespace sageattn {
namespace {

// The CPU emulation reproduces the mma.sync kernels (sm80/sm89) by default: their tile decides
// which tokens share a quantization scale (quant/granularity.hpp).
constexpr quant::TileShape kDefaultCpuTile = quant::kTileSm80;

Status run_on_cpu(const core::ValidatedCall& call, quant::TileShape tile) {
  if (call.has_no_keys()) {
    core::write_fully_masked_rows_on_cpu(call.problem);
    return {};
  }
  if (call.backend == Backend::kCpuReference) return cpu::reference_attention(call.problem);
  return cpu::emulate_attention(call.problem, tile);
}

Status dispatch(const core::ValidatedCall& call, Workspace workspace, void* stream,
                quant::TileShape cpu_tile) {
  if (call.has_no_output()) return {};
  if (call.backend != Backend::kCuda) return run_on_cpu(call, cpu_tile);
#ifdef SAGEATTN_HAS_CUDA
  return core::run_on_cuda(call, workspace, stream);
#else
  (void)workspace;
  (void)stream;
  return {StatusCode::kInternal, "the CUDA backend was chosen in a build without CUDA"};
#endif
}

}  // namespace

Status workspace_bytes(const TensorView& q, const TensorView& k, const TensorView& v,
                       const Options& options, std::size_t* bytes) {
  if (bytes == nullptr) return core::invalid_argument("bytes: null (expected a size_t to fill)");
  *bytes = 0;
  core::ValidatedCall call;
  if (Status s = core::validate_call(q, k, v, nullptr, nullptr, options, &call); !s.ok()) return s;
#ifdef SAGEATTN_HAS_CUDA
  if (call.backend == Backend::kCuda) return core::cuda_workspace_bytes(call, bytes);
#endif
  return {};
}

Status attention(const TensorView& q, const TensorView& k, const TensorView& v,
                 const TensorView& out, const TensorView* lse, const Options& options,
                 Workspace workspace, void* stream) {
  return core::attention_with_cpu_tile(q, k, v, out, lse, options, workspace, stream,
                                       kDefaultCpuTile);
}

}  // namespace sageattn

namespace sageattn::core {

Status attention_with_cpu_tile(const TensorView& q, const TensorView& k, const TensorView& v,
                               const TensorView& out, const TensorView* lse, const Options& options,
                               Workspace workspace, void* stream, quant::TileShape cpu_tile) {
  try {
    ValidatedCall call;
    if (Status s = validate_call(q, k, v, &out, lse, options, &call); !s.ok()) return s;
    return dispatch(call, workspace, stream, cpu_tile);
  } catch (const std::bad_alloc&) {
    return {StatusCode::kOutOfMemory, "host memory allocation failed"};
  }
}

}  // namespace sageattn::core
