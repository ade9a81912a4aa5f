"""Where an eager sageattn call spends its host time (CUDA device, torch).

For each shape: the GPU time of one call (CUDA-graph replays, cudaEvent), the wall time per eager
call (back-to-back calls, one synchronization at the end: if it exceeds the GPU time, eager calls
are host-bound), and the host time of the call's layers measured on a tiny problem (whose GPU
time is a few microseconds): the whole call, the custom op called directly, the extension's
forward with preallocated outputs. Then a cProfile of tiny calls. Usage: python3 this_file.py
"""

import cProfile
import functools
import io
import pstats
import time

import torch
from torch.utils.dlpack import to_dlpack

import sageattn
from sageattn import _options, _sageattn, _torch


def gpu_ms(fn, replays=50):
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        fn()  # warm up outside the capture (allocator, attributes)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=stream):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    graph.replay()
    start.record()
    for _ in range(replays):
        graph.replay()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / replays


def wall_us(fn, calls=300):
    for _ in range(20):
        fn()
    torch.cuda.synchronize()
    begin = time.perf_counter()
    for _ in range(calls):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - begin) / calls * 1e6


def _torch_body(q, k, v, options):
    # What the custom op's implementation does per call (_torch.py), without the dispatcher.
    out, lse = _torch._new_outputs(q, 0, False)
    stream = torch.cuda.current_stream(q.device).cuda_stream
    new_bytes = functools.partial(torch.empty, dtype=torch.uint8, device=q.device)
    _sageattn.forward(to_dlpack(q), to_dlpack(k), to_dlpack(v), to_dlpack(out), None, options,
                      lambda size: to_dlpack(new_bytes(size)), stream)
    return out, lse


def inputs(batch, heads, tokens, dim):
    return [torch.randn(batch, heads, tokens, dim, device="cuda", dtype=torch.bfloat16)
            for _ in range(3)]


def main():
    torch.manual_seed(0)
    with torch.inference_mode():
        for shape in [(4, 32, 1024, 128), (4, 32, 1024, 64), (1, 1, 128, 128)]:
            q, k, v = inputs(*shape)
            call = lambda: sageattn.sageattn(q, k, v)  # noqa: E731
            print(f"B{shape[0]} H{shape[1]} N{shape[2]} D{shape[3]}: GPU {gpu_ms(call) * 1e3:.1f} us"
                  f" per call (graph), eager wall {wall_us(call):.1f} us per call")

        q, k, v = inputs(1, 1, 128, 128)
        values = _options.parse("HND", False, None, "per_warp", "int8", "auto", True, False,
                                False, "auto")
        options = _options.to_c(values)
        out, lse = torch.empty_like(q), None
        stream = torch.cuda.current_stream().cuda_stream
        workspace = torch.empty(64 << 20, dtype=torch.uint8, device="cuda")
        layers = {
            "sageattn.sageattn": lambda: sageattn.sageattn(q, k, v),
            "torch.ops.sageattn.attention": lambda: torch.ops.sageattn.attention(
                q, k, v, *values, False),
            "the op's body: outputs, stream, forward": lambda: _torch_body(q, k, v, options),
            "_options.parse + to_c": lambda: _options.to_c(_options.parse(
                "HND", False, None, "per_warp", "int8", "auto", True, False, False, "auto")),
            "_sageattn.forward, capsules given": lambda: _sageattn.forward(
                to_dlpack(q), to_dlpack(k), to_dlpack(v), to_dlpack(out), lse, options,
                to_dlpack(workspace), stream),
            "_sageattn.forward, tensors given": lambda: _sageattn.forward(
                q, k, v, out, lse, options, workspace, stream),
            "torch.empty_like + current_stream": lambda: (
                torch.empty_like(q), torch.cuda.current_stream(q.device).cuda_stream),
        }
        for name, fn in layers.items():
            print(f"  {name:40s} {wall_us(fn, 2000):7.1f} us")

        profile = cProfile.Profile()
        profile.enable()
        for _ in range(2000):
            sageattn.sageattn(q, k, v)
        torch.cuda.synchronize()
        profile.disable()
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(18)
        print(text.getvalue())


if __name__ == "__main__":
    main()
