#include "core/dlpack_view.hpp"

#include <cstddef>
#include <cstdint>

#include "core/message.hpp"

namespace sageattn::core {
namespace {

Status dtype_from_dlpack(const char* name, DLDataType dtype, DType* converted) {
  if (dtype.lanes != 1) {
    return unsupported(name, ": dtype lanes ", dtype.lanes, " (expected 1)");
  }
  if (dtype.code == kDLFloat && dtype.bits == 16) {
    *converted = DType::kFloat16;
  } else if (dtype.code == kDLBfloat && dtype.bits == 16) {
    *converted = DType::kBFloat16;
  } else if (dtype.code == kDLFloat && dtype.bits == 32) {
    *converted = DType::kFloat32;
  } else {
    return unsupported(name, ": DLPack dtype (code ", static_cast<int>(dtype.code), ", bits ",
                       static_cast<int>(dtype.bits),
                       ") is not supported (expected float16, bfloat16 or float32)");
  }
  return {};
}

Status device_from_dlpack(const char* name, DLDevice device, Device* converted) {
  if (device.device_type == kDLCPU) {
    *converted = {DeviceKind::kCPU, 0};
  } else if (device.device_type == kDLCUDA) {
    *converted = {DeviceKind::kCUDA, device.device_id};
  } else {
    return unsupported(name, ": DLPack device type ", static_cast<int>(device.device_type),
                       " is not supported (expected kDLCPU or kDLCUDA; pinned-host and managed "
                       "memory are not accepted)");
  }
  return {};
}

Status flag_from_c(const char* name, std::int32_t value, bool* converted) {
  if (value != 0 && value != 1) {
    return invalid_argument("options.", name, ": ", value, " (expected 0 or 1)");
  }
  *converted = value == 1;
  return {};
}

// The C enums travel as int32; core checks the range of anything that fits the C++ enum's byte.
template <class Enum>
Status enum_from_c(const char* name, std::int32_t value, Enum* converted) {
  if (value < 0 || value > 255) {
    return invalid_argument("options.", name, ": value ", value, " is out of range");
  }
  *converted = static_cast<Enum>(value);
  return {};
}

bool trailing_bytes_are_zero(const sageattn_options* options) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(options);
  for (std::size_t i = sizeof(sageattn_options); i < options->struct_size; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

}  // namespace

Status view_from_dlpack(const char* name, const DLTensor* tensor, int expected_rank,
                        TensorView* view) {
  if (tensor == nullptr) return invalid_argument(name, ": null (expected a DLTensor)");
  if (tensor->ndim != expected_rank) {
    return invalid_argument(name, ": rank ", tensor->ndim, " (expected ", expected_rank, ")");
  }
  if (tensor->shape == nullptr) return invalid_argument(name, ": shape is null");
  TensorView converted;
  if (Status s = dtype_from_dlpack(name, tensor->dtype, &converted.dtype); !s.ok()) return s;
  if (Status s = device_from_dlpack(name, tensor->device, &converted.device); !s.ok()) return s;
  converted.rank = expected_rank;
  std::int64_t compact_stride = 1;
  for (int d = expected_rank; d-- > 0;) {
    converted.shape[d] = tensor->shape[d];
    converted.strides[d] = tensor->strides != nullptr ? tensor->strides[d] : compact_stride;
    if (__builtin_mul_overflow(compact_stride, tensor->shape[d], &compact_stride)) {
      return invalid_argument(name, ": shape has more elements than can be addressed");
    }
  }
  converted.data =
      tensor->data == nullptr ? nullptr : static_cast<char*>(tensor->data) + tensor->byte_offset;
  *view = converted;
  return {};
}

Status options_from_c(const sageattn_options* options, Options* converted) {
  *converted = Options{};
  if (options == nullptr) return {};
  if (options->struct_size < sizeof(sageattn_options)) {
    return invalid_argument("options: struct_size ", options->struct_size, " (expected ",
                            sizeof(sageattn_options), "; initialise with sageattn_options_init)");
  }
  if (!trailing_bytes_are_zero(options)) {
    return unsupported("options: struct_size ", options->struct_size,
                       " carries non-zero fields past the ", sizeof(sageattn_options),
                       " bytes this library version knows");
  }
  bool has_sm_scale = false;
  if (Status s = enum_from_c("layout", options->layout, &converted->layout); !s.ok()) return s;
  if (Status s = flag_from_c("causal", options->causal, &converted->causal); !s.ok()) return s;
  if (Status s = flag_from_c("has_sm_scale", options->has_sm_scale, &has_sm_scale); !s.ok()) {
    return s;
  }
  if (has_sm_scale) converted->sm_scale = options->sm_scale;
  if (Status s = enum_from_c("qk_quant", options->qk_quant, &converted->qk_quant); !s.ok()) {
    return s;
  }
  if (Status s = enum_from_c("pv_precision", options->pv_precision, &converted->pv_precision);
      !s.ok()) {
    return s;
  }
  if (Status s = flag_from_c("smooth_k", options->smooth_k, &converted->smooth_k); !s.ok()) {
    return s;
  }
  if (Status s = flag_from_c("smooth_q", options->smooth_q, &converted->smooth_q); !s.ok()) {
    return s;
  }
  if (Status s = flag_from_c("smooth_v", options->smooth_v, &converted->smooth_v); !s.ok()) {
    return s;
  }
  return enum_from_c("backend", options->backend, &converted->backend);
}

}  // namespace sageattn::core
