// Value types of the public C++ API: tensor views, devices, dtypes and the Status error value.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>

namespace sageattn {

enum class DType : std::uint8_t { kFloat16, kBFloat16, kFloat32 };

enum class DeviceKind : std::uint8_t { kCPU, kCUDA };

struct Device {
  DeviceKind kind = DeviceKind::kCPU;
  int index = 0;
};

// A non-owning view of a rank-4 tensor (rank 3 for the LSE output). Strides are in elements, not
// bytes; any batch/head/sequence stride is accepted, the innermost (head-dim) stride must be 1.
struct TensorView {
  void* data = nullptr;
  DType dtype = DType::kFloat16;
  int rank = 4;
  std::array<std::int64_t, 4> shape{};
  std::array<std::int64_t, 4> strides{};
  Device device{};

  // A dense row-major view (strides derived from the shape).
  static TensorView contiguous(void* data, DType dtype, std::array<std::int64_t, 4> shape,
                               Device device = {});
  static TensorView contiguous3(void* data, DType dtype, std::array<std::int64_t, 3> shape,
                                Device device = {});
};

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // the caller passed something malformed (shape, dtype, stride, pointer)
  kUnsupported = 2,      // well-formed, but this build or device cannot run it
  kCudaError = 3,        // a CUDA runtime call failed
  kOutOfMemory = 4,
  kInternal = 5,
};

// Errors are values. A Status is checked once at the API boundary; kernels assume valid input.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return {}; }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

const char* to_string(DType dtype);
const char* to_string(StatusCode code);

inline std::size_t dtype_size(DType dtype) { return dtype == DType::kFloat32 ? 4 : 2; }

}  // namespace sageattn
