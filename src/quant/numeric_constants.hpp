// Constants of the quantized pipeline, shared by the CPU emulation and the kernels.
#pragma once

namespace sageattn::quant {

inline constexpr float kLog2e = 1.4426950408889634f;  // log2(e): softmax runs in the exp2 domain
inline constexpr float kLn2 = 0.6931471805599453f;    // ln(2): back to natural-log LSE
inline constexpr int kInt8Max = 127;                  // symmetric INT8: codes -127..127
inline constexpr int kInt4Max = 7;                    // symmetric INT4: codes -7..7
inline constexpr float kFp8E4M3Max = 448.0f;          // largest finite e4m3 value
inline constexpr float kFloatMax = 3.40282347e38f;    // largest finite fp32 value (FLT_MAX)
// P = exp2(s - rowmax) lies in [0, 1]; it is multiplied by this before the e4m3 conversion so
// it uses the format's whole range, and the factor is divided out of the output at the end.
inline constexpr float kFp8PScale = 448.0f;

}  // namespace sageattn::quant
