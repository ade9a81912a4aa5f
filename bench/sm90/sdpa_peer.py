"""PyTorch SDPA (cuDNN backend) on the issue's shapes, timed like sm90_check bench: CUDA events,
median of many runs, bf16 inputs, B=4, H=32. Run in the same device call as the kernel bench."""
import sys
from pathlib import Path

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "python"))
from timing import cuda_time_ms  # noqa: E402  (the examples' CUDA-event median)


def main():
    iters = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    b, h = 4, 32
    print(f"{'shape':<24} {'cudnn_ms':>10} {'cudnn_TOPS':>10}")
    for d in (128, 64):
        for causal in (False, True):
            for n in (1024, 4096, 16384):
                q, k, v = (torch.randn(b, h, n, d, device="cuda", dtype=torch.bfloat16)
                           for _ in range(3))
                with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
                    ms = cuda_time_ms(lambda: torch.nn.functional.scaled_dot_product_attention(
                        q, k, v, is_causal=causal), iters, warmup=3)
                ops = 4 * b * h * n * n * d * (0.5 if causal else 1.0)
                name = f"d{d} n{n} {'causal' if causal else 'full'}"
                print(f"{name:<24} {ms:>10.3f} {ops / ms / 1e9:>10.1f}")
                del q, k, v


if __name__ == "__main__":
    main()
