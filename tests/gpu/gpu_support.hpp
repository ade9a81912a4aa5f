// Helpers of the GPU tests: fixtures that require a device, device buffers, device copies of a
// HostProblem (unit/test_support.hpp) in its own or a padded layout, and reading results back.
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/problem.hpp"
#include "test_support.hpp"

namespace sageattn::testing {

#define SAGE_CUDA_OK(call) ASSERT_EQ(cudaSuccess, (call)) << #call

inline bool has_cuda_device() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

inline int device_capability() {
  int major = 0;
  int minor = 0;
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
  cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0);
  return major * 10 + minor;
}

// The batch, head and token extents of a grid case; the grids cycle through lists of them.
struct GridShape {
  std::int64_t batch, heads_q, heads_kv, len_q, len_kv;
};

inline void set_extents(const GridShape& shape, ProblemSpec* spec) {
  spec->batch = shape.batch;
  spec->heads_q = shape.heads_q;
  spec->heads_kv = shape.heads_kv;
  spec->len_q = shape.len_q;
  spec->len_kv = shape.len_kv;
}

// The variation a kernel grid gives its i-th case (rep: its repeat within one kernel variant):
// extents cycled from `shapes`, element type, layout, input family (no heavy tails: those are the
// bench's job) and smooth_v.
inline void vary_grid_case(const std::vector<GridShape>& shapes, int i, int rep,
                           ProblemSpec* spec) {
  set_extents(shapes[static_cast<std::size_t>(i * 7 + rep) % shapes.size()], spec);
  spec->dtype = i % 2 ? DType::kBFloat16 : DType::kFloat16;
  spec->layout = i % 3 == 1 ? Layout::kNHD : Layout::kHND;
  spec->family = static_cast<InputFamily>(i % 3);
  spec->smooth_v = i % 4 == 3;
}

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(has_cuda_device()) << "GPU tests need a CUDA device"; }
};

template <typename Param>
class GpuParamTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override { ASSERT_TRUE(has_cuda_device()) << "GPU tests need a CUDA device"; }
};

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
    if (bytes > 0 && cudaMalloc(&data_, bytes) != cudaSuccess) data_ = nullptr;
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* get() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  template <typename T>
  std::vector<T> read(std::size_t offset, std::size_t count) const {
    std::vector<T> host(count);
    if (count > 0)
      cudaMemcpy(host.data(), static_cast<char*>(data_) + offset, count * sizeof(T),
                 cudaMemcpyDeviceToHost);
    return host;
  }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// A 16-bit tensor on the device. `token_pad` extra elements after each token row (and 8 after
// each head) give non-dense strides; the gaps hold 0xFFFF so a stray write is visible.
struct DeviceTensor {
  core::TokenStrides strides;
  std::size_t elements = 0;
  std::unique_ptr<DeviceBuffer> buffer;

  DeviceTensor(const HostTensor& t, int token_pad) {
    const std::int64_t row = t.head_dim + token_pad;
    const std::int64_t head_gap = token_pad > 0 ? 8 : 0;
    if (t.layout == Layout::kHND) {
      strides.token = row;
      strides.head = t.tokens * row + head_gap;
      strides.batch = t.heads * strides.head;
    } else {
      strides.head = row;
      strides.token = t.heads * row + head_gap;
      strides.batch = t.tokens * strides.token;
    }
    elements = static_cast<std::size_t>(t.batch * strides.batch);
    std::vector<std::uint16_t> staged(elements, 0xFFFF);
    for (std::int64_t b = 0; b < t.batch; ++b)
      for (std::int64_t h = 0; h < t.heads; ++h)
        for (std::int64_t n = 0; n < t.tokens; ++n)
          std::memcpy(&staged[static_cast<std::size_t>(strides.offset(b, h, n))],
                      &t.half_bits[t.index(b, h, n, 0)], t.head_dim * 2);
    buffer = std::make_unique<DeviceBuffer>(elements * 2);
    cudaMemcpy(buffer->get(), staged.data(), elements * 2, cudaMemcpyHostToDevice);
  }
  std::vector<std::uint16_t> read() const { return buffer->read<std::uint16_t>(0, elements); }
};

// The device twin of a HostProblem: same values, same options, optionally padded strides.
struct DeviceProblem {
  DeviceTensor q, k, v, out;
  DeviceBuffer lse;
  core::AttentionProblem problem;

  DeviceProblem(const HostProblem& host, int token_pad, bool want_lse)
      : q(host.q, token_pad),
        k(host.k, token_pad),
        v(host.v, token_pad),
        out(host.out, token_pad),
        lse(host.lse.size() * sizeof(float)) {
    problem = host.problem;
    problem.device = {DeviceKind::kCUDA, 0};
    problem.q = q.buffer->get();
    problem.k = k.buffer->get();
    problem.v = v.buffer->get();
    problem.out = out.buffer->get();
    problem.q_strides = q.strides;
    problem.k_strides = k.strides;
    problem.v_strides = v.strides;
    problem.out_strides = out.strides;
    problem.lse = want_lse ? static_cast<float*>(lse.get()) : nullptr;
    cudaMemset(lse.get(), 0xFF, lse.bytes());  // NaN
  }

  // The output in [B, Hq, Nq, D] order, and whether every byte outside the tensor is untouched.
  std::vector<float> output(const HostProblem& host, bool* gaps_untouched) const {
    const std::vector<std::uint16_t> bits = out.read();
    std::vector<bool> inside(bits.size(), false);
    std::vector<float> values;
    const HostTensor& t = host.out;
    for (std::int64_t b = 0; b < t.batch; ++b)
      for (std::int64_t h = 0; h < t.heads; ++h)
        for (std::int64_t n = 0; n < t.tokens; ++n)
          for (int d = 0; d < t.head_dim; ++d) {
            const auto i = static_cast<std::size_t>(out.strides.offset(b, h, n) + d);
            inside[i] = true;
            values.push_back(t.dtype == DType::kFloat16 ? cpu::fp16_to_float(bits[i])
                                                        : cpu::bf16_to_float(bits[i]));
          }
    *gaps_untouched = true;
    for (std::size_t i = 0; i < bits.size(); ++i) {
      if (!inside[i] && bits[i] != 0xFFFF) *gaps_untouched = false;
    }
    return values;
  }
};

}  // namespace sageattn::testing
