"""Run tmc-emitted kernels on PyTorch tensors.

A kernel directory holds what `tmc emit` writes: <Block>_<plan>.cu and <Block>_<plan>.json (the launch
manifest). `load()` compiles the source with NVRTC (through CuPy) for the current GPU and returns a callable
that takes channels_last (or NHWC) torch tensors and returns the outputs.

    import tmc_torch
    block = tmc_torch.load("generated/convfirst/ConvFirst_fused.json")
    weights = {"wc": tmc_torch.conv_weight(conv.weight), "bc": bias.float(), ...}   # .tm layouts (below)
    y = block(x, **weights)                           # x: [N, C, H, W] channels_last, or NHWC with nhwc=True

Weight layouts (.tm): conv2d [C_out, k, k, C_in/groups]; pointwise [C_out, C_in]; vectors [C].
PyTorch: nn.Conv2d weight [C_out, C_in/groups, k, k] -> permute(0, 2, 3, 1); nn.Linear / 1x1 conv
[C_out, C_in(, 1, 1)] -> reshape(C_out, C_in). See `conv_weight`, `pointwise_weight`, `fold_batchnorm`.
"""
import json
import math
import os

import cupy
import torch

_DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}


def _eval_dim(expr, n, h, w):
    """Grid expressions in the manifest are 'N', 'ceil(H / 8)' and the like."""
    env = {"N": n, "H": h, "W": w}
    expr = expr.strip()
    if expr in env:
        return env[expr]
    if expr.startswith("ceil(") and expr.endswith(")"):
        num, den = expr[5:-1].split("/")
        return -(-env[num.strip()] // int(den))
    raise ValueError(f"unsupported grid expression {expr!r}")


class Block:
    """A compiled tmc program: one or more kernels launched in order."""

    def __init__(self, manifest_path, arch=None):
        with open(manifest_path) as f:
            self.manifest = json.load(f)
        src_path = os.path.join(os.path.dirname(manifest_path), self.manifest["source"])
        with open(src_path) as f:
            source = f.read()
        major, minor = torch.cuda.get_device_capability()
        device_arch = f"sm_{major}{minor}"
        wanted = self.manifest.get("arch", "")
        if arch is None and wanted.endswith("a"):
            # wgmma kernels exist only in the feature-specific variant (sm_90a) of their own architecture.
            if wanted != device_arch + "a":
                raise RuntimeError(f"{self.manifest['block']}_{self.manifest['plan']} uses wgmma and needs {wanted}, "
                                   f"but this GPU is {device_arch}: compile a plan with 'math tensor_core' for it")
            arch = wanted
        arch = arch or device_arch
        cuda_home = os.environ.get("CUDA_HOME", "/usr/local/cuda")
        include = os.path.join(cuda_home, "include")
        options = ("-std=c++17", f"--gpu-architecture={arch}", f"-I{include}")
        self.module = cupy.RawModule(code=source, options=options, backend="nvrtc",
                                     name_expressions=None)
        self.kernels = []
        for k in self.manifest["kernels"]:
            fn = self.module.get_function(k["entry"])
            if k["dynamicSharedBytes"] > 48 * 1024:
                fn.max_dynamic_shared_size_bytes = k["dynamicSharedBytes"]
            self.kernels.append((k, fn))
        self.inputs = [t["name"] for t in self.manifest["inputs"]]
        self.weights = {t["name"]: t for t in self.manifest["weights"]}
        self.outputs = self.manifest["outputs"]

    def _check(self, name, tensor, spec, n=None, h=None, w=None):
        want = _DTYPES[spec["dtype"]]
        if tensor.dtype != want:
            raise TypeError(f"{name}: expected {want}, got {tensor.dtype}")
        if not tensor.is_cuda:
            raise TypeError(f"{name}: expected a CUDA tensor")
        shape = [dict(N=n, H=h, W=w).get(d, d) for d in spec["shape"]]
        if list(tensor.shape) != shape:
            raise ValueError(f"{name}: expected shape {shape}, got {list(tensor.shape)}")
        if not tensor.is_contiguous():
            raise ValueError(f"{name}: expected a contiguous tensor")

    def __call__(self, *args, nhwc=False, stream=None, poison=False, **kwargs):
        """Inputs positionally (in manifest order) or by name; weights by name. Returns the output(s).

        poison=True fills outputs and scratch with NaN first, so a test can tell unwritten elements."""
        tensors = dict(zip(self.inputs, args))
        tensors.update({k: v for k, v in kwargs.items()})
        missing = [n for n in self.inputs + list(self.weights) if n not in tensors]
        if missing:
            raise TypeError(f"missing tensors: {', '.join(missing)}")
        first = tensors[self.inputs[0]]
        if not nhwc:
            # channels_last NCHW tensors are NHWC in memory; view them as such without copying.
            for name in self.inputs:
                t = tensors[name]
                if not t.is_contiguous(memory_format=torch.channels_last):
                    t = t.contiguous(memory_format=torch.channels_last)
                tensors[name] = t.permute(0, 2, 3, 1)
            first = tensors[self.inputs[0]]
        n, h, w = first.shape[0], first.shape[1], first.shape[2]
        for name in self.inputs:
            spec = next(t for t in self.manifest["inputs"] if t["name"] == name)
            self._check(name, tensors[name], spec, n, h, w)
        for name, spec in self.weights.items():
            self._check(name, tensors[name], spec)
        dev = first.device
        for spec in self.outputs + self.manifest["scratch"]:
            c = spec["shape"][3]
            tensors[spec["name"]] = torch.empty((n, h, w, c), dtype=_DTYPES[spec["dtype"]], device=dev)
            if poison:
                tensors[spec["name"]].fill_(float("nan"))
        stream = stream or torch.cuda.current_stream(dev)
        with cupy.cuda.Stream.from_external(_StreamRef(stream.cuda_stream)):
            for k, fn in self.kernels:
                grid = tuple(_eval_dim(k["grid"][a], n, h, w) for a in ("x", "y", "z"))
                params = []
                for p in k["params"]:
                    if p in ("N", "H", "W"):
                        params.append(cupy.int32(dict(N=n, H=h, W=w)[p]))
                    else:
                        params.append(cupy.uint64(tensors[p].data_ptr()))
                fn(grid, (k["threads"],), tuple(params), shared_mem=k["dynamicSharedBytes"])
        outs = [tensors[o["name"]] for o in self.outputs]
        if not nhwc:
            outs = [o.permute(0, 3, 1, 2) for o in outs]  # NCHW view, channels_last memory
        return outs[0] if len(outs) == 1 else tuple(outs)


class _StreamRef:
    """Hands a torch stream to CuPy through the CUDA stream protocol."""

    def __init__(self, handle):
        self.handle = handle

    def __cuda_stream__(self):
        return (0, self.handle)


def load(manifest_path, arch=None):
    return Block(manifest_path, arch)


# ---- weight conversion from PyTorch modules ---------------------------------------------------------

def conv_weight(w):
    """nn.Conv2d weight [C_out, C_in/groups, k, k] -> .tm [C_out, k, k, C_in/groups]."""
    return w.permute(0, 2, 3, 1).contiguous()


def pointwise_weight(w):
    """nn.Linear [C_out, C_in] or 1x1 nn.Conv2d [C_out, C_in, 1, 1] -> .tm [C_out, C_in]."""
    return w.reshape(w.shape[0], w.shape[1]).contiguous()


def fold_batchnorm(weight, bias, bn):
    """Folds an eval-mode BatchNorm2d into the preceding conv: returns (weight, bias) in PyTorch layout."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = weight * scale.reshape(-1, *([1] * (weight.dim() - 1)))
    b = (bias if bias is not None else torch.zeros_like(bn.running_mean)) - bn.running_mean
    return w, b * scale + bn.bias
