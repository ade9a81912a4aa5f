// The GPU test binary: says plainly when there is no device (every test then skips). On stderr:
// ctest discovers the tests by parsing stdout of --gtest_list_tests.
#include <gtest/gtest.h>

#include <iostream>

#include "gpu_support.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (!sageattn::testing::has_cuda_device()) {
    std::cerr << "sageattn_gpu_tests: no CUDA device found; every GPU test is skipped\n";
  } else {
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, 0);
    std::cerr << "sageattn_gpu_tests: " << prop.name << " (sm" << prop.major << prop.minor << ")\n";
  }
  return RUN_ALL_TESTS();
}
