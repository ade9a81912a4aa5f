"""A long-sequence workload: one DiT-style transformer block (adaLN-modulated attention and MLP,
as in diffusion transformers) over 16k image tokens, with torch's SDPA and with sageattn.

Reports the attention call's time (torch's SDPA, which picks FlashAttention or cuDNN, vs
sageattn), the whole block's time with and without `sageattn.sdpa_patched()`, and the cosine
similarity of the attention outputs and of the block outputs.

    python examples/python/dit_block.py [--tokens 16384] [--width 3072] [--heads 24]
"""

import argparse

import torch
import torch.nn.functional as F
from timing import cosine, cuda_time_ms

import sageattn


class DiTBlock(torch.nn.Module):
    """Pre-norm attention and MLP, each scaled, shifted and gated by the conditioning vector."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = torch.nn.LayerNorm(width, elementwise_affine=False)
        self.norm2 = torch.nn.LayerNorm(width, elementwise_affine=False)
        self.qkv = torch.nn.Linear(width, 3 * width)
        self.q_norm = torch.nn.RMSNorm(width // heads)
        self.k_norm = torch.nn.RMSNorm(width // heads)
        self.proj = torch.nn.Linear(width, width)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(width, 4 * width),
                                       torch.nn.GELU(approximate="tanh"),
                                       torch.nn.Linear(4 * width, width))
        self.modulation = torch.nn.Linear(width, 6 * width)

    def attention_inputs(self, x):
        batch, tokens, width = x.shape
        q, k, v = self.qkv(x).view(batch, tokens, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        return self.q_norm(q), self.k_norm(k), v

    def forward(self, x, condition):
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(
            F.silu(condition))[:, None].chunk(6, dim=-1)
        h = self.norm1(x) * (1 + scale1) + shift1
        q, k, v = self.attention_inputs(h)
        attention = F.scaled_dot_product_attention(q, k, v)
        x = x + gate1 * self.proj(attention.transpose(1, 2).flatten(2))
        h = self.norm2(x) * (1 + scale2) + shift2
        return x + gate2 * self.mlp(h)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=16384)
    parser.add_argument("--width", type=int, default=3072)
    parser.add_argument("--heads", type=int, default=24)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--dtype", choices=["float16", "bfloat16"], default="bfloat16")
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)

    torch.manual_seed(0)
    block = DiTBlock(args.width, args.heads).to("cuda", dtype).eval()
    x = torch.randn(args.batch, args.tokens, args.width, device="cuda", dtype=dtype)
    condition = torch.randn(args.batch, args.width, device="cuda", dtype=dtype)
    print(f"DiT block on {torch.cuda.get_device_name()}: batch {args.batch}, {args.tokens} "
          f"tokens, width {args.width}, {args.heads} heads of {args.width // args.heads}, "
          f"{args.dtype}; torch {torch.__version__}, sageattn {sageattn.__version__}")

    with torch.inference_mode():
        q, k, v = block.attention_inputs(x)
        torch_ms = cuda_time_ms(lambda: F.scaled_dot_product_attention(q, k, v), iters=20)
        sage_ms = cuda_time_ms(lambda: sageattn.sdpa(q, k, v), iters=20)
        attention_cosine = cosine(sageattn.sdpa(q, k, v), F.scaled_dot_product_attention(q, k, v))
        reference = block(x, condition)
        block_torch_ms = cuda_time_ms(lambda: block(x, condition), iters=10)
        with sageattn.sdpa_patched():
            patched = block(x, condition)
            block_sage_ms = cuda_time_ms(lambda: block(x, condition), iters=10)
    flops = 4 * args.batch * args.heads * args.tokens ** 2 * (args.width // args.heads)
    print(f"attention: torch SDPA {torch_ms:.3f} ms ({flops / torch_ms / 1e9:.0f} TFLOP/s), "
          f"sageattn {sage_ms:.3f} ms ({flops / sage_ms / 1e9:.0f} TFLOP/s), speedup "
          f"{torch_ms / sage_ms:.2f}x, output cosine {attention_cosine:.6f}")
    print(f"block: torch SDPA {block_torch_ms:.3f} ms, patched {block_sage_ms:.3f} ms, speedup "
          f"{block_torch_ms / block_sage_ms:.2f}x, output cosine {cosine(patched, reference):.8f}")


if __name__ == "__main__":
    main()
