"""Times the separate layers of EfficientNet-B0 and ConvNeXt-T under PyTorch eager, for `tmc analyze --measured`.

    python3 scripts/gpu/measure_networks.py --out measured.json [--batch 128] [--dtype f16|bf16] [--runs 50]
        [--warmup 10] [--models efficientnet_b0,convnext_tiny] [--torch-compile] [--no-gpu-lead]

Each JSON layer entry is one "tmc layer": one kernel of tmc's separate execution (a conv or linear with folded
BatchNorm and its activation as epilogue, a LayerNorm, an SE, a pool). The script walks the timm module tree into
those entries (plan_*), reads their shapes from the modules and from one probing forward pass (describe), then
times them with CUDA events recorded by forward pre-hooks and forward hooks (time_hooked). Blocks are timed as a
whole too; the part of a block that no hooked module covers (residual add, ConvNeXt's layer scale, permutes) is
added to the block's last entry, whose kernel does that work in tmc's separate execution (its epilogue).

Progress goes to stderr. scripts/gpu/README.md says more; test_measure_networks.py tests the tree walk on CPU.
"""
import argparse
import dataclasses
import datetime
import json
import os
import shlex
import statistics
import sys
import time
from typing import List

import torch
import torch.nn as nn

# timm model name -> (network name the Java side knows, number of tmc layers expected)
MODELS = {
    "efficientnet_b0": ("EfficientNetB0", 67),  # stem 1 + DS block 3 + 15 IR blocks x 4 + conv_head, pool, fc 3
    "convnext_tiny": ("ConvNeXtT", 83),  # stem 2 + 3 downsamples x 2 + 18 blocks x 4 + pool, norm, fc 3
}
DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16}
RESOLUTION = 224


class StructureError(Exception):
    """The timm module tree is not what this script knows how to map onto tmc layers."""


@dataclasses.dataclass
class Spec:
    """One tmc layer: the timm modules it covers, first to last in forward order.

    layout says how to read the spatial size off the last module's output: 'nchw' (convs, LayerNorm2d, SE),
    'nhwc' (ConvNeXt's LayerNorm and Linear MLP, which run on channels-last tokens) or 'flat' (pool, classifier).
    """
    paths: List[str]
    kind: str
    layout: str


@dataclasses.dataclass
class BlockSpec:
    path: str
    first: int  # index of its first Spec
    count: int


def _real(module, name):
    """The child called name, or None where it is absent or a placeholder (timm uses Identity or None)."""
    m = getattr(module, name, None)
    return m if isinstance(m, nn.Module) and not isinstance(m, nn.Identity) else None


def _need(module, path, names):
    missing = [n for n in names if _real(module, n) is None]
    if missing:
        raise StructureError(f"{path or 'model'} ({type(module).__name__}) lacks {', '.join(missing)}; "
                             f"this timm version's module tree is not the one this script maps")


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _conv_kind(conv, path):
    if not isinstance(conv, nn.Conv2d):
        raise StructureError(f"{path} is {type(conv).__name__}, expected a Conv2d")
    # tmc's pointwise layer is a GEMM over pixels: only a 1x1 conv at stride 1 is one
    return "pointwise" if tuple(conv.kernel_size) == (1, 1) and tuple(conv.stride) == (1, 1) else "conv"


def _norm_end(module, prefix, bn, act):
    """Path of the module that ends a conv+BN(+act) layer. Current timm folds the activation into BatchNormAct2d
    (bn1 etc.); older timm had separate act1/act2 modules after the BN, which the tmc layer covers too."""
    return _join(prefix, act) if _real(module, act) is not None else _join(prefix, bn)


def _conv_bn(model, module, prefix, conv, bn, act):
    path = _join(prefix, conv)
    return Spec([path, _norm_end(module, prefix, bn, act)], _conv_kind(model.get_submodule(path), path), "nchw")


def plan_efficientnet(model):
    """tmc layers of a timm EfficientNet (conv_stem, bn1, blocks[i][j], conv_head, bn2, global_pool, classifier)."""
    _need(model, "", ["conv_stem", "bn1", "blocks", "conv_head", "bn2", "global_pool", "classifier"])
    specs = [_conv_bn(model, model, "", "conv_stem", "bn1", "act1")]
    blocks = []
    for i, stage in enumerate(model.blocks):
        for j, blk in enumerate(stage):
            p = f"blocks.{i}.{j}"
            for extra in ("conv_s2d", "aa"):  # space-to-depth and anti-aliasing would be extra kernels
                if _real(blk, extra) is not None:
                    raise StructureError(f"{p}.{extra} is present; this script does not map it to a tmc layer")
            first = len(specs)
            if _real(blk, "conv_pwl") is not None:  # InvertedResidual: expand, depthwise, SE, project
                _need(blk, p, ["conv_pw", "bn1", "conv_dw", "bn2", "conv_pwl", "bn3"])
                specs.append(_conv_bn(model, blk, p, "conv_pw", "bn1", "act1"))
                specs.append(_conv_bn(model, blk, p, "conv_dw", "bn2", "act2"))
                if _real(blk, "se") is not None:
                    specs.append(Spec([f"{p}.se"], "se", "nchw"))
                specs.append(_conv_bn(model, blk, p, "conv_pwl", "bn3", "act3"))
            elif _real(blk, "conv_dw") is not None and _real(blk, "conv_pw") is not None:  # DepthwiseSeparableConv
                _need(blk, p, ["bn1", "bn2"])
                specs.append(_conv_bn(model, blk, p, "conv_dw", "bn1", "act1"))
                if _real(blk, "se") is not None:
                    specs.append(Spec([f"{p}.se"], "se", "nchw"))
                specs.append(_conv_bn(model, blk, p, "conv_pw", "bn2", "act2"))
            else:
                raise StructureError(f"{p} is {type(blk).__name__}; only InvertedResidual (conv_pw, conv_dw, se, "
                                     f"conv_pwl) and DepthwiseSeparableConv (conv_dw, se, conv_pw) are mapped")
            blocks.append(BlockSpec(p, first, len(specs) - first))
    specs.append(_conv_bn(model, model, "", "conv_head", "bn2", "act2"))
    specs.append(Spec(["global_pool"], "pool", "flat"))
    if not isinstance(model.classifier, nn.Linear):
        raise StructureError(f"classifier is {type(model.classifier).__name__}, expected Linear")
    specs.append(Spec(["classifier"], "linear", "flat"))
    return specs, blocks


def _split_norm_conv(seq, path, norm_first):
    """The (norm, conv) children of a ConvNeXt stem or downsample Sequential, checked by type, as Specs."""
    kids = list(seq.named_children()) if isinstance(seq, nn.Sequential) else []
    types = [("norm" if isinstance(m, nn.LayerNorm) else "conv" if isinstance(m, nn.Conv2d) else type(m).__name__)
             for _, m in kids]
    want = ["norm", "conv"] if norm_first else ["conv", "norm"]
    if types != want:
        raise StructureError(f"{path} holds {types or type(seq).__name__}, expected a Sequential of {want} "
                             f"(LayerNorm2d and Conv2d)")
    out = []
    for (name, m), t in zip(kids, types):
        p = f"{path}.{name}"
        out.append(Spec([p], "layernorm", "nchw") if t == "norm" else Spec([p], _conv_kind(m, p), "nchw"))
    return out


def plan_convnext(model):
    """tmc layers of a timm ConvNeXt (stem, stages[i].downsample / .blocks[j], head)."""
    _need(model, "", ["stem", "stages", "head"])
    specs = _split_norm_conv(model.stem, "stem", norm_first=False)
    blocks = []
    for i, stage in enumerate(model.stages):
        sp = f"stages.{i}"
        _need(stage, sp, ["blocks"])
        if _real(stage, "downsample") is not None:
            specs += _split_norm_conv(stage.downsample, f"{sp}.downsample", norm_first=True)
        for j, blk in enumerate(stage.blocks):
            p = f"{sp}.blocks.{j}"
            _need(blk, p, ["conv_dw", "norm", "mlp"])
            _need(blk.mlp, f"{p}.mlp", ["fc1", "act", "fc2"])
            if _real(blk, "shortcut") is not None or _real(blk.mlp, "grn") is not None or \
                    _real(blk.mlp, "norm") is not None:
                raise StructureError(f"{p} has a shortcut conv, GRN or MLP norm (not ConvNeXt-T's block); not mapped")
            # with conv_mlp=False (convnext_tiny) the block permutes to NHWC around norm and the Linear MLP
            layout = "nchw" if getattr(blk, "use_conv_mlp", False) else "nhwc"
            first = len(specs)
            specs.append(Spec([f"{p}.conv_dw"], _conv_kind(blk.conv_dw, f"{p}.conv_dw"), "nchw"))
            specs.append(Spec([f"{p}.norm"], "layernorm", layout))
            specs.append(Spec([f"{p}.mlp.fc1", f"{p}.mlp.act"], "pointwise", layout))
            specs.append(Spec([f"{p}.mlp.fc2"], "pointwise", layout))
            blocks.append(BlockSpec(p, first, len(specs) - first))
    if _real(model, "norm_pre") is not None:
        raise StructureError("norm_pre is present (a head_norm_first variant); only pool -> norm -> fc is mapped")
    head = model.head
    _need(head, "head", ["global_pool", "norm", "fc"])
    if _real(head, "pre_logits") is not None:
        raise StructureError("head.pre_logits is present (a hidden head layer); not mapped")
    if not isinstance(head.fc, nn.Linear):
        raise StructureError(f"head.fc is {type(head.fc).__name__}, expected Linear")
    specs += [Spec(["head.global_pool"], "pool", "flat"), Spec(["head.norm"], "layernorm", "nchw"),
              Spec(["head.fc"], "linear", "flat")]
    return specs, blocks


def plan(model):
    """Picks the walker by structure, not by class name, so that renamed classes still map."""
    if hasattr(model, "conv_stem") and hasattr(model, "blocks"):
        return plan_efficientnet(model)
    if hasattr(model, "stem") and hasattr(model, "stages"):
        return plan_convnext(model)
    raise StructureError(f"{type(model).__name__} is neither an EfficientNet nor a ConvNeXt module tree")


def _shape_fields(spec, first, out):
    """cin, cout, k, stride, groups, h_out, w_out of one tmc layer, from its first module and last output."""
    p = spec.paths[0]
    if isinstance(first, nn.Conv2d):
        if first.kernel_size[0] != first.kernel_size[1] or first.stride[0] != first.stride[1]:
            raise StructureError(f"{p}: non-square kernel or stride {first.kernel_size} {first.stride}")
        f = dict(cin=first.in_channels, cout=first.out_channels, k=first.kernel_size[0], stride=first.stride[0],
                 groups=first.groups)
    elif isinstance(first, nn.Linear):
        f = dict(cin=first.in_features, cout=first.out_features, k=1, stride=1, groups=1)
    elif isinstance(first, nn.LayerNorm):
        c = first.normalized_shape[0]
        f = dict(cin=c, cout=c, k=1, stride=1, groups=1)
    elif spec.kind == "se":
        # timm's SqueezeExcite: mean -> conv_reduce -> act -> conv_expand -> gate -> multiply; tmc wants the
        # channels it scales and the reduced width
        red = getattr(first, "conv_reduce", None)
        if not isinstance(red, nn.Conv2d):
            raise StructureError(f"{p} ({type(first).__name__}) has no conv_reduce Conv2d")
        f = dict(cin=red.in_channels, cout=red.in_channels, k=red.out_channels, stride=1, groups=1)
    elif spec.kind == "pool":
        f = dict(cin=out.shape[1], cout=out.shape[1], k=1, stride=1, groups=1)
    else:
        raise StructureError(f"{p}: no shape rule for {type(first).__name__} ({spec.kind})")
    if spec.layout == "flat":
        h, w, c = 1, 1, out.shape[1]
        if out.dim() == 4 and tuple(out.shape[2:]) != (1, 1):
            raise StructureError(f"{spec.paths[-1]} output {tuple(out.shape)} is not pooled")
    elif out.dim() != 4:
        raise StructureError(f"{spec.paths[-1]} output {tuple(out.shape)} is not 4-d")
    elif spec.layout == "nhwc":
        h, w, c = out.shape[1], out.shape[2], out.shape[3]
    else:
        h, w, c = out.shape[2], out.shape[3], out.shape[1]
    if c != f["cout"]:  # catches a wrong layout guess and a module that is not the one assumed
        raise StructureError(f"{'+'.join(spec.paths)}: output {tuple(out.shape)} does not carry {f['cout']} "
                             f"channels as {spec.layout}")
    f.update(h_out=int(h), w_out=int(w))
    return f


def describe(model, specs, blocks, x):
    """Runs one forward pass with hooks and returns the layer entries (without times), in forward order.

    Also checks that every hooked module runs exactly once and that the layers end in the planned order, so that
    the JSON's order is the forward order and each timed interval is one call.
    """
    ends, calls, handles = [], {}, []
    last_out = {}

    def watch(path, spec_index):
        def hook(module, args, out):
            calls[path] = calls.get(path, 0) + 1
            if spec_index is not None:
                ends.append(spec_index)
                last_out[spec_index] = out
        return hook

    watched = {}
    for i, s in enumerate(specs):
        watched.setdefault(s.paths[0], None)
        watched[s.paths[-1]] = i
    for b in blocks:
        watched.setdefault(b.path, None)
    try:
        for path, idx in watched.items():
            handles.append(model.get_submodule(path).register_forward_hook(watch(path, idx)))
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    wrong = {p: calls.get(p, 0) for p in watched if calls.get(p, 0) != 1}
    if wrong:
        raise StructureError(f"modules not called exactly once per forward: {wrong}")
    if ends != list(range(len(specs))):
        raise StructureError(f"layers did not end in the planned order: {ends}")
    entries = []
    for i, s in enumerate(specs):
        e = {"module": "+".join(s.paths), "kind": s.kind}
        e.update(_shape_fields(s, model.get_submodule(s.paths[0]), last_out[i]))
        entries.append(e)
    return entries


class CudaClock:
    """CUDA events, plus a sleep kernel that lets the host queue a whole forward pass before the GPU starts it, so
    that host work (Python hooks, launches) never shows up as GPU idle time between two events."""

    def __init__(self):
        self.cycles_per_ms = None
        if hasattr(torch.cuda, "_sleep"):
            s, e = self.event(), self.event()
            torch.cuda._sleep(1_000_000)  # first call loads the kernel
            s.record()
            torch.cuda._sleep(50_000_000)
            e.record()
            torch.cuda.synchronize()
            self.cycles_per_ms = 50_000_000 / s.elapsed_time(e)

    @staticmethod
    def event():
        return torch.cuda.Event(enable_timing=True)

    @staticmethod
    def sync():
        torch.cuda.synchronize()

    def lead(self, ms):
        if ms > 0 and self.cycles_per_ms:
            torch.cuda._sleep(int(ms * self.cycles_per_ms))


def _med(xs):
    return statistics.median(xs)


def time_plain(fn, x, clock, warmup, runs, lead_ms=0.0):
    """Median ms of fn(x) between two events, synchronised after every run."""
    s, e = clock.event(), clock.event()
    times = []
    for r in range(warmup + runs):
        clock.lead(lead_ms)
        s.record()
        fn(x)
        e.record()
        clock.sync()
        if r >= warmup:
            times.append(s.elapsed_time(e))
    return _med(times)


def lead_for(fn, x, clock, reps=3):
    """GPU lead for fn: 1.5 times the host time to queue one call of it (measured while the GPU is kept busy, so
    that the host never waits for it) plus 1 ms."""
    ts = []
    for _ in range(reps):
        clock.lead(200.0)
        t = time.perf_counter()
        fn(x)
        ts.append((time.perf_counter() - t) * 1e3)
        clock.sync()
    return 1.5 * _med(ts) + 1.0


def time_hooked(model, x, specs, blocks, clock, warmup, runs, gpu_lead):
    """Median ms of each layer, each block and the whole hooked forward over runs, and the GPU lead used.

    A layer's interval runs from the pre-hook of its first module to the forward hook of its last. The events are
    made once and recorded again every run; elapsed times are read after the synchronise that ends each run.
    """
    def pre(ev):
        return lambda module, args: ev.record()

    def post(ev):
        return lambda module, args, out: ev.record()

    intervals = [(model.get_submodule(s.paths[0]), model.get_submodule(s.paths[-1])) for s in specs]
    intervals += [(model.get_submodule(b.path),) * 2 for b in blocks]
    events = [(clock.event(), clock.event()) for _ in intervals]
    handles = []
    try:
        for (first, last), (s, e) in zip(intervals, events):
            handles.append(first.register_forward_pre_hook(pre(s)))
            handles.append(last.register_forward_hook(post(e)))
        # the hooks make queueing slower, so the lead is measured with them in place
        lead_ms = lead_for(model, x, clock) if gpu_lead else 0.0
        times = [[] for _ in intervals]
        s_all, e_all = clock.event(), clock.event()
        total = []
        for r in range(warmup + runs):
            clock.lead(lead_ms)
            s_all.record()
            model(x)
            e_all.record()
            clock.sync()
            if r >= warmup:
                total.append(s_all.elapsed_time(e_all))
                for t, (s, e) in zip(times, events):
                    t.append(s.elapsed_time(e))
    finally:
        for h in handles:
            h.remove()
    meds = [_med(t) for t in times]
    return meds[:len(specs)], meds[len(specs):], _med(total), lead_ms


def attribute(entries, layer_ms, blocks, block_ms):
    """Adds times to the entries and returns the block records.

    The block time left over after its layers (floored at 0: medians do not add exactly) goes to the block's last
    layer, the projection whose epilogue does the residual add and layer scale in tmc's separate execution; it is
    kept visible as remainder_ms.
    """
    for e, ms in zip(entries, layer_ms):
        e["ms"] = ms
        e["remainder_ms"] = 0.0
    out = []
    for b, ms in zip(blocks, block_ms):
        covered = sum(layer_ms[b.first:b.first + b.count])
        last = entries[b.first + b.count - 1]
        last["remainder_ms"] = max(0.0, ms - covered)
        last["ms"] += last["remainder_ms"]
        out.append({"module": b.path, "ms": ms, "first_layer": b.first, "layers": b.count})
    return out


def check_count(model_name, entries):
    expected = MODELS[model_name][1]
    if len(entries) != expected:
        listing = "\n".join(f"  {i:3d} {e['kind']:9s} {e['module']}" for i, e in enumerate(entries))
        raise StructureError(f"{model_name}: expected {expected} tmc layers, found {len(entries)}; the entries:\n"
                             f"{listing}")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def measure_network(model, model_name, x, clock, warmup, runs, gpu_lead=True, compile_model=False):
    """Everything for one network: its JSON object (the 'networks' element)."""
    specs, blocks = plan(model)
    entries = describe(model, specs, blocks, x)
    check_count(model_name, entries)
    log(f"{model_name}: {len(entries)} layers in {len(blocks)} blocks")

    with torch.no_grad():
        total = time_plain(model, x, clock, warmup, runs)
        log(f"{model_name}: eager forward {total:.3f} ms (median of {runs})")
        # eager PyTorch may be host-bound; the same forward queued ahead of the GPU shows its GPU time alone
        total_gpu = time_plain(model, x, clock, warmup, runs, lead_for(model, x, clock)) if gpu_lead else None
        layer_ms, block_ms, total_hooked, lead = time_hooked(model, x, specs, blocks, clock, warmup, runs, gpu_lead)
    log(f"{model_name}: hooked forward {total_hooked:.3f} ms, GPU lead {lead:.1f} ms")
    block_records = attribute(entries, layer_ms, blocks, block_ms)
    net = {
        "name": MODELS[model_name][0],
        "timm_model": model_name,
        "resolution": int(x.shape[-1]),
        "total_ms": total,
        "total_hooked_ms": total_hooked,
        "sum_layers_ms": sum(e["ms"] for e in entries),
        "gpu_lead_ms": lead,
    }
    if total_gpu is not None:
        net["total_queued_ms"] = total_gpu
    if compile_model:
        log(f"{model_name}: torch.compile (takes minutes)")
        compiled = torch.compile(model)
        with torch.no_grad():
            compiled(x)  # compiles
            net["total_compile_ms"] = time_plain(compiled, x, clock, warmup, runs)
        log(f"{model_name}: compiled forward {net['total_compile_ms']:.3f} ms")
    net["layers"] = entries
    net["blocks"] = block_records
    return net


def copy_bandwidth(clock, nbytes=1 << 30, reps=20):
    """Device copy, GB/s counting bytes read plus bytes written (what a memory-bound kernel's floor uses)."""
    src = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    ms = time_plain(lambda _: dst.copy_(src), None, clock, 3, reps)
    del src, dst
    return 2 * nbytes / (ms * 1e-3) / 1e9


def matmul_tflops(clock, dtype, n=8192, reps=20):
    a = torch.randn(n, n, device="cuda", dtype=dtype)
    b = torch.randn(n, n, device="cuda", dtype=dtype)
    ms = time_plain(lambda _: a @ b, None, clock, 3, reps)
    del a, b
    return 2 * n ** 3 / (ms * 1e-3) / 1e12


def _rounded(obj, digits=5):
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, dict):
        return {k: _rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v, digits) for v in obj]
    return obj


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="f16")
    ap.add_argument("--runs", type=int, default=50, help="timed forward passes per measurement (at least 50)")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated timm names: " + ", ".join(MODELS))
    ap.add_argument("--torch-compile", action="store_true", help="also time torch.compile(model) (minutes)")
    ap.add_argument("--no-gpu-lead", action="store_true",
                    help="do not let the host queue a forward before the GPU starts it (hook overhead may then "
                         "show as GPU idle inside the layer times)")
    args = ap.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {unknown}; known: {', '.join(MODELS)}")
    if args.runs < 50:
        ap.error("--runs must be at least 50")
    if not torch.cuda.is_available():
        sys.exit("error: CUDA is not available; this script times on the GPU")
    import timm  # only here, so that the tree walk above can be imported without timm

    dtype = DTYPES[args.dtype]
    torch.backends.cudnn.benchmark = True  # what a tuned PyTorch inference setup uses
    clock = CudaClock()
    gpu_lead = not args.no_gpu_lead
    if clock.cycles_per_ms is None and gpu_lead:
        log("warning: torch.cuda._sleep is missing; timing without a GPU lead")
        gpu_lead = False
    log(f"{torch.cuda.get_device_name()}: torch {torch.__version__}, timm {timm.__version__}, "
        f"CUDA {torch.version.cuda}")
    result = {
        "command": shlex.join([os.path.basename(sys.executable)] + sys.argv),
        "date": datetime.date.today().isoformat(),
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "timm": timm.__version__,
        "cuda": torch.version.cuda,
        "dtype": args.dtype,
        "batch": args.batch,
        "runs": args.runs,
        "warmup": args.warmup,
        "cudnn_benchmark": True,
    }
    result["copy_GBps"] = copy_bandwidth(clock)
    log(f"copy {result['copy_GBps']:.0f} GB/s (read + write)")
    result["matmul_TFLOPs"] = matmul_tflops(clock, dtype)
    log(f"matmul 8192^3 {args.dtype}: {result['matmul_TFLOPs']:.0f} TFLOP/s")
    networks = []
    for name in models:
        log(f"{name}: building (pretrained=False)")
        model = timm.create_model(name, pretrained=False).eval()
        model = model.to("cuda", dtype=dtype).to(memory_format=torch.channels_last)
        x = torch.randn(args.batch, 3, RESOLUTION, RESOLUTION, device="cuda", dtype=dtype)
        x = x.contiguous(memory_format=torch.channels_last)
        try:
            networks.append(measure_network(model, name, x, clock, args.warmup, args.runs,
                                            gpu_lead=gpu_lead, compile_model=args.torch_compile))
        except StructureError as err:
            sys.exit(f"error: {name} (timm {timm.__version__}): {err}")
        del model, x
        torch.cuda.empty_cache()
    result["networks"] = networks
    with open(args.out, "w") as f:
        json.dump(_rounded(result), f, indent=1)
        f.write("\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
