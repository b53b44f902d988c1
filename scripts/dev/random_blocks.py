"""Writes random valid .tm blocks (with a fused, a separate and an auto plan each) for `tmc verify` on a GPU.

    python3 scripts/dev/random_blocks.py OUT_DIR [COUNT] [SEED]

Blocks are ConvFirst-, MBConv-, ConvNeXt- and MLP-shaped with random channel counts (multiples of 8, some not of
16, so that tensor-core layers fall back to CUDA cores), expansion 2/4/6, kernels 3/5/7, group width 8 or
depthwise, random activations and bf16 or f16 storage. The fused plan fixes a random stream chunk that divides E.
"""
import os
import random
import sys

ACTS = ["relu", "silu", "gelu", "gelu_tanh", "hardswish", "sigmoid"]


def divisors(n, multiple):
    return [d for d in range(multiple, n + 1, multiple) if n % d == 0]


def block(kind, i, rnd):
    dt = rnd.choice(["f16", "f16", "bf16"])
    c = rnd.choice([8, 16, 24, 32, 40, 48, 64, 96])
    r = rnd.choice([2, 4, 6])
    k = rnd.choice([3, 5, 7]) if kind != "mlp" else 1
    dw = rnd.random() < 0.5
    act, act2 = rnd.choice(ACTS), rnd.choice(ACTS)
    name = f"R{i}_{kind}"
    e = c * r
    gw = 1 if dw else 8
    lines = [f"// random block {i}: {kind}, C={c}, E={e}, k={k}, {'depthwise' if dw else 'group width 8'}, {dt}",
             f"block {name} {{", f"  param C = {c}, E = {r} * C", f"  in  x : {dt}[N, H, W, C]"]
    if kind == "convfirst":
        g = "C" if dw else "C / 8"
        lines += [f"  w wc : {dt}[C, {k}, {k}, {gw}]", "  w bc : f32[C]", f"  w w1 : {dt}[E, C]", "  w b1 : f32[E]",
                  f"  w w2 : {dt}[C, E]", "  w b2 : f32[C]", f"  out y : {dt}[N, H, W, C]",
                  f"  a = conv2d(x, wc, groups: {g}) + bc", f"  h = {act}(pointwise(a, w1) + b1)",
                  "  y = pointwise(h, w2) + b2 + x"]
        stream = "E"
    elif kind == "mbconv":
        g = "E" if dw else "E / 8"
        lines += [f"  w w1 : {dt}[E, C]", "  w b1 : f32[E]", f"  w wd : {dt}[E, {k}, {k}, {gw}]", "  w bd : f32[E]",
                  f"  w w3 : {dt}[C, E]", "  w b3 : f32[C]", f"  out y : {dt}[N, H, W, C]",
                  f"  h1 = {act}(pointwise(x, w1) + b1)", f"  h2 = {act2}(conv2d(h1, wd, groups: {g}) + bd)",
                  "  y = pointwise(h2, w3) + b3 + x"]
        stream = "E"
    elif kind == "convnext":
        lines += [f"  w wd : {dt}[C, {k}, {k}, 1]", "  w bd : f32[C]", "  w g : f32[C]", "  w be : f32[C]",
                  f"  w w1 : {dt}[E, C]", "  w b1 : f32[E]", f"  w w2 : {dt}[C, E]", "  w b2 : f32[C]",
                  "  w gamma : f32[C]", f"  out y : {dt}[N, H, W, C]",
                  "  a = conv2d(x, wd, groups: C) + bd", "  n = layernorm(a, g, be, eps: 1e-5)",
                  f"  h = {act}(pointwise(n, w1) + b1)", "  y = gamma * (pointwise(h, w2) + b2) + x"]
        stream = "E"
    else:
        lines += [f"  w w1 : {dt}[E, C]", "  w b1 : f32[E]", f"  w w2 : {dt}[C, E]", "  w b2 : f32[C]",
                  f"  out y : {dt}[N, H, W, C]", f"  h = {act}(pointwise(x, w1) + b1)",
                  "  y = 0.5 * pointwise(h, w2) - b2 + x * 2"]
        stream = "E"
    lines.append("}")
    chunks = divisors(e, 8 if not dw and kind == "mbconv" else 8) or [e]
    chunk = rnd.choice(chunks)
    th, tw = rnd.choice([(4, 8), (8, 8), (8, 16), (6, 12)])
    lines += ["", f"plan fused for {name} on sm_90 {{", f"  tile N 1, H {th}, W {tw}", f"  stream {stream} by {chunk}",
              f"  warps {rnd.choice([4, 8])}", "}", f"plan layerwise for {name} {{ separate }}",
              f"plan best for {name} on sm_90 {{ auto }}", ""]
    return name, "\n".join(lines)


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 2026)
    os.makedirs(out, exist_ok=True)
    kinds = ["convfirst", "mbconv", "convnext", "mlp"]
    for i in range(count):
        name, text = block(kinds[i % len(kinds)], i, rnd)
        with open(os.path.join(out, name + ".tm"), "w") as f:
            f.write(text)
    print(f"wrote {count} blocks to {out}")


if __name__ == "__main__":
    main()
