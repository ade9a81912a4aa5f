// The GPU test binary. Asked to run without a CUDA device it fails instead of skipping, so a
// green GPU run always means the kernels ran; CI (no GPU) excludes the label gpu instead. Listing
// works anywhere: ctest discovers the tests by parsing stdout of --gtest_list_tests, and messages
// go to stderr.
#include <gtest/gtest.h>

#include <iostream>

#include "gpu_support.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (GTEST_FLAG_GET(list_tests)) return RUN_ALL_TESTS();
  if (!sageattn::testing::has_cuda_device()) {
    std::cerr << "sageattn_gpu_tests: no CUDA device found (run the CPU suite with "
                 "ctest --preset ci, which excludes the label gpu)\n";
    return 1;
  } else {
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, 0);
    std::cerr << "sageattn_gpu_tests: " << prop.name << " (sm" << prop.major << prop.minor << ")\n";
  }
  return RUN_ALL_TESTS();
}
