"""Measures the emitted activation functions on the GPU against float64, over every finite f16 value and 2 million
points of [-30, 30], and checks the bound of docs/semantics.md: |error| <= 2^-17 * max(1, |x|).

    python3 scripts/bench/activation_accuracy.py [EMITTED.cu]     (default: generated/convnext/ConvNeXt_fused.cu)

The device functions are the prelude of an emitted kernel (between '#ifndef TMC_PRELUDE' and its '#endif'),
compiled with NVRTC as tmc_torch does. Prints, per function and input set, the largest error scaled by
max(1, |x|), the largest absolute error, and the largest relative error where the exact value is at least 2^-14 in
magnitude (f16's smallest normal) and where it is at least 1e-3. Exits 1 if a function breaks the bound."""
import math
import os
import sys

import cupy as cp
import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FUNCTIONS = ("sigmoid", "silu", "gelu", "gelu_tanh")
BOUND = 2.0 ** -17


def prelude(path):
    """The emitted file up to the end of its prelude: the #endif that closes '#ifndef TMC_PRELUDE'."""
    lines = open(path).read().split("\n")
    depth = 0
    for i, line in enumerate(lines):
        if line.startswith("#if"):
            depth += 1
        elif line.startswith("#endif"):
            depth -= 1
            if depth == 0:
                return "\n".join(lines[:i + 1]) + "\n"
    raise SystemExit(f"{path}: no tmc prelude found")


def exact(name, x):
    x = torch.from_numpy(x.astype(np.float64))
    sig = torch.sigmoid(x)
    return {"sigmoid": sig,
            "silu": x * sig,
            "gelu": 0.5 * x * torch.special.erfc(-x / math.sqrt(2.0)),
            "gelu_tanh": 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
            }[name].numpy()


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "generated/convnext/ConvNeXt_fused.cu")
    calls = "\n".join(f"    o[{i} * n + i_] = tm_{f}(v);" for i, f in enumerate(FUNCTIONS))
    src = prelude(path) + f"""
extern "C" __global__ void activations(const float* x, float* o, int n) {{
    const int i_ = blockIdx.x * blockDim.x + threadIdx.x;
    if (i_ >= n) return;
    const float v = x[i_];
{calls}
}}
"""
    major, minor = torch.cuda.get_device_capability()
    include = os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "include")
    kernel = cp.RawModule(code=src, options=("-std=c++17", f"--gpu-architecture=sm_{major}{minor}", f"-I{include}"),
                          backend="nvrtc").get_function("activations")
    f16 = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32)
    inputs = {"every finite f16": f16[np.isfinite(f16)],
              "2M points of [-30, 30]": np.linspace(-30, 30, 2_000_001, dtype=np.float32)}
    print(f"# {torch.cuda.get_device_name()}, activations of {os.path.relpath(path, ROOT)}; bound 2^-17 * max(1, |x|)")
    print("| function | inputs | max err / max(1,|x|) | max abs err | max rel err (|f| >= 2^-14) "
          "| max rel err (|f| >= 1e-3) | within bound |")
    print("|---|---|---|---|---|---|---|")
    failed = False
    for label, xs in inputs.items():
        n = xs.size
        out = cp.empty(len(FUNCTIONS) * n, cp.float32)
        kernel(((n + 255) // 256,), (256,), (cp.asarray(xs), out, np.int32(n)))
        got = cp.asnumpy(out).reshape(len(FUNCTIONS), n).astype(np.float64)
        xd = xs.astype(np.float64)
        for i, name in enumerate(FUNCTIONS):
            ref = exact(name, xs)
            ok = np.isfinite(ref) & np.isfinite(got[i])
            err = np.abs(got[i] - ref)[ok]
            scaled = err / np.maximum(1.0, np.abs(xd[ok]))
            rel = err / np.maximum(np.abs(ref[ok]), 1e-300)
            rel_normal = rel[np.abs(ref[ok]) >= 2.0 ** -14].max()
            rel_big = rel[np.abs(ref[ok]) >= 1e-3].max()
            within = scaled.max() <= BOUND and ok.sum() == np.isfinite(ref).sum()
            failed |= not within
            print(f"| {name} | {label} | {scaled.max():.2e} (x = {xd[ok][scaled.argmax()]:.4g}) | {err.max():.2e} "
                  f"| {rel_normal:.2e} | {rel_big:.2e} | {'yes' if within else 'NO'} |")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
