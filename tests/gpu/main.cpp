// The GPU test binary: says plainly when there is no device (every test then skips).
#include <gtest/gtest.h>

#include <iostream>

#include "gpu_support.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (!sageattn::testing::has_cuda_device()) {
    std::cout << "sageattn_gpu_tests: no CUDA device found; every GPU test is skipped\n";
  } else {
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, 0);
    std::cout << "sageattn_gpu_tests: " << prop.name << " (sm" << prop.major << prop.minor << ")\n";
  }
  return RUN_ALL_TESTS();
}
