/* The DLPack tensor ABI (DLTensor and the types it holds), so the C API needs no extra package.
 * When <dlpack/dlpack.h> is available it is used instead, so callers that already include it get
 * one definition. The layouts below are the DLPack ABI (stable since v0.2) and must not change. */
#ifndef SAGEATTN_DLPACK_ABI_H_
#define SAGEATTN_DLPACK_ABI_H_

#if defined(__has_include)
#if __has_include(<dlpack/dlpack.h>)
#include <dlpack/dlpack.h>
#define SAGEATTN_HAVE_SYSTEM_DLPACK 1
#endif
#endif

#ifndef SAGEATTN_HAVE_SYSTEM_DLPACK
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  kDLCPU = 1,
  kDLCUDA = 2,
  kDLCUDAHost = 3,
  kDLCUDAManaged = 13,
} DLDeviceType;

typedef struct {
  DLDeviceType device_type;
  int32_t device_id;
} DLDevice;

typedef enum {
  kDLInt = 0U,
  kDLUInt = 1U,
  kDLFloat = 2U,
  kDLBfloat = 4U,
} DLDataTypeCode;

typedef struct {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
} DLDataType;

typedef struct {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides; /* in elements; NULL means compact row-major */
  uint64_t byte_offset;
} DLTensor;

#ifdef __cplusplus
}
#endif
#endif /* !SAGEATTN_HAVE_SYSTEM_DLPACK */

#endif /* SAGEATTN_DLPACK_ABI_H_ */
