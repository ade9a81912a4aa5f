// wgmma (sm_90a) wrappers: shared-memory matrix descriptors and the two warpgroup MMA chains the
// attention kernel issues: INT8 Q K^T with both operands in shared memory, and FP8 e4m3 P V with
// P in registers. Both operands of 8-bit wgmma must be K-major (the reduction dimension
// contiguous); the kernel's tiles are laid out for that (see sm90/kernel_traits.hpp).
//
// Accumulator fragment of m64nN (s32 and f32 alike): warp w of the warpgroup owns rows
// 16w..16w+15; lane l holds rows g = l/4 and g + 8, columns 8j + 2(l%4) + {0, 1}, in registers
// d[4j + 0/1] (row g) and d[4j + 2/3] (row g + 8).
// A fragment of an 8-bit k32 step from registers: a[0] = row g, k = 4(l%4)..+3; a[1] = row g+8,
// same k; a[2] = row g, k = 16 + 4(l%4)..+3; a[3] = row g+8, same k (lowest byte = lowest k).
//
// Each wrapper issues a whole k-chain (fence, the k-steps, commit) in one asm statement, so the
// compiler cannot schedule other instructions between the k-steps. ptxas serialises every wgmma
// of a kernel (a wait after each) as soon as any instruction between an issue and its wait writes
// a register that a wgmma of that group reads; the rules for callers that follow from it:
//   - accumulators are in/out operands: the compiler keeps their registers reserved up to the
//     issue instead of using them as temporaries (the first k-step ignores their value);
//   - the A fragments are in/out operands too, and must be kept alive (fence_registers) until the
//     wait: the hardware reads them until the wgmma completes, the compiler sees a read at issue;
//   - the descriptors of a wgmma issued after another one of the same group are inputs as well:
//     compute them (and fence them) before the group's first issue.
#pragma once

#include <cstdint>

namespace sageattn::cuda::device {

// Layout type field (bits 62-63) of an sm90 shared-memory matrix descriptor.
enum class SmemSwizzle : std::uint64_t { k128B = 1, k64B = 2, k32B = 3 };

// Descriptor of a K-major, swizzled operand: rows of `row_bytes` (= the swizzle width) in groups of
// 8 rows (`stride_bytes` = 8 * row_bytes apart, the stride byte offset). The leading byte offset
// is unused when a k-step lies inside one swizzle row. The tile must start on a 1024-byte boundary
// so the swizzle phase (base offset field) is 0; a k-step's offset inside the row is added to the
// start address.
__device__ __forceinline__ std::uint64_t make_smem_descriptor(const void* smem, SmemSwizzle swizzle,
                                                              std::uint32_t stride_bytes) {
  const auto address = static_cast<std::uint64_t>(__cvta_generic_to_shared(smem));
  std::uint64_t desc = 0;
  desc |= (address & 0x3FFFF) >> 4;
  desc |= std::uint64_t{1} << 16;
  desc |= static_cast<std::uint64_t>((stride_bytes >> 4) & 0x3FFF) << 32;
  desc |= static_cast<std::uint64_t>(swizzle) << 62;
  return desc;
}

// Byte offsets inside the descriptor's start address field (address >> 4).
__device__ __forceinline__ std::uint64_t advance_descriptor(std::uint64_t desc,
                                                            std::uint32_t bytes) {
  return desc + (bytes >> 4);
}

template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(kPending) : "memory");
}

// Keeps the compiler from moving accesses of these registers across an in-flight wgmma. The
// constraint matches the type: a float fenced as "r" makes the compiler keep it in an integer
// register and copy it into a float one right before the wgmma, and that copy counts as writing
// a wgmma input inside the pipeline stage (the serialisation above).
__device__ __forceinline__ void fence_register(float& r) { asm volatile("" : "+f"(r)::"memory"); }
__device__ __forceinline__ void fence_register(std::int32_t& r) {
  asm volatile("" : "+r"(r)::"memory");
}
__device__ __forceinline__ void fence_register(std::uint32_t& r) {
  asm volatile("" : "+r"(r)::"memory");
}
__device__ __forceinline__ void fence_register(std::uint64_t& r) {
  asm volatile("" : "+l"(r)::"memory");
}
template <typename T, int kN>
__device__ __forceinline__ void fence_registers(T (&r)[kN]) {
#pragma unroll
  for (int i = 0; i < kN; ++i) fence_register(r[i]);
}

// D[64 x 128] (s32) = A[64 x 128] (s8, smem) * B[128 x 128]^T (s8, smem), both K-major:
// 4 k-steps, descriptors per step. One commit group.
__device__ __forceinline__ void wgmma_s8_m64n128_k128(std::int32_t (&d)[64],
                                                      const std::uint64_t (&desc_a)[4],
                                                      const std::uint64_t (&desc_b)[4]) {
  asm volatile(
      "wgmma.fence.sync.aligned;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, "
      "%10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, "
      "%28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, "
      "%46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "%64, %65, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, "
      "%10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, "
      "%28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, "
      "%46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "%66, %67, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, "
      "%10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, "
      "%28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, "
      "%46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "%68, %69, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, "
      "%10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, "
      "%28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, "
      "%46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "%70, %71, 1;\n"
      "wgmma.commit_group.sync.aligned;\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]),
        "+r"(d[7]), "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]),
        "+r"(d[14]), "+r"(d[15]), "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]),
        "+r"(d[21]), "+r"(d[22]), "+r"(d[23]), "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]),
        "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]), "+r"(d[32]), "+r"(d[33]), "+r"(d[34]),
        "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]), "+r"(d[40]), "+r"(d[41]),
        "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]), "+r"(d[48]),
        "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]),
        "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]),
        "+r"(d[63])
      : "l"(desc_a[0]), "l"(desc_b[0]), "l"(desc_a[1]), "l"(desc_b[1]), "l"(desc_a[2]),
        "l"(desc_b[2]), "l"(desc_a[3]), "l"(desc_b[3])
      : "memory");
}

// D[64 x 128] (s32) = A[64 x 64] (s8, smem) * B[128 x 64]^T (s8, smem), both K-major:
// 2 k-steps, descriptors per step. One commit group.
__device__ __forceinline__ void wgmma_s8_m64n128_k64(std::int32_t (&d)[64],
                                                     const std::uint64_t (&desc_a)[2],
                                                     const std::uint64_t (&desc_b)[2]) {
  asm volatile(
      "wgmma.fence.sync.aligned;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, "
      "%10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, "
      "%28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, "
      "%46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "%64, %65, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, "
      "%10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, "
      "%28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, "
      "%46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "%66, %67, 1;\n"
      "wgmma.commit_group.sync.aligned;\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]),
        "+r"(d[7]), "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]),
        "+r"(d[14]), "+r"(d[15]), "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]),
        "+r"(d[21]), "+r"(d[22]), "+r"(d[23]), "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]),
        "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]), "+r"(d[32]), "+r"(d[33]), "+r"(d[34]),
        "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]), "+r"(d[40]), "+r"(d[41]),
        "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]), "+r"(d[48]),
        "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]),
        "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]),
        "+r"(d[63])
      : "l"(desc_a[0]), "l"(desc_b[0]), "l"(desc_a[1]), "l"(desc_b[1])
      : "memory");
}

// D[64 x 128] (f32) = A[64 x 128] (e4m3, registers) * B[128 x 128]^T (e4m3, smem, K-major):
// 4 k-steps. One commit group.
__device__ __forceinline__ void wgmma_e4m3_m64n128_k128(float (&d)[64], std::uint32_t (&a)[4][4],
                                                        const std::uint64_t (&desc_b)[4]) {
  asm volatile(
      "wgmma.fence.sync.aligned;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 {%0, %1, %2, %3, %4, %5, %6, %7, %8, "
      "%9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, "
      "%27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, "
      "%45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, "
      "%63}, {%64, %65, %66, %67}, %80, 0, 1, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 {%0, %1, %2, %3, %4, %5, %6, %7, %8, "
      "%9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, "
      "%27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, "
      "%45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, "
      "%63}, {%68, %69, %70, %71}, %81, 1, 1, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 {%0, %1, %2, %3, %4, %5, %6, %7, %8, "
      "%9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, "
      "%27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, "
      "%45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, "
      "%63}, {%72, %73, %74, %75}, %82, 1, 1, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 {%0, %1, %2, %3, %4, %5, %6, %7, %8, "
      "%9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, "
      "%27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, "
      "%45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, "
      "%63}, {%76, %77, %78, %79}, %83, 1, 1, 1;\n"
      "wgmma.commit_group.sync.aligned;\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),
        "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
        "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]),
        "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]),
        "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),
        "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]),
        "+f"(d[63]), "+r"(a[0][0]), "+r"(a[0][1]), "+r"(a[0][2]), "+r"(a[0][3]), "+r"(a[1][0]),
        "+r"(a[1][1]), "+r"(a[1][2]), "+r"(a[1][3]), "+r"(a[2][0]), "+r"(a[2][1]), "+r"(a[2][2]),
        "+r"(a[2][3]), "+r"(a[3][0]), "+r"(a[3][1]), "+r"(a[3][2]), "+r"(a[3][3])
      : "l"(desc_b[0]), "l"(desc_b[1]), "l"(desc_b[2]), "l"(desc_b[3])
      : "memory");
}

// D[64 x 64] (f32) = A[64 x 128] (e4m3, registers) * B[64 x 128]^T (e4m3, smem, K-major):
// 4 k-steps. One commit group.
__device__ __forceinline__ void wgmma_e4m3_m64n64_k128(float (&d)[32], std::uint32_t (&a)[4][4],
                                                       const std::uint64_t (&desc_b)[4]) {
  asm volatile(
      "wgmma.fence.sync.aligned;\n"
      "wgmma.mma_async.sync.aligned.m64n64k32.f32.e4m3.e4m3 {%0, %1, %2, %3, %4, %5, %6, %7, %8, "
      "%9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, "
      "%27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %48, 0, 1, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n64k32.f32.e4m3.e4m3 {%0, %1, %2, %3, %4, %5, %6, %7, %8, "
      "%9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, "
      "%27, %28, %29, %30, %31}, {%36, %37, %38, %39}, %49, 1, 1, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n64k32.f32.e4m3.e4m3 {%0, %1, %2, %3, %4, %5, %6, %7, %8, "
      "%9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, "
      "%27, %28, %29, %30, %31}, {%40, %41, %42, %43}, %50, 1, 1, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n64k32.f32.e4m3.e4m3 {%0, %1, %2, %3, %4, %5, %6, %7, %8, "
      "%9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, "
      "%27, %28, %29, %30, %31}, {%44, %45, %46, %47}, %51, 1, 1, 1;\n"
      "wgmma.commit_group.sync.aligned;\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),
        "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
        "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+r"(a[0][0]), "+r"(a[0][1]),
        "+r"(a[0][2]), "+r"(a[0][3]), "+r"(a[1][0]), "+r"(a[1][1]), "+r"(a[1][2]), "+r"(a[1][3]),
        "+r"(a[2][0]), "+r"(a[2][1]), "+r"(a[2][2]), "+r"(a[2][3]), "+r"(a[3][0]), "+r"(a[3][1]),
        "+r"(a[3][2]), "+r"(a[3][3])
      : "l"(desc_b[0]), "l"(desc_b[1]), "l"(desc_b[2]), "l"(desc_b[3])
      : "memory");
}

}  // namespace sageattn::cuda::device
