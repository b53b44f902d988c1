"""tmc against PyTorch on one GPU, in one process, on the same inputs.

    python3 scripts/bench/benchmark.py KERNELS_DIR [--dtype f16|bf16] [--configs a,b] [--modes ...] [--reps 50]

KERNELS_DIR/<config>/ holds the emitted programs of each configuration (made by scripts/bench/emit_configs.sh:
<Block>_layerwise.* for tmc separate and <Block>_fused.* for tmc fused). For every configuration of the table in
docs/benchmarks.md this script builds the equivalent PyTorch module (channels_last, BatchNorm folded), checks tmc's
output against PyTorch's, then times PyTorch eager, torch.compile (default and max-autotune-no-cudagraphs), tmc
separate and tmc fused: the median of --reps runs timed with CUDA events after warm-up. The floor is
max(minimum DRAM bytes / measured copy bandwidth, flops / measured matmul peak), both measured in this run.
"tmc fused" is the fastest of the sample's fused plans that match PyTorch: a wrong 'layerwise', 'fused' or 'best'
stops the run; a wrong extra plan is left out, printed as WRONG and listed in the row's wrong_plans (and the table).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import tmc_torch  # noqa: E402

DT = {"f16": torch.float16, "bf16": torch.bfloat16}

# name: (block, N, H=W, C, E/C, k, group width or None for depthwise)
CONFIGS = {
    "convfirst_n128_h56_c64": ("ConvFirst", 128, 56, 64, 4, 3, 8),
    "convfirst_n128_h28_c128": ("ConvFirst", 128, 28, 128, 4, 3, 8),
    "convfirst_n8_h56_c64": ("ConvFirst", 8, 56, 64, 4, 3, 8),
    "mbconv_n128_h28_c64": ("MBConv", 128, 28, 64, 4, 3, 8),
    "mbconv_n128_h14_c128": ("MBConv", 128, 14, 128, 4, 3, 8),
    "mbconvdw_n128_h28_c64": ("MBConvDW", 128, 28, 64, 4, 3, None),
    "convnext_n128_h56_c96": ("ConvNeXt", 128, 56, 96, 4, 7, None),
}


class ConvFirst(nn.Module):
    def __init__(self, C, E, k, gw):
        super().__init__()
        self.conv = nn.Conv2d(C, C, k, padding=k // 2, groups=C // gw)  # BatchNorm folded into the bias
        self.pw1 = nn.Conv2d(C, E, 1)
        self.pw2 = nn.Conv2d(E, C, 1)

    def forward(self, x):
        return self.pw2(F.silu(self.pw1(self.conv(x)))) + x

    def tm_weights(self):
        return {"wc": tm_conv(self.conv.weight), "bc": self.conv.bias, "w1": tm_pw(self.pw1.weight),
                "b1": self.pw1.bias, "w2": tm_pw(self.pw2.weight), "b2": self.pw2.bias}


class MBConv(nn.Module):
    def __init__(self, C, E, k, gw):
        super().__init__()
        self.expand = nn.Conv2d(C, E, 1)
        self.dw = nn.Conv2d(E, E, k, padding=k // 2, groups=E if gw is None else E // gw)
        self.project = nn.Conv2d(E, C, 1)

    def forward(self, x):
        return self.project(F.silu(self.dw(F.silu(self.expand(x))))) + x

    def tm_weights(self):
        return {"w1": tm_pw(self.expand.weight), "b1": self.expand.bias, "wd": tm_conv(self.dw.weight),
                "bd": self.dw.bias, "w3": tm_pw(self.project.weight), "b3": self.project.bias}


class ConvNeXt(nn.Module):
    """As in the reference implementation (timm / facebookresearch): channels-last MLP with nn.Linear."""

    def __init__(self, C, E, k, gw):
        super().__init__()
        self.dwconv = nn.Conv2d(C, C, k, padding=k // 2, groups=C)
        self.norm = nn.LayerNorm(C, eps=1e-6)
        self.pwconv1 = nn.Linear(C, E)
        self.pwconv2 = nn.Linear(E, C)
        self.gamma = nn.Parameter(torch.empty(C).uniform_(0.5, 1.5))

    def forward(self, x):
        a = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.gamma * self.pwconv2(F.gelu(self.pwconv1(self.norm(a))))
        return x + y.permute(0, 3, 1, 2)

    def tm_weights(self):
        return {"wd": tm_conv(self.dwconv.weight), "bd": self.dwconv.bias, "g": self.norm.weight,
                "beta": self.norm.bias, "w1": tm_pw(self.pwconv1.weight), "b1": self.pwconv1.bias,
                "w2": tm_pw(self.pwconv2.weight), "b2": self.pwconv2.bias, "gamma": self.gamma}


MODULES = {"ConvFirst": ConvFirst, "MBConv": MBConv, "MBConvDW": MBConv, "ConvNeXt": ConvNeXt}


def tm_conv(w):
    return w.detach().permute(0, 2, 3, 1).contiguous()


def tm_pw(w):
    return w.detach().reshape(w.shape[0], w.shape[1]).contiguous()


def counts(block, n, hw, C, e, k, gw):
    """(flops, minimum DRAM bytes) of one block at 2-byte storage: each input and output once, weights once."""
    E = e * C
    pix = n * hw * hw
    if block == "ConvFirst":
        macs = pix * (C * k * k * gw + 2 * C * E)
        wbytes = 2 * (C * k * k * gw + 2 * C * E)
    elif block.startswith("MBConv"):
        g = 1 if gw is None else gw
        macs = pix * (2 * C * E + E * k * k * g)
        wbytes = 2 * (2 * C * E + E * k * k * g)
    else:  # ConvNeXt
        macs = pix * (C * k * k + 2 * C * E)
        wbytes = 2 * (C * k * k + 2 * C * E)
    return 2 * macs, 2 * 2 * pix * C + wbytes


BURST = 10


def time_ms(fn, reps, warmup=10, burst=BURST):
    """Median over reps of the time per call of `burst` back-to-back calls between two CUDA events.

    Before each burst the GPU spins for about 10 ms (torch.cuda._sleep), and the host queues the events and the
    burst meanwhile: the events then time the GPU's work only. Without the spin, a call whose host-side submission
    (Python, CuPy, torch dispatch: 0.06-0.07 ms per tmc call on the H100 machine) is longer than its kernels is
    timed at the host's pace: an empty kernel read 0.061 ms that way and 0.004 ms with the spin
    (docs/measurements/2026-11-22-h100/chain/diag.txt). The same for every mode."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda._sleep(SPIN_CYCLES)
        s.record()
        for _ in range(burst):
            fn()
        e.record()
        torch.cuda.synchronize()
        out.append(s.elapsed_time(e) / burst)
    return statistics.median(out)


# About 10 ms at the H100's clock: longer than the host needs to queue a burst of 10 calls of any mode.
SPIN_CYCLES = 20_000_000


def measure_ceilings(reps):
    """Device-to-device copy bandwidth (bytes read + written) and dense fp16 matmul throughput."""
    a = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    ms = time_ms(lambda: b.copy_(a), reps)
    bw = 2 * a.numel() / (ms * 1e-3)
    m = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
    q = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
    ms = time_ms(lambda: m @ q, reps)
    peak = 2 * 8192 ** 3 / (ms * 1e-3)
    del a, b, m, q
    return bw, peak


# A tmc output matches PyTorch's when its largest error relative to 1 + |reference| is below this.
TOLERANCE = 5e-2


def max_rel_err(got, ref):
    """The largest |got - ref| / (1 + |ref|): relative for large values, absolute near zero."""
    return ((got.float() - ref).abs() / (1 + ref.abs())).max().item()


def setup(name, dtype):
    """The PyTorch module of a configuration (seeded, channels_last, in dtype), its input, its f32 output and the
    weights tmc takes (biases and normalization parameters in f32, the rest in dtype). Call under torch.no_grad()."""
    block, n, hw, C, e, k, gw = CONFIGS[name]
    torch.manual_seed(0)
    mod = MODULES[block](C, e * C, k, gw).cuda().eval()
    x = torch.randn(n, C, hw, hw, device="cuda").to(DT[dtype]).contiguous(memory_format=torch.channels_last)
    mod = mod.to(DT[dtype]).to(memory_format=torch.channels_last)
    ref = mod(x).float()
    weights = {kk: v.detach().to(torch.float32 if kk.startswith("b") or kk in ("g", "beta", "gamma") else DT[dtype])
               .contiguous() for kk, v in mod.tm_weights().items()}
    return mod, x, ref, weights


def run_config(name, kernels_dir, dtype, modes, reps, bw, peak):
    block, n, hw, C, e, k, gw = CONFIGS[name]
    row = {"config": name, "block": block, "N": n, "HW": hw, "C": C, "dtype": dtype}
    flops, nbytes = counts(block, n, hw, C, e, k, gw)
    row["floor_ms"] = max(nbytes / bw, flops / peak) * 1e3
    with torch.no_grad():
        mod, x, ref, weights = setup(name, dtype)
        # Every plan the sample has: layerwise (separate), fused (hand-written), best (auto), and any other fused
        # plan the sample writes (e.g. ConvFirst's 'rows').
        prefix = f"{block}_"
        plans = sorted(f[len(prefix):-len(".json")] for f in os.listdir(os.path.join(kernels_dir, name))
                       if f.startswith(prefix) and f.endswith(".json"))
        plans = ["layerwise", "fused", "best"] + [p for p in plans if p not in ("layerwise", "fused", "best")]
        for plan in plans:
            path = os.path.join(kernels_dir, name, f"{block}_{plan}.json")
            if not os.path.exists(path):
                row[f"tmc_{plan}_ms"] = None
                continue
            prog = tmc_torch.load(path)
            err = max_rel_err(prog(x, **{kk: weights[kk] for kk in prog.weights}), ref)
            row[f"tmc_{plan}_err"] = err
            if not err < TOLERANCE:
                # The sample's own plans must be right or the table means nothing; an extra plan (rows, narrow,
                # specialized, ...) that is wrong is left out of 'tmc fused', loudly, and the row names it.
                if plan in ("layerwise", "fused", "best"):
                    raise SystemExit(f"{name} {plan}: tmc differs from PyTorch (max rel err {err:.3e}); not timing it")
                print(f"WRONG: {name} {plan}: tmc differs from PyTorch (max rel err {err:.3e}); left out", flush=True)
                row.setdefault("wrong_plans", []).append(plan)
                row[f"tmc_{plan}_ms"] = None
                continue
            row[f"tmc_{plan}_ms"] = time_ms(lambda: prog(x, **{kk: weights[kk] for kk in prog.weights}), reps)
        # tmc fused: the fastest of the sample's fused plans (hand-written ones and auto's), all checked above: the
        # plan is chosen per configuration by measuring, as tmc tune does.
        row["tmc_handplan_ms"] = row.get("tmc_fused_ms")
        fused = [(row.get(f"tmc_{p}_ms"), p) for p in plans if p != "layerwise" and row.get(f"tmc_{p}_ms")]
        if fused:
            row["tmc_fused_ms"], row["tmc_fused_plan"] = min(fused)
        if "eager" in modes:
            row["eager_ms"] = time_ms(lambda: mod(x), reps)
        if "compile" in modes:
            c = torch.compile(mod)
            c(x)
            row["compile_ms"] = time_ms(lambda: c(x), reps)
        if "autotune" in modes:
            t0 = time.time()
            c = torch.compile(mod, mode="max-autotune-no-cudagraphs")
            c(x)
            row["autotune_compile_s"] = time.time() - t0
            row["autotune_ms"] = time_ms(lambda: c(x), reps)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kernels")
    ap.add_argument("--dtype", default="f16", choices=list(DT))
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--modes", default="eager,compile,autotune")
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--json", default=None, help="also write the rows here")
    a = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    bw, peak = measure_ceilings(20)
    print(f"# {torch.cuda.get_device_name()}, torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, "
          f"dtype {a.dtype}, median of {a.reps} samples of {BURST} back-to-back calls, each queued behind a GPU spin")
    print(f"# measured: copy {bw / 1e12:.2f} TB/s, fp16 matmul {peak / 1e12:.0f} TFLOP/s", flush=True)
    rows = []
    for name in a.configs.split(","):
        rows.append(run_config(name, a.kernels, a.dtype, a.modes.split(","), a.reps, bw, peak))
        print(json.dumps(rows[-1]), flush=True)
    print()
    print("| config | eager | compile | max-autotune | tmc separate | tmc fused (plan) | floor | fused/floor | best PyTorch/fused |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        pt = [r.get(m) for m in ("eager_ms", "compile_ms", "autotune_ms") if r.get(m)]
        f = r.get("tmc_fused_ms")
        cell = lambda v: f"{v:.3f}" if v else "-"
        print(f"| {r['config']} | {cell(r.get('eager_ms'))} | {cell(r.get('compile_ms'))} | "
              f"{cell(r.get('autotune_ms'))} | {cell(r.get('tmc_layerwise_ms'))} | {cell(f)} ({r.get('tmc_fused_plan', '-')}) | "
              f"{r['floor_ms']:.4f} | {cell(f / r['floor_ms'] if f else None)} | "
              f"{cell(min(pt) / f if f and pt else None)} |"
              + (f" wrong, left out: {', '.join(r['wrong_plans'])}" if r.get("wrong_plans") else ""))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "copy_Bps": bw,
                       "matmul_flops": peak, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
