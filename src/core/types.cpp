// The out-of-line parts of the public value types.
#include "sageattn/types.hpp"

namespace sageattn {
namespace {

template <std::size_t Rank>
std::array<std::int64_t, 4> row_major_strides(const std::array<std::int64_t, Rank>& shape) {
  std::array<std::int64_t, 4> strides{};
  std::int64_t stride = 1;
  for (std::size_t d = Rank; d-- > 0;) {
    strides[d] = stride;
    stride *= shape[d];
  }
  return strides;
}

}  // namespace

TensorView TensorView::contiguous(void* data, DType dtype, std::array<std::int64_t, 4> shape,
                                  Device device) {
  return TensorView{data, dtype, 4, shape, row_major_strides(shape), device};
}

TensorView TensorView::contiguous3(void* data, DType dtype, std::array<std::int64_t, 3> shape,
                                   Device device) {
  return TensorView{data,  dtype, 3, {shape[0], shape[1], shape[2], 0}, row_major_strides(shape),
                    device};
}

const char* to_string(DType dtype) {
  switch (dtype) {
    case DType::kFloat16:
      return "float16";
    case DType::kBFloat16:
      return "bfloat16";
    case DType::kFloat32:
      return "float32";
  }
  return "unknown dtype";
}

const char* to_string(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid argument";
    case StatusCode::kUnsupported:
      return "unsupported";
    case StatusCode::kCudaError:
      return "CUDA error";
    case StatusCode::kOutOfMemory:
      return "out of memory";
    case StatusCode::kInternal:
      return "internal error";
  }
  return "unknown status";
}

}  // namespace sageattn
