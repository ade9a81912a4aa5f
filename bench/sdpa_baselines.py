"""PyTorch SDPA baselines for the sweep (FlashAttention-2 and cuDNN backends), same shapes as
sweep.cpp: B=4, H=32, bf16, HND, D {64,128} x causal x N {1k,4k,16k}. Median of
triton.testing.do_bench. Prints one JSON object."""
import json
import sys

import torch
import torch.nn.functional as F
import triton
from torch.nn.attention import SDPBackend, sdpa_kernel

BATCH, HEADS = 4, 32
BACKENDS = {"fa2": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}


def main() -> None:
    rows = []
    for d in (64, 128):
        for causal in (False, True):
            for n in (1024, 4096, 16384):
                q, k, v = (torch.randn(BATCH, HEADS, n, d, device="cuda", dtype=torch.bfloat16) for _ in range(3))
                row = {"d": d, "causal": causal, "n": n}
                for name, backend in BACKENDS.items():
                    with sdpa_kernel(backend):
                        fn = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                        row[f"{name}_ms"] = triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")
                rows.append(row)
                print(row, file=sys.stderr, flush=True)
    print(json.dumps({"torch": torch.__version__, "cudnn": torch.backends.cudnn.version(), "rows": rows}))


if __name__ == "__main__":
    main()
