// Programmatic dependent launch (sm90+): a kernel launched with the attribute may start while the
// kernel before it in the stream is still running. It must wait (wait_for_prerequisite_grid) before
// it touches memory that kernel writes; the earlier kernel says when the next one may be scheduled
// (allow_dependent_launch). Without the attribute, and on older devices, both are no-ops and the
// launches serialise as usual.
#pragma once

#include <cuda_runtime.h>

namespace sageattn::cuda {

inline bool dependent_launch_supported() {
  int device = 0;
  int major = 0;
  return cudaGetDevice(&device) == cudaSuccess &&
         cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
         major >= 9;
}

// Lets the launch described by `config` start early where the device supports it; `attribute`
// must outlive the launch call.
inline void allow_early_start(cudaLaunchConfig_t* config, cudaLaunchAttribute* attribute) {
  if (!dependent_launch_supported()) return;
  attribute->id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute->val.programmaticStreamSerializationAllowed = 1;
  config->attrs = attribute;
  config->numAttrs = 1;
}

#ifdef __CUDACC__
__device__ __forceinline__ void allow_dependent_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// Returns once the kernels this one may overlap have finished and their writes are visible.
__device__ __forceinline__ void wait_for_prerequisite_grid() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
#endif

}  // namespace sageattn::cuda
