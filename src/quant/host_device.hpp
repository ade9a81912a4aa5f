// SAGE_HD marks functions compiled for both the host (CPU emulation, tests) and the device
// (kernels), so each numeric rule is written once.
#pragma once

#if defined(__CUDACC__)
#define SAGE_HD __host__ __device__ __forceinline__
#else
#define SAGE_HD inline
#endif
