/* sageattn from C over DLPack tensors: any framework that exports a DLTensor can call this.
 * Host memory runs the CPU emulation; kDLCUDA tensors and a cudaStream_t run on the GPU. */
#include <sageattn/sageattn.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  int64_t shape[4] = {1, 8, 256, 64}; /* [B, H, N, D], HND */
  int64_t lse_shape[3] = {1, 8, 256};
  const size_t count = 1 * 8 * 256 * 64;
  uint16_t* q = calloc(count, sizeof(uint16_t));
  uint16_t* k = calloc(count, sizeof(uint16_t));
  uint16_t* v = calloc(count, sizeof(uint16_t));
  uint16_t* out = calloc(count, sizeof(uint16_t));
  float* lse = calloc(8 * 256, sizeof(float));
  if (!q || !k || !v || !out || !lse) return 1;
  for (size_t i = 0; i < count; ++i) {
    q[i] = (uint16_t)(0x3000 + i % 512); /* fp16 bit patterns of values in [0.125, 0.25) */
    k[i] = (uint16_t)(0x3400 + i % 256);
    v[i] = (uint16_t)(0x3800 + i % 128);
  }

  DLDataType fp16 = {kDLFloat, 16, 1};
  DLDataType fp32 = {kDLFloat, 32, 1};
  DLDevice cpu = {kDLCPU, 0};
  /* strides NULL: compact row-major */
  DLTensor q_t = {q, cpu, 4, fp16, shape, NULL, 0};
  DLTensor k_t = {k, cpu, 4, fp16, shape, NULL, 0};
  DLTensor v_t = {v, cpu, 4, fp16, shape, NULL, 0};
  DLTensor out_t = {out, cpu, 4, fp16, shape, NULL, 0};
  DLTensor lse_t = {lse, cpu, 3, fp32, lse_shape, NULL, 0};

  sageattn_options options;
  sageattn_options_init(&options);
  options.causal = 1;

  sageattn_status status =
      sageattn_forward(&q_t, &k_t, &v_t, &out_t, &lse_t, &options, NULL, 0, NULL);
  if (status != SAGEATTN_OK) {
    fprintf(stderr, "sageattn %s: %s\n", sageattn_version(), sageattn_last_error());
    return 1;
  }
  printf("sageattn %s: lse[0, 0, 255] = %.4f\n", sageattn_version(), lse[255]);
  free(q);
  free(k);
  free(v);
  free(out);
  free(lse);
  return 0;
}
