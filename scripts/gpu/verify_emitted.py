"""Checks emitted kernels against PyTorch on the GPU, and times fused against separate plans.

    python3 scripts/gpu/verify_emitted.py DIR [--time]

DIR holds <Block>_<plan>.cu and .json pairs (from `tmc emit`). For each program and shape, inputs and weights
are seeded random values; the reference interprets the manifest's op list with PyTorch ops in f32 (TF32
off), rounding each op's result to its dtype exactly where the tmc semantics do (docs/semantics.md).
"""
import argparse
import glob
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import tmc_torch  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
DT = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}
TOL = {"f16": 2e-2, "bf16": 8e-2, "f32": 1e-4}  # max |err| / (1 + |ref|), see docs/semantics.md
ACT = {"relu": F.relu, "silu": F.silu, "gelu": F.gelu, "sigmoid": torch.sigmoid, "hardswish": F.hardswish,
       "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"), "identity": lambda t: t}


def rnd(t, dtype):
    return t.to(DT[dtype]).float()


def reference(m, tensors):
    """Interprets the manifest's ops on NHWC f32 tensors."""
    env = dict(tensors)
    for op in m["ops"]:
        kind = op["op"]
        if kind == "conv2d":
            w = env[op["weight"]].permute(0, 3, 1, 2)  # [Cout, k, k, Cin/g] -> [Cout, Cin/g, k, k]
            x = env[op["in"]].permute(0, 3, 1, 2)
            r = F.conv2d(x, w, groups=op["groups"], padding=op["pad"]).permute(0, 2, 3, 1)
        elif kind == "pointwise":
            r = env[op["in"]] @ env[op["weight"]].t()
        elif kind == "layernorm":
            x = env[op["in"]]
            r = F.layer_norm(x, (x.shape[-1],), env.get(op.get("gamma")), env.get(op.get("beta")), op["eps"])
        elif kind in ACT:
            r = ACT[kind](env[op["in"]])
        else:
            def val(o):
                if "activation" in o:
                    return env[o["activation"]]
                if "vector" in o:
                    return env[o["vector"]]
                return o["scalar"]
            a, b = val(op["left"]), val(op["right"])
            r = a + b if kind == "add" else a - b if kind == "sub" else a * b
        env[op["out"]] = rnd(r, op["dtype"]).contiguous()
    return env


def random_tensors(m, n, h, w, seed):
    g = torch.Generator(device="cuda").manual_seed(seed)
    ts = {}
    for t in m["inputs"]:
        c = t["shape"][3]
        ts[t["name"]] = torch.randn((n, h, w, c), generator=g, device="cuda").to(DT[t["dtype"]])
    for t in m["weights"]:
        shape = t["shape"]
        fan_in = 1
        for d in shape[1:]:
            fan_in *= d
        scale = 1.0 / max(1, fan_in) ** 0.5 if len(shape) > 1 else 0.5
        ts[t["name"]] = (torch.randn(shape, generator=g, device="cuda") * scale).to(DT[t["dtype"]])
    if any(t["name"] in ("g",) for t in m["weights"]):
        ts["g"] = (1.0 + 0.1 * ts["g"].float()).to(ts["g"].dtype)
    return ts


def check(path, shapes):
    m = json.load(open(path))
    block = tmc_torch.load(path)
    ok = True
    for (n, h, w) in shapes:
        ts = random_tensors(m, n, h, w, seed=1234 + n * 100 + h)
        ref = reference(m, {k: v.float() for k, v in ts.items()})
        outs = block(*[ts[i] for i in block.inputs], nhwc=True, poison=True, **{k: ts[k] for k in block.weights})
        outs = outs if isinstance(outs, tuple) else (outs,)
        for spec, got in zip(m["outputs"], outs):
            want = ref[spec["name"]]
            got = got.float()
            err = ((got - want).abs() / (1 + want.abs())).max().item()
            nan = torch.isnan(got).any().item()
            passed = (not nan) and err <= TOL[spec["dtype"]]
            ok &= passed
            print(f"{m['block']:10s} {m['plan']:10s} N={n:<3d} H=W={h:<3d} {spec['name']}: "
                  f"max rel err {err:.2e} {'PASS' if passed else 'FAIL'}", flush=True)
    return ok


def bench(path, n, h, w, reps=50):
    m = json.load(open(path))
    block = tmc_torch.load(path)
    ts = random_tensors(m, n, h, w, seed=7)
    args = [ts[i] for i in block.inputs]
    kw = {k: ts[k] for k in block.weights}
    for _ in range(5):
        block(*args, nhwc=True, **kw)
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        block(*args, nhwc=True, **kw)
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e))
    times.sort()
    return times[len(times) // 2]


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--time", action="store_true")
    a = ap.parse_args()
    shapes = [(1, 7, 7), (3, 17, 17), (2, 56, 56)]
    all_ok = True
    for path in sorted(glob.glob(os.path.join(a.dir, "*.json"))):
        try:
            all_ok &= check(path, shapes)
        except Exception as e:  # report and continue with the next program
            all_ok = False
            print(f"{os.path.basename(path)}: ERROR {type(e).__name__}: {e}", flush=True)
    if a.time:
        print("\nmedian of 50, ms, N=128 H=W=56")
        for path in sorted(glob.glob(os.path.join(a.dir, "*.json"))):
            try:
                print(f"{os.path.basename(path):28s} {bench(path, 128, 56, 56):8.3f}", flush=True)
            except Exception as e:
                print(f"{os.path.basename(path)}: ERROR {e}", flush=True)
    print("ALL PASS" if all_ok else "SOME FAILED")
    sys.exit(0 if all_ok else 1)
