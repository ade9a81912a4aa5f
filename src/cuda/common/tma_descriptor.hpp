// Host side of TMA: encodes a tiled tensor map. cuTensorMapEncodeTiled is a driver API function;
// it is looked up through the runtime (cudaGetDriverEntryPointByVersion) so the library needs no
// -lcuda link and loads on machines whose driver the runtime already found.
#pragma once

#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>

#include <array>
#include <cstdint>
#include <string>

#include "sageattn/types.hpp"

namespace sageattn::cuda {

// Dimensions innermost first; byte strides of dimensions 1.. (dimension 0 is contiguous).
template <int kRank>
struct TiledTensorMapSpec {
  const void* base = nullptr;
  std::array<std::uint64_t, kRank> dims{};
  std::array<std::uint64_t, kRank - 1> byte_strides{};
  std::array<std::uint32_t, kRank> box{};
  CUtensorMapSwizzle swizzle = CU_TENSOR_MAP_SWIZZLE_NONE;
};

inline Status tensor_map_encoder(PFN_cuTensorMapEncodeTiled_v12000* encode) {
  struct Lookup {
    void* function = nullptr;
    cudaError_t error = cudaSuccess;
    cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
  };
  // Looked up once per process; a function-local static is initialised thread-safely, so
  // concurrent first calls from several host threads do not race.
  static const Lookup lookup = [] {
    Lookup l;
    l.error = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &l.function, 12000,
                                               cudaEnableDefault, &l.found);
    return l;
  }();
  if (lookup.error != cudaSuccess || lookup.found != cudaDriverEntryPointSuccess ||
      lookup.function == nullptr) {
    return {StatusCode::kCudaError, std::string("cuTensorMapEncodeTiled not available: ") +
                                        cudaGetErrorString(lookup.error)};
  }
  *encode = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(lookup.function);
  return Status::ok_status();
}

// Byte-typed (int8 / e4m3 codes are moved as raw bytes), dense boxes, zero fill out of bounds.
template <int kRank>
Status encode_byte_tensor_map(const TiledTensorMapSpec<kRank>& spec, CUtensorMap* map) {
  PFN_cuTensorMapEncodeTiled_v12000 encode = nullptr;
  if (Status s = tensor_map_encoder(&encode); !s.ok()) return s;
  std::array<std::uint32_t, kRank> element_strides{};
  element_strides.fill(1);
  const CUresult result =
      encode(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, kRank, const_cast<void*>(spec.base),
             spec.dims.data(), spec.byte_strides.data(), spec.box.data(), element_strides.data(),
             CU_TENSOR_MAP_INTERLEAVE_NONE, spec.swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
             CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (result != CUDA_SUCCESS) {
    return {StatusCode::kInternal,
            "cuTensorMapEncodeTiled failed with CUresult " + std::to_string(result)};
  }
  return Status::ok_status();
}

}  // namespace sageattn::cuda
