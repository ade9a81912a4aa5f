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

// The accumulator of an m64nN wgmma is N/2 registers per thread, bound to the asm operands
// %0 .. %(N/2 - 1) in every instruction below; these macros spell that list once.
#define SAGE_WGMMA_ACC64                                                                        \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
  "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, "  \
  "%38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, "  \
  "%56, %57, %58, %59, %60, %61, %62, %63}"
#define SAGE_WGMMA_ACC68                                                                        \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
  "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, "  \
  "%38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, "  \
  "%56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67}"
#define SAGE_WGMMA_ACC36                                                                        \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
  "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35}"
#define SAGE_WGMMA_ACC32_OPERANDS(c, d)                                                         \
  c(d[0]), c(d[1]), c(d[2]), c(d[3]), c(d[4]), c(d[5]), c(d[6]), c(d[7]), c(d[8]), c(d[9]),     \
      c(d[10]), c(d[11]), c(d[12]), c(d[13]), c(d[14]), c(d[15]), c(d[16]), c(d[17]), c(d[18]), \
      c(d[19]), c(d[20]), c(d[21]), c(d[22]), c(d[23]), c(d[24]), c(d[25]), c(d[26]), c(d[27]), \
      c(d[28]), c(d[29]), c(d[30]), c(d[31])
#define SAGE_WGMMA_ACC36_OPERANDS(c, d) \
  SAGE_WGMMA_ACC32_OPERANDS(c, d), c(d[32]), c(d[33]), c(d[34]), c(d[35])
#define SAGE_WGMMA_ACC64_OPERANDS(c, d)                                                         \
  c(d[0]), c(d[1]), c(d[2]), c(d[3]), c(d[4]), c(d[5]), c(d[6]), c(d[7]), c(d[8]), c(d[9]),     \
      c(d[10]), c(d[11]), c(d[12]), c(d[13]), c(d[14]), c(d[15]), c(d[16]), c(d[17]), c(d[18]), \
      c(d[19]), c(d[20]), c(d[21]), c(d[22]), c(d[23]), c(d[24]), c(d[25]), c(d[26]), c(d[27]), \
      c(d[28]), c(d[29]), c(d[30]), c(d[31]), c(d[32]), c(d[33]), c(d[34]), c(d[35]), c(d[36]), \
      c(d[37]), c(d[38]), c(d[39]), c(d[40]), c(d[41]), c(d[42]), c(d[43]), c(d[44]), c(d[45]), \
      c(d[46]), c(d[47]), c(d[48]), c(d[49]), c(d[50]), c(d[51]), c(d[52]), c(d[53]), c(d[54]), \
      c(d[55]), c(d[56]), c(d[57]), c(d[58]), c(d[59]), c(d[60]), c(d[61]), c(d[62]), c(d[63])
#define SAGE_WGMMA_ACC68_OPERANDS(c, d) \
  SAGE_WGMMA_ACC64_OPERANDS(c, d), c(d[64]), c(d[65]), c(d[66]), c(d[67])
// The 8-bit A fragments of a k128 chain from registers (4 k-steps x 4 registers), in/out operands.
#define SAGE_WGMMA_A_FRAGMENT_OPERANDS(a)                                                       \
  "+r"(a[0][0]), "+r"(a[0][1]), "+r"(a[0][2]), "+r"(a[0][3]), "+r"(a[1][0]), "+r"(a[1][1]),     \
      "+r"(a[1][2]), "+r"(a[1][3]), "+r"(a[2][0]), "+r"(a[2][1]), "+r"(a[2][2]), "+r"(a[2][3]), \
      "+r"(a[3][0]), "+r"(a[3][1]), "+r"(a[3][2]), "+r"(a[3][3])

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

// Shared memory written by ordinary stores becomes visible to wgmma's operand reads (the async
// proxy) only after this fence (and a barrier to the issuing warps).
__device__ __forceinline__ void fence_shared_for_wgmma() {
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
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
      "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 " SAGE_WGMMA_ACC64
      ", %64, %65, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 " SAGE_WGMMA_ACC64
      ", %66, %67, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 " SAGE_WGMMA_ACC64
      ", %68, %69, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 " SAGE_WGMMA_ACC64
      ", %70, %71, 1;\n"
      "wgmma.commit_group.sync.aligned;\n"
      : SAGE_WGMMA_ACC64_OPERANDS("+r", d)
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
      "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 " SAGE_WGMMA_ACC64
      ", %64, %65, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 " SAGE_WGMMA_ACC64
      ", %66, %67, 1;\n"
      "wgmma.commit_group.sync.aligned;\n"
      : SAGE_WGMMA_ACC64_OPERANDS("+r", d)
      : "l"(desc_a[0]), "l"(desc_b[0]), "l"(desc_a[1]), "l"(desc_b[1])
      : "memory");
}

// D[64 x 72] (f32) = A[64 x 128] (e4m3, registers) * B[72 x 128]^T (e4m3, smem, K-major):
// 4 k-steps. One commit group. The hd64 P V: B is the stage's 64-row V^T tile and 8 rows of ones
// (sm90/kernel_traits.hpp), so D's last 8 columns are the row sums of P as the tensor core read it.
__device__ __forceinline__ void wgmma_e4m3_m64n72_k128(float (&d)[36], std::uint32_t (&a)[4][4],
                                                       const std::uint64_t (&desc_b)[4]) {
  asm volatile(
      "wgmma.fence.sync.aligned;\n"
      "wgmma.mma_async.sync.aligned.m64n72k32.f32.e4m3.e4m3 " SAGE_WGMMA_ACC36
      ", {%36, %37, %38, %39}, %52, 0, 1, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n72k32.f32.e4m3.e4m3 " SAGE_WGMMA_ACC36
      ", {%40, %41, %42, %43}, %53, 1, 1, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n72k32.f32.e4m3.e4m3 " SAGE_WGMMA_ACC36
      ", {%44, %45, %46, %47}, %54, 1, 1, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n72k32.f32.e4m3.e4m3 " SAGE_WGMMA_ACC36
      ", {%48, %49, %50, %51}, %55, 1, 1, 1;\n"
      "wgmma.commit_group.sync.aligned;\n"
      : SAGE_WGMMA_ACC36_OPERANDS("+f", d), SAGE_WGMMA_A_FRAGMENT_OPERANDS(a)
      : "l"(desc_b[0]), "l"(desc_b[1]), "l"(desc_b[2]), "l"(desc_b[3])
      : "memory");
}

// D[64 x 136] (f32) = A[64 x 128] (e4m3, registers) * B[136 x 128]^T (e4m3, smem, K-major)
// (+ D with kAccumulate): 4 k-steps. One commit group. The hd128 P V: B is the stage's 128-row V^T
// tile and 8 rows of ones, so D's last 8 columns are the row sums of P (as at hd64).
template <bool kAccumulate>
__device__ __forceinline__ void wgmma_e4m3_m64n136_k128(float (&d)[68], std::uint32_t (&a)[4][4],
                                                        const std::uint64_t (&desc_b)[4]) {
  asm volatile(
      "wgmma.fence.sync.aligned;\n"
      "wgmma.mma_async.sync.aligned.m64n136k32.f32.e4m3.e4m3 " SAGE_WGMMA_ACC68
      ", {%68, %69, %70, %71}, %84, %88, 1, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n136k32.f32.e4m3.e4m3 " SAGE_WGMMA_ACC68
      ", {%72, %73, %74, %75}, %85, 1, 1, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n136k32.f32.e4m3.e4m3 " SAGE_WGMMA_ACC68
      ", {%76, %77, %78, %79}, %86, 1, 1, 1;\n"
      "wgmma.mma_async.sync.aligned.m64n136k32.f32.e4m3.e4m3 " SAGE_WGMMA_ACC68
      ", {%80, %81, %82, %83}, %87, 1, 1, 1;\n"
      "wgmma.commit_group.sync.aligned;\n"
      : SAGE_WGMMA_ACC68_OPERANDS("+f", d), SAGE_WGMMA_A_FRAGMENT_OPERANDS(a)
      : "l"(desc_b[0]), "l"(desc_b[1]), "l"(desc_b[2]), "l"(desc_b[3]), "n"(kAccumulate ? 1 : 0)
      : "memory");
}

}  // namespace sageattn::cuda::device
