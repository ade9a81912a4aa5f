/* sageattn C API over DLPack tensors: any framework that can export a DLTensor can call it.
 *
 * Every function returns a sageattn_status; on failure sageattn_last_error() returns a message
 * (valid until the next call on the same thread) naming the argument, the value seen and what was
 * expected. The semantics are those of sageattn::attention (sageattn/sageattn.hpp). */
#ifndef SAGEATTN_SAGEATTN_H_
#define SAGEATTN_SAGEATTN_H_

#include <stddef.h>
#include <stdint.h>

#include "sageattn/dlpack_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sageattn_status {
  SAGEATTN_OK = 0,
  SAGEATTN_INVALID_ARGUMENT = 1,
  SAGEATTN_UNSUPPORTED = 2,
  SAGEATTN_CUDA_ERROR = 3,
  SAGEATTN_OUT_OF_MEMORY = 4,
  SAGEATTN_INTERNAL = 5
} sageattn_status;

typedef enum sageattn_layout { SAGEATTN_LAYOUT_HND = 0, SAGEATTN_LAYOUT_NHD = 1 } sageattn_layout;

typedef enum sageattn_qk_quant {
  SAGEATTN_QK_AUTO = 0,
  SAGEATTN_QK_INT8_PER_BLOCK = 1,
  SAGEATTN_QK_INT8_PER_WARP = 2,
  SAGEATTN_QK_INT8_PER_THREAD = 3,
  SAGEATTN_QK_INT4_PER_THREAD = 4,
  SAGEATTN_QK_NONE = 5
} sageattn_qk_quant;

typedef enum sageattn_pv_precision {
  SAGEATTN_PV_AUTO = 0,
  SAGEATTN_PV_FP16_FP32_ACCUM = 1,
  SAGEATTN_PV_FP16_FP16_ACCUM = 2,
  SAGEATTN_PV_FP8_FP32_ACCUM = 3
} sageattn_pv_precision;

typedef enum sageattn_backend {
  SAGEATTN_BACKEND_AUTO = 0,
  SAGEATTN_BACKEND_CPU_EMULATION = 1,
  SAGEATTN_BACKEND_CPU_REFERENCE = 2,
  SAGEATTN_BACKEND_CUDA = 3
} sageattn_backend;

/* Initialise with sageattn_options_init(); struct_size lets later versions append fields. */
typedef struct sageattn_options {
  size_t struct_size;
  int32_t layout;       /* sageattn_layout */
  int32_t causal;       /* 0 or 1 */
  int32_t has_sm_scale; /* 0: sm_scale = 1/sqrt(D) */
  float sm_scale;
  int32_t qk_quant;     /* sageattn_qk_quant */
  int32_t pv_precision; /* sageattn_pv_precision */
  int32_t smooth_k;     /* default 1 */
  int32_t smooth_q;     /* default 0 */
  int32_t smooth_v;     /* default 0 */
  int32_t backend;      /* sageattn_backend */
} sageattn_options;

void sageattn_options_init(sageattn_options* options);

/* Workspace bytes sageattn_forward needs for these arguments. */
sageattn_status sageattn_workspace_size(const DLTensor* q, const DLTensor* k, const DLTensor* v,
                                        const sageattn_options* options, size_t* bytes);

/* out: the shape and dtype of q. lse: NULL or fp32 [B, Hq, Nq]. workspace: NULL (the library
 * allocates, stream-ordered) or at least sageattn_workspace_size() bytes on the tensors' device.
 * stream: a cudaStream_t, or NULL for the default stream; ignored for CPU tensors. */
sageattn_status sageattn_forward(const DLTensor* q, const DLTensor* k, const DLTensor* v,
                                 DLTensor* out, DLTensor* lse, const sageattn_options* options,
                                 void* workspace, size_t workspace_bytes, void* stream);

/* The message of this thread's last failure ("" if none). */
const char* sageattn_last_error(void);

/* "0.1.0" */
const char* sageattn_version(void);

#ifdef __cplusplus
}
#endif

#endif /* SAGEATTN_SAGEATTN_H_ */
