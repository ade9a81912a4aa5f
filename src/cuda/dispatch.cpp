// The CUDA backend behind core (cuda_backend.hpp): options per compute capability, the workspace,
// and one call = the quantization pre-pass + the attention kernel for the device and options.
#include <cuda_runtime.h>

#include <string>

#include "cuda/common/cuda_check.hpp"
#include "cuda/cuda_backend.hpp"
#include "cuda/kernel_selection.hpp"
#include "cuda/quant/prepass.hpp"
#include "cuda/sm80/launch_table.hpp"
#ifdef SAGEATTN_HAS_SM90
#include "cuda/sm90_entry.hpp"
#endif

namespace sageattn::cuda {
namespace {

Status unsupported(const std::string& message) { return {StatusCode::kUnsupported, message}; }

std::string sm(int capability) {
  return "sm" + std::to_string(capability);
}

}  // namespace

Status compute_capability(int device, int* capability) {
  int major = 0;
  int minor = 0;
  if (Status s = cuda_status(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device),
                             "cudaDeviceGetAttribute(major)");
      !s.ok()) {
    return s;
  }
  if (Status s = cuda_status(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device),
                             "cudaDeviceGetAttribute(minor)");
      !s.ok()) {
    return s;
  }
  *capability = major * 10 + minor;
  return {};
}

Status resolve_options(int capability, QKQuant* qk_quant, PVPrecision* pv_precision) {
  if (capability < 80) {
    return unsupported("CUDA device " + sm(capability) +
                       ": sageattn's kernels need compute capability 8.0 (Ampere) or newer");
  }
  const bool fp8_cores = capability >= 89;
  if (*qk_quant == QKQuant::kAuto) *qk_quant = QKQuant::kInt8PerWarp;
  if (*pv_precision == PVPrecision::kAuto) {
    *pv_precision = fp8_cores && fp8_kernels_built() ? PVPrecision::kFp8Fp32Accum
                                                   : PVPrecision::kFp16Fp32Accum;
  }
  if (*qk_quant == QKQuant::kNone) {
    return unsupported("qk_quant kNone (fp16 Q K^T) has no CUDA kernel; it is the accuracy "
                       "baseline of the CPU emulation (Backend::kCpuEmulation)");
  }
  if (*qk_quant == QKQuant::kInt4PerThread && capability > 90) {
    return unsupported("qk_quant kInt4PerThread: " + sm(capability) +
                       " has no INT4 mma.sync; it runs on sm80, sm86, sm89 and (emulated, slow) sm90");
  }
  if (*pv_precision == PVPrecision::kFp8Fp32Accum) {
    if (!fp8_cores) {
      return unsupported("pv_precision kFp8Fp32Accum needs fp8 tensor cores (sm89 or newer); this "
                         "device is " + sm(capability) + ": use kFp16Fp32Accum or kFp16Fp16Accum");
    }
    if (!fp8_kernels_built()) {
      return unsupported("pv_precision kFp8Fp32Accum: this build has no fp8 kernels (no "
                         "architecture >= 89 in CMAKE_CUDA_ARCHITECTURES)");
    }
  }
  return {};
}

std::size_t workspace_bytes(const core::AttentionProblem& problem, int capability) {
  return plan_quantized_layout(layout_request(problem, tile_for(problem, capability))).total_bytes;
}

Status quantize(const core::AttentionProblem& problem, int capability, void* workspace,
                void* stream) {
  const quant::TileShape tile = tile_for(problem, capability);
  const QuantizedLayout layout = plan_quantized_layout(layout_request(problem, tile));
  return run_prepass(problem, layout, tile, workspace, static_cast<cudaStream_t>(stream));
}

Status attend_quantized(const core::AttentionProblem& problem, int capability,
                        const void* workspace, void* stream) {
  const quant::TileShape tile = tile_for(problem, capability);
  const QuantizedLayout layout = plan_quantized_layout(layout_request(problem, tile));
  auto* cuda_stream = static_cast<cudaStream_t>(stream);
#ifdef SAGEATTN_HAS_SM90
  if (uses_sm90_kernel(problem, capability)) {
    return sm90::launch_attention(problem, layout, workspace, cuda_stream);
  }
#endif
  return sm80::launch(problem, layout, workspace, cuda_stream);
}

Status attention(const core::AttentionProblem& problem, int capability, void* workspace,
                 void* stream) {
  if (Status s = quantize(problem, capability, workspace, stream); !s.ok()) return s;
  return attend_quantized(problem, capability, workspace, stream);
}

}  // namespace sageattn::cuda
