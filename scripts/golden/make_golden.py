#!/usr/bin/env python3
"""Golden data for tmc's CPU reference interpreter, computed by PyTorch.

For every sample block (and test-data/golden/constructs.tm, which uses every construct of the language) this
builds the equivalent torch.nn.Module, with seeded random weights, runs it on seeded random inputs and writes
inputs, weights (.tm layouts) and outputs as .npy files:

    test-data/golden/MANIFEST.json                     what was made, by which command and versions
    test-data/golden/<block>/<case>/<name>.npy         inputs and weights in .tm layout and storage dtype,
                                                       outputs as f32 (PyTorch's value before the final rounding)
    test-data/golden/<block>/<case>/torch/*.npy        (one case per block) the module's own parameters in
                                                       PyTorch layout, and torch/mapping.json, for the layout tests
    test-data/golden/variants/<block>_<dtype>.tm       the sample with its storage type replaced (bf16, f32)

.npy dtypes: '<f2' f16, '<f4' f32, '<u2' bf16 bit patterns (the top 16 bits of the f32).

How the models compute (docs/semantics.md has the reasoning):
  * Inputs and weights are rounded to their .tm dtype (f16 or bf16, round to nearest even) before the module
    sees them; the module then runs in float32 on the CPU.
  * BatchNorm (eval mode, random running statistics) follows the convs that have it in the real models (ConvFirst's
    grouped conv; all three convs of MBConv). The converter folds it into the conv: s = gamma / sqrt(var + eps),
    w' = w * s, b' = (b - mean) * s + beta, in float64, then rounded to f32 and to the storage type. So that the
    module computes with exactly these rounded weights while still going through its BatchNorm, the conv's own
    weight is set to w'_rounded / s afterwards.
  * Named intermediates of the .tm block are rounded to the block's storage type at the same points where the
    reference rounds them (the Storage modules below), as an f16 model does at every layer boundary. Without this,
    the golden outputs would differ from the reference by the rounding of every intermediate, and the tolerances
    would have to be so loose that they would hide real bugs.

Run it from the repository root:  python3 scripts/golden/make_golden.py
It needs torch and numpy only (Debian: apt-get install python3-torch python3-numpy); it runs on the CPU, one thread.
"""

import argparse
import json
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "test-data" / "golden"
COMMAND = "python3 scripts/golden/make_golden.py"

TORCH_DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}


def rnd(t, dt):
    """t rounded to the storage type dt (round to nearest even), as float32."""
    return t.to(TORCH_DTYPES[dt]).to(torch.float32)


class Storage(nn.Module):
    """Rounds a named intermediate to the block's storage type, where the reference does."""

    def __init__(self, dt):
        super().__init__()
        self.dt = dt

    def forward(self, x):
        return rnd(x, self.dt)


# ---- weights ---------------------------------------------------------------------------------

def randomize_bn(bn):
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_(0.0, 0.1)
        bn.running_mean.normal_(0.0, 0.1)
        bn.running_var.uniform_(0.5, 1.5)


def fold_bn(conv, bn, dt):
    """Folds bn into conv (see the module comment); returns the folded weight (torch layout) and bias."""
    with torch.no_grad():
        s = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
        shape = (-1,) + (1,) * (conv.weight.dim() - 1)
        w = (conv.weight.double() * s.reshape(shape)).float()
        b0 = conv.bias.double() if conv.bias is not None else torch.zeros_like(s)
        b = ((b0 - bn.running_mean.double()) * s + bn.bias.double()).float()
        w = rnd(w, dt)
        conv.weight.copy_((w.double() / s.reshape(shape)).float())
    return w, b


def round_param(p, dt):
    with torch.no_grad():
        p.copy_(rnd(p, dt))
    return p.detach().clone()


def conv_tm(w):
    """nn.Conv2d weight [C_out, C_in/G, k, k] -> .tm [C_out, k, k, C_in/G]."""
    return w.permute(0, 2, 3, 1).contiguous()


def pointwise_tm(w):
    """nn.Conv2d 1x1 weight [C_out, C_in, 1, 1] or nn.Linear weight [C_out, C_in] -> .tm [C_out, C_in]."""
    return w.reshape(w.shape[0], w.shape[1]).contiguous()


# ---- the blocks --------------------------------------------------------------------------------
# Each module: __init__(params, dt) builds and randomizes itself (consuming the seeded torch RNG) and rounds and
# folds its weights; tm_weights() gives the .tm weights (name -> (tensor, dtype)); mapping() says how each
# .tm weight comes from the module's parameters (for the layout tests); forward(*inputs NCHW) returns the
# outputs by name, NCHW, float32, before their final rounding.

class ConvFirst(nn.Module):
    def __init__(self, p, dt):
        super().__init__()
        C, E, GW = p["C"], p["E"], p["GW"]
        self.conv = nn.Conv2d(C, C, 3, padding=1, groups=C // GW, bias=False)
        self.bn = nn.BatchNorm2d(C)
        self.pw1 = nn.Conv2d(C, E, 1)
        self.pw2 = nn.Conv2d(E, C, 1)
        self.st = Storage(dt)
        randomize_bn(self.bn)
        self.eval()
        wc, bc = fold_bn(self.conv, self.bn, dt)
        self.tm = {"wc": (conv_tm(wc), dt), "bc": (bc, "f32"),
                   "w1": (pointwise_tm(round_param(self.pw1.weight, dt)), dt), "b1": (self.pw1.bias.detach(), "f32"),
                   "w2": (pointwise_tm(round_param(self.pw2.weight, dt)), dt), "b2": (self.pw2.bias.detach(), "f32")}
        self.map = {"wc": conv_bn("conv", "bn", self.bn.eps), "bc": bn_bias("conv", "bn", self.bn.eps),
                    "w1": pointwise("pw1"), "b1": bias("pw1"), "w2": pointwise("pw2"), "b2": bias("pw2")}

    def forward(self, x):
        a = self.st(self.bn(self.conv(x)))
        h = self.st(F.silu(self.pw1(a)))
        return {"y": self.pw2(h) + x}


class MBConv(nn.Module):
    """MBConv without squeeze-excitation; group width GW, or depthwise when GW is None."""

    def __init__(self, p, dt, depthwise=False):
        super().__init__()
        C, E = p["C"], p["E"]
        groups = E if depthwise else E // p["GW"]
        self.expand = nn.Conv2d(C, E, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(E)
        self.dw = nn.Conv2d(E, E, 3, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(E)
        self.project = nn.Conv2d(E, C, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(C)
        self.st = Storage(dt)
        for bn in (self.bn1, self.bn2, self.bn3):
            randomize_bn(bn)
        self.eval()
        w1, b1 = fold_bn(self.expand, self.bn1, dt)
        wd, bd = fold_bn(self.dw, self.bn2, dt)
        w3, b3 = fold_bn(self.project, self.bn3, dt)
        self.tm = {"w1": (pointwise_tm(w1), dt), "b1": (b1, "f32"), "wd": (conv_tm(wd), dt), "bd": (bd, "f32"),
                   "w3": (pointwise_tm(w3), dt), "b3": (b3, "f32")}
        e1, e2, e3 = self.bn1.eps, self.bn2.eps, self.bn3.eps
        self.map = {"w1": pointwise_bn("expand", "bn1", e1), "b1": bn_bias("expand", "bn1", e1),
                    "wd": conv_bn("dw", "bn2", e2), "bd": bn_bias("dw", "bn2", e2),
                    "w3": pointwise_bn("project", "bn3", e3), "b3": bn_bias("project", "bn3", e3)}

    def forward(self, x):
        h1 = self.st(F.silu(self.bn1(self.expand(x))))
        h2 = self.st(F.silu(self.bn2(self.dw(h1))))
        return {"y": self.bn3(self.project(h2)) + x}


class ConvNeXt(nn.Module):
    """The ConvNeXt block as in the reference implementation: the MLP runs channels-last with nn.Linear."""

    def __init__(self, p, dt):
        super().__init__()
        C, E = p["C"], p["E"]
        self.dwconv = nn.Conv2d(C, C, 7, padding=3, groups=C)
        self.norm = nn.LayerNorm(C, eps=1e-6)
        self.pwconv1 = nn.Linear(C, E)
        self.pwconv2 = nn.Linear(E, C)
        # Layer scale: O(1) here (the real initialisation is 1e-6) so that the branch shows in the output.
        self.gamma = nn.Parameter(torch.empty(C).uniform_(0.5, 1.5))
        with torch.no_grad():
            self.norm.weight.uniform_(0.5, 1.5)
            self.norm.bias.normal_(0.0, 0.1)
        self.st = Storage(dt)
        self.eval()
        self.tm = {"wd": (conv_tm(round_param(self.dwconv.weight, dt)), dt), "bd": (self.dwconv.bias.detach(), "f32"),
                   "g": (self.norm.weight.detach(), "f32"), "beta": (self.norm.bias.detach(), "f32"),
                   "w1": (pointwise_tm(round_param(self.pwconv1.weight, dt)), dt),
                   "b1": (self.pwconv1.bias.detach(), "f32"),
                   "w2": (pointwise_tm(round_param(self.pwconv2.weight, dt)), dt),
                   "b2": (self.pwconv2.bias.detach(), "f32"), "gamma": (self.gamma.detach(), "f32")}
        self.map = {"wd": conv("dwconv"), "bd": bias("dwconv"), "g": vector("norm.weight"),
                    "beta": vector("norm.bias"), "w1": pointwise("pwconv1"), "b1": bias("pwconv1"),
                    "w2": pointwise("pwconv2"), "b2": bias("pwconv2"), "gamma": vector("gamma")}

    def forward(self, x):
        a = self.st(self.dwconv(x)).permute(0, 2, 3, 1)  # NHWC from here on
        n = self.st(self.norm(a))
        h = self.st(F.gelu(self.pwconv1(n)))
        y = self.gamma * self.pwconv2(h) + x.permute(0, 2, 3, 1)
        return {"y": y.permute(0, 3, 1, 2)}


class FusedMLP(nn.Module):
    def __init__(self, p, dt):
        super().__init__()
        C, E = p["C"], p["E"]
        self.pw1 = nn.Conv2d(C, E, 1)
        self.pw2 = nn.Conv2d(E, C, 1)
        self.st = Storage(dt)
        self.eval()
        self.tm = {"w1": (pointwise_tm(round_param(self.pw1.weight, dt)), dt), "b1": (self.pw1.bias.detach(), "f32"),
                   "w2": (pointwise_tm(round_param(self.pw2.weight, dt)), dt), "b2": (self.pw2.bias.detach(), "f32")}
        self.map = {"w1": pointwise("pw1"), "b1": bias("pw1"), "w2": pointwise("pw2"), "b2": bias("pw2")}

    def forward(self, x):
        h = self.st(F.gelu(self.pw1(x), approximate="tanh"))
        return {"y": self.pw2(h)}


class Constructs(nn.Module):
    """test-data/golden/constructs.tm, written out op by op."""

    def __init__(self, p, dt):
        super().__init__()
        C, D = p["C"], p["D"]
        self.conv = nn.Conv2d(C, D, 5, padding=2, bias=False)
        self.s = nn.Parameter(0.1 * torch.randn(D))
        self.pw = nn.Conv2d(D, C, 1, bias=False)
        self.t = nn.Parameter(1.0 + 0.25 * torch.randn(C))
        self.dt = dt
        self.st = Storage(dt)
        self.eval()
        self.tm = {"wk": (conv_tm(round_param(self.conv.weight, dt)), dt), "s": (round_param(self.s, dt), dt),
                   "wp": (pointwise_tm(round_param(self.pw.weight, dt)), dt), "t": (self.t.detach(), "f32")}
        self.map = {"wk": conv("conv"), "s": vector("s"), "wp": pointwise("pw"), "t": vector("t")}

    def forward(self, x, z):
        D = self.s.shape[0]
        a = self.st(self.conv(x) - self.s[None, :, None, None])
        r = F.relu(a) * 0.5 + torch.sigmoid(a) * F.hardswish(a)
        b = self.st(F.layer_norm(a.permute(0, 2, 3, 1), (D,), eps=1e-5).permute(0, 3, 1, 2))
        c = self.st(2 * F.gelu(self.pw(b)) - z)
        d = self.st(1 - F.silu(c) * self.t[None, :, None, None] + F.gelu(z, approximate="tanh"))
        y = -d + x * 0.25
        q = c * rnd(y, self.dt)  # y is an output of the storage type, read after it is rounded
        return {"r": r, "y": y, "q": q, "e": z}


# How a .tm weight comes from the module's parameters (written to torch/mapping.json, read by LayoutsTest).
def conv(m):
    return {"kind": "conv", "weight": m + ".weight"}


def pointwise(m):
    return {"kind": "pointwise", "weight": m + ".weight"}


def bias(m):
    return {"kind": "vector", "param": m + ".bias"}


def vector(name):
    return {"kind": "vector", "param": name}


def conv_bn(m, bn, eps):
    return {"kind": "conv_bn", "weight": m + ".weight", "bn": bn, "eps": eps}


def pointwise_bn(m, bn, eps):
    return {"kind": "pointwise_bn", "weight": m + ".weight", "bn": bn, "eps": eps}


def bn_bias(m, bn, eps):
    return {"kind": "bn_bias", "weight": m + ".weight", "bn": bn, "eps": eps}


# ---- cases ------------------------------------------------------------------------------------

BLOCKS = {
    # name: (sample file, module factory, parameters at the sample's defaults, small parameters, inputs, outputs)
    "ConvFirst": ("samples/convfirst.tm", ConvFirst, {"C": 64, "E": 256, "GW": 8}, {"C": 32}, ["x"], ["y"]),
    "MBConv": ("samples/mbconv.tm", MBConv, {"C": 64, "E": 256, "GW": 8}, {"C": 32}, ["x"], ["y"]),
    "MBConvDW": ("samples/mbconv_dw.tm", lambda p, dt: MBConv(p, dt, depthwise=True), {"C": 64, "E": 256},
                 {"C": 32}, ["x"], ["y"]),
    "ConvNeXt": ("samples/convnext.tm", ConvNeXt, {"C": 96, "E": 384}, {"C": 32}, ["x"], ["y"]),
    "FusedMLP": ("samples/fusedmlp.tm", FusedMLP, {"C": 64, "E": 256}, {"C": 32}, ["x"], ["y"]),
    "Constructs": ("test-data/golden/constructs.tm", Constructs, {"C": 16, "D": 24}, {"C": 8, "D": 12},
                   ["x", "z"], ["r", "y", "q", "e"]),
}


def derived(block, small):
    """The full parameter set for overrides `small` (E = 4 * C in every sample)."""
    p = dict(BLOCKS[block][2])
    p.update(small)
    if "E" in p and "C" in small:
        p["E"] = 4 * p["C"]
    return p


def cases():
    """(block, case name, overrides, dtype, N, H, W, with torch state)"""
    out = []
    for b in BLOCKS:
        small = BLOCKS[b][3]
        out.append((b, "n1_h7_w7", {}, "f16", 1, 7, 7, False))          # the sample exactly as written
        out.append((b, "n3_h9_w13", small, "f16", 3, 9, 13, True))      # H, W not multiples of 8; N = 3
        out.append((b, "n2_h8_w8_bf16", small, "bf16", 2, 8, 8, False))  # bf16 storage
    for b in ("ConvNeXt", "FusedMLP", "Constructs"):
        out.append((b, "n2_h5_w11_f32", BLOCKS[b][3], "f32", 2, 5, 11, False))  # f32 storage
    return out


def variant_file(block, dt):
    """The .tm file of block with storage type dt: the sample itself for f16, else a generated variant."""
    src = REPO / BLOCKS[block][0]
    if dt == "f16":
        return src.relative_to(REPO).as_posix()
    text = src.read_text()
    text = re.sub(r"\bf16\[", dt + "[", text)
    text = re.sub(r"(^//[^\n]*\n)*^plan\b[^{]*\{[^}]*\}[^\n]*\n?", "", text, flags=re.MULTILINE).rstrip() + "\n"
    header = f"// Generated by {COMMAND} from {BLOCKS[block][0]}: every f16 replaced by {dt}, plans left out.\n"
    dest = GOLDEN / "variants" / f"{src.stem}_{dt}.tm"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(header + text)
    return dest.relative_to(REPO).as_posix()


def save(path, t, dt):
    """Writes t (float32 values representable in dt) as .npy: <f2, <f4, or <u2 bf16 bit patterns."""
    a = t.detach().to(torch.float32).contiguous().numpy()
    if dt == "f16":
        arr = a.astype(np.float16)
        assert np.array_equal(arr.astype(np.float32), a, equal_nan=True), path
    elif dt == "bf16":
        bits = a.view(np.uint32)
        assert not np.any(bits & 0xFFFF), path + ": not bf16-representable"
        arr = (bits >> 16).astype(np.uint16)
    else:
        arr = a
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, arr)


def make_case(block, name, overrides, dt, n, h, w, with_torch, seed):
    file, factory, _, _, in_names, out_names = BLOCKS[block]
    params = derived(block, overrides)
    torch.manual_seed(seed)
    model = factory(params, dt)
    model.eval()
    chans = {"x": params["C"], "z": params["C"]}
    inputs = {k: rnd(torch.randn(n, chans[k], h, w), dt) for k in in_names}  # NCHW
    with torch.no_grad():
        outs = model(*[inputs[k] for k in in_names])
    d = GOLDEN / block.lower() / name
    if d.exists():
        shutil.rmtree(d)
    for k, v in inputs.items():
        save(d / f"{k}.npy", v.permute(0, 2, 3, 1), dt)
    for k, (v, wdt) in model.tm.items():
        save(d / f"{k}.npy", v, wdt)
    for k in out_names:
        save(d / f"{k}.npy", outs[k].permute(0, 2, 3, 1), "f32")
    if with_torch:
        for k, v in model.state_dict().items():
            if v.is_floating_point():
                save(d / "torch" / f"{k}.npy", v.float(), "f32")
        (d / "torch" / "mapping.json").write_text(json.dumps(model.map, indent=1) + "\n")
    return {"block": block, "file": variant_file(block, dt), "params": overrides, "dtype": dt,
            "shape": {"N": n, "H": h, "W": w}, "seed": seed, "dir": d.relative_to(GOLDEN).as_posix(),
            "inputs": in_names, "weights": list(model.tm), "outputs": out_names, "torch_state": with_torch}


def debian_version(pkg):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True,
                              check=True).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for sub in GOLDEN.iterdir() if GOLDEN.exists() else []:
        if sub.is_dir() and (sub.name in {b.lower() for b in BLOCKS} or sub.name == "variants"):
            shutil.rmtree(sub)
    made = [make_case(*c, seed=1000 + i) for i, c in enumerate(cases())]
    manifest = {
        "about": "Golden data for the reference interpreter; see scripts/golden/make_golden.py and docs/semantics.md",
        "command": COMMAND,
        "torch": torch.__version__,
        "torch_package": ("python3-torch " + debian_version("python3-torch")) if debian_version("python3-torch")
        else None,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": "cpu, float32, 1 thread",
        "format": {"f16": "<f2", "f32": "<f4", "bf16": "<u2 bit patterns (top 16 bits of the f32)",
                   "layout": "activations NHWC; weights in .tm layout; outputs f32 before their final rounding"},
        "cases": made,
    }
    (GOLDEN / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(made)} cases to {GOLDEN.relative_to(REPO)} with torch {torch.__version__}")


if __name__ == "__main__":
    sys.exit(main())
