# PyTorch's times for gpu_bench's chain: eager and torch.compile, on the same GPU.
# Prints "torch eager_ms=... compiled_ms=..."; gpu_bench reads that line.
import sys
import time

import torch


def chain(a, b, c):
    return torch.exp(a * b) + torch.tanh(c) * 0.5 - a / (1 + b * b)


def time_ms(f, iters=20, repeat=5):
    times = []
    for _ in range(repeat):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(iters):
            f()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3 / iters)
    times.sort()
    return times[len(times) // 2]


n = int(sys.argv[1]) if len(sys.argv) > 1 else 64 << 20
a, b, c = (torch.randn(n, device="cuda") for _ in range(3))
compiled = torch.compile(chain)
compiled(a, b, c)
eager_ms = time_ms(lambda: chain(a, b, c))
compiled_ms = time_ms(lambda: compiled(a, b, c))
print(f"torch eager_ms={eager_ms:.4f} compiled_ms={compiled_ms:.4f}")
