"""CPU tests of measure_networks.py's tree walk, shapes, time attribution and hook timing.

    python3 scripts/gpu/test_measure_networks.py

timm is not needed (nor a GPU): the fakes below rebuild EfficientNet-B0's and ConvNeXt-T's module trees with timm's
attribute names (conv_stem, bn1, blocks[i][j].conv_pw/conv_dw/se/conv_pwl, stem, stages[i].downsample/blocks,
head.global_pool/norm/fc) and their layer sizes, small enough to run at 64x64 on a CPU. Skips when torch is missing.
"""
import json
import os
import sys
import time
import unittest

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("torch is not importable; skipping measure_networks tests")
    sys.exit(0)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measure_networks as mn  # noqa: E402


# --- a fake EfficientNet-B0, shaped like timm's (BatchNormAct2d holds the activation) ---

class BatchNormAct2d(nn.BatchNorm2d):
    def __init__(self, c, act=True):
        super().__init__(c)
        self.drop = nn.Identity()
        self.act = nn.SiLU() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.drop(super().forward(x)))


class SqueezeExcite(nn.Module):
    def __init__(self, c, rd):
        super().__init__()
        self.conv_reduce = nn.Conv2d(c, rd, 1)
        self.act1 = nn.SiLU()
        self.conv_expand = nn.Conv2d(rd, c, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        s = self.conv_expand(self.act1(self.conv_reduce(x.mean((2, 3), keepdim=True))))
        return x * self.gate(s)


class DepthwiseSeparableConv(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.has_skip = stride == 1 and cin == cout
        self.conv_dw = nn.Conv2d(cin, cin, k, stride, k // 2, groups=cin, bias=False)
        self.bn1 = BatchNormAct2d(cin)
        self.aa = nn.Identity()
        self.se = SqueezeExcite(cin, cin // 4)
        self.conv_pw = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn2 = BatchNormAct2d(cout, act=False)

    def forward(self, x):
        y = self.bn2(self.conv_pw(self.se(self.aa(self.bn1(self.conv_dw(x))))))
        return y + x if self.has_skip else y


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, k, stride, exp):
        super().__init__()
        mid = cin * exp
        self.has_skip = stride == 1 and cin == cout
        self.conv_s2d = None
        self.conv_pw = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn1 = BatchNormAct2d(mid)
        self.conv_dw = nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False)
        self.bn2 = BatchNormAct2d(mid)
        self.aa = nn.Identity()
        self.se = SqueezeExcite(mid, cin // 4)
        self.conv_pwl = nn.Conv2d(mid, cout, 1, bias=False)
        self.bn3 = BatchNormAct2d(cout, act=False)
        self.drop_path = nn.Identity()

    def forward(self, x):
        y = self.bn2(self.conv_dw(self.bn1(self.conv_pw(x))))
        y = self.bn3(self.conv_pwl(self.se(self.aa(y))))
        return self.drop_path(y) + x if self.has_skip else y


class SelectAdaptivePool2d(nn.Module):
    def __init__(self, flatten):
        super().__init__()
        self.flatten = flatten

    def forward(self, x):
        x = x.mean((2, 3), keepdim=True)
        return x.flatten(1) if self.flatten else x


B0_STAGES = [  # (repeats, kernel, stride, expansion, out channels)
    (1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112), (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320)]


class EfficientNet(nn.Module):
    def __init__(self, stages=B0_STAGES):
        super().__init__()
        self.conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self.bn1 = BatchNormAct2d(32)
        cin, seq = 32, []
        for reps, k, s, e, cout in stages:
            blocks = []
            for r in range(reps):
                stride = s if r == 0 else 1
                blocks.append(DepthwiseSeparableConv(cin, cout, k, stride) if e == 1 else
                              InvertedResidual(cin, cout, k, stride, e))
                cin = cout
            seq.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*seq)
        self.conv_head = nn.Conv2d(cin, 1280, 1, bias=False)
        self.bn2 = BatchNormAct2d(1280)
        self.global_pool = SelectAdaptivePool2d(flatten=True)
        self.classifier = nn.Linear(1280, 1000)

    def forward(self, x):
        x = self.bn2(self.conv_head(self.blocks(self.bn1(self.conv_stem(x)))))
        return self.classifier(self.global_pool(x))


# --- a fake ConvNeXt-T, shaped like timm's (conv_mlp=False: norm and MLP on channels-last tokens) ---

class LayerNorm2d(nn.LayerNorm):
    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps).permute(0, 3, 1, 2)


class Mlp(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.fc1 = nn.Linear(c, hidden)
        self.act = nn.GELU()
        self.drop1 = nn.Identity()
        self.norm = nn.Identity()
        self.fc2 = nn.Linear(hidden, c)
        self.drop2 = nn.Identity()

    def forward(self, x):
        return self.drop2(self.fc2(self.norm(self.drop1(self.act(self.fc1(x))))))


class ConvNeXtBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.use_conv_mlp = False
        self.conv_dw = nn.Conv2d(c, c, 7, 1, 3, groups=c)
        self.norm = nn.LayerNorm(c)
        self.mlp = Mlp(c, 4 * c)
        self.gamma = nn.Parameter(torch.full((c,), 1e-6))
        self.shortcut = nn.Identity()
        self.drop_path = nn.Identity()

    def forward(self, x):
        y = self.mlp(self.norm(self.conv_dw(x).permute(0, 2, 3, 1))).permute(0, 3, 1, 2)
        return self.drop_path(y.mul(self.gamma.reshape(1, -1, 1, 1))) + self.shortcut(x)


class ConvNeXtStage(nn.Module):
    def __init__(self, cin, cout, depth):
        super().__init__()
        self.downsample = nn.Identity() if cin == cout else \
            nn.Sequential(LayerNorm2d(cin), nn.Conv2d(cin, cout, 2, 2))
        self.blocks = nn.Sequential(*[ConvNeXtBlock(cout) for _ in range(depth)])

    def forward(self, x):
        return self.blocks(self.downsample(x))


class NormMlpClassifierHead(nn.Module):
    def __init__(self, c, classes):
        super().__init__()
        self.global_pool = SelectAdaptivePool2d(flatten=False)
        self.norm = LayerNorm2d(c)
        self.flatten = nn.Flatten(1)
        self.pre_logits = nn.Identity()
        self.drop = nn.Dropout(0.0)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        return self.fc(self.drop(self.pre_logits(self.flatten(self.norm(self.global_pool(x))))))


class ConvNeXt(nn.Module):
    def __init__(self, depths=(3, 3, 9, 3), dims=(96, 192, 384, 768)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dims[0], 4, 4), LayerNorm2d(dims[0]))
        cin, stages = dims[0], []
        for d, c in zip(depths, dims):
            stages.append(ConvNeXtStage(cin, c, d))
            cin = c
        self.stages = nn.Sequential(*stages)
        self.norm_pre = nn.Identity()
        self.head = NormMlpClassifierHead(cin, 1000)

    def forward(self, x):
        return self.head(self.norm_pre(self.stages(self.stem(x))))


class CpuEvent:
    """Stands in for torch.cuda.Event: host time, in ms like elapsed_time."""

    def record(self):
        self.t = time.perf_counter()

    def elapsed_time(self, end):
        return (end.t - self.t) * 1e3


class CpuClock:
    event = staticmethod(CpuEvent)

    def sync(self):
        pass

    def lead(self, ms):
        pass


def layer(entries, module):
    return next(e for e in entries if e["module"] == module)


def shape(e):
    return tuple(e[k] for k in ("kind", "cin", "cout", "k", "stride", "groups", "h_out", "w_out"))


X = torch.randn(1, 3, 64, 64)


class EfficientNetTest(unittest.TestCase):
    def setUp(self):
        self.model = EfficientNet().eval()
        self.specs, self.blocks = mn.plan(self.model)
        self.entries = mn.describe(self.model, self.specs, self.blocks, X)

    def test_count_and_blocks(self):
        mn.check_count("efficientnet_b0", self.entries)
        self.assertEqual(67, len(self.entries))
        self.assertEqual(16, len(self.blocks))
        self.assertEqual(("blocks.0.0", 1, 3), (self.blocks[0].path, self.blocks[0].first, self.blocks[0].count))
        self.assertEqual(("blocks.6.0", 60, 4), (self.blocks[-1].path, self.blocks[-1].first, self.blocks[-1].count))
        self.assertEqual(16, sum(e["kind"] == "se" for e in self.entries))

    def test_shapes(self):
        e = self.entries
        self.assertEqual("conv_stem+bn1", e[0]["module"])
        self.assertEqual(("conv", 3, 32, 3, 2, 1, 32, 32), shape(e[0]))
        self.assertEqual(("conv", 32, 32, 3, 1, 32, 32, 32), shape(layer(e, "blocks.0.0.conv_dw+blocks.0.0.bn1")))
        self.assertEqual(("se", 32, 32, 8, 1, 1, 32, 32), shape(layer(e, "blocks.0.0.se")))
        self.assertEqual(("pointwise", 32, 16, 1, 1, 1, 32, 32), shape(layer(e, "blocks.0.0.conv_pw+blocks.0.0.bn2")))
        self.assertEqual(("pointwise", 16, 96, 1, 1, 1, 32, 32), shape(layer(e, "blocks.1.0.conv_pw+blocks.1.0.bn1")))
        self.assertEqual(("conv", 96, 96, 3, 2, 96, 16, 16), shape(layer(e, "blocks.1.0.conv_dw+blocks.1.0.bn2")))
        self.assertEqual(("se", 96, 96, 4, 1, 1, 16, 16), shape(layer(e, "blocks.1.0.se")))
        self.assertEqual(("pointwise", 96, 24, 1, 1, 1, 16, 16),
                         shape(layer(e, "blocks.1.0.conv_pwl+blocks.1.0.bn3")))
        self.assertEqual(("conv", 672, 672, 5, 2, 672, 2, 2), shape(layer(e, "blocks.5.0.conv_dw+blocks.5.0.bn2")))
        self.assertEqual(("pointwise", 320, 1280, 1, 1, 1, 2, 2), shape(layer(e, "conv_head+bn2")))
        self.assertEqual(("pool", 1280, 1280, 1, 1, 1, 1, 1), shape(e[-2]))
        self.assertEqual(("linear", 1280, 1000, 1, 1, 1, 1, 1), shape(e[-1]))

    def test_old_timm_separate_activation(self):
        # timm before BatchNormAct2d had act1/act2 modules after the BN; the layer must end at the activation
        blk = self.model.blocks[1][0]
        blk.bn1.act = nn.Identity()
        blk.act1 = nn.SiLU()
        specs, _ = mn.plan(self.model)
        self.assertEqual(["blocks.1.0.conv_pw", "blocks.1.0.act1"], specs[4].paths)

    def test_wrong_count_is_reported(self):
        del self.model.blocks[6][0].se
        self.model.blocks[6][0].se = nn.Identity()
        specs, blocks = mn.plan(self.model)
        entries = mn.describe(self.model, specs, blocks, X)
        with self.assertRaisesRegex(mn.StructureError, "expected 67 tmc layers, found 66"):
            mn.check_count("efficientnet_b0", entries)

    def test_unknown_block_is_reported(self):
        self.model.blocks[2][1] = nn.Sequential(nn.Conv2d(40, 40, 3, padding=1))
        with self.assertRaisesRegex(mn.StructureError, "blocks.2.1 is Sequential"):
            mn.plan(self.model)


class ConvNeXtTest(unittest.TestCase):
    def setUp(self):
        self.model = ConvNeXt().eval()
        self.specs, self.blocks = mn.plan(self.model)
        self.entries = mn.describe(self.model, self.specs, self.blocks, X)

    def test_count_and_blocks(self):
        mn.check_count("convnext_tiny", self.entries)
        self.assertEqual(83, len(self.entries))
        self.assertEqual(18, len(self.blocks))
        self.assertEqual(("stages.0.blocks.0", 2, 4),
                         (self.blocks[0].path, self.blocks[0].first, self.blocks[0].count))
        self.assertEqual(16, self.blocks[3].first)  # stage 1's downsample comes first: 2 + 3 x 4 + 2

    def test_shapes(self):
        e = self.entries
        self.assertEqual(("conv", 3, 96, 4, 4, 1, 16, 16), shape(layer(e, "stem.0")))
        self.assertEqual(("layernorm", 96, 96, 1, 1, 1, 16, 16), shape(layer(e, "stem.1")))
        self.assertEqual(("conv", 96, 96, 7, 1, 96, 16, 16), shape(layer(e, "stages.0.blocks.0.conv_dw")))
        self.assertEqual(("layernorm", 96, 96, 1, 1, 1, 16, 16), shape(layer(e, "stages.0.blocks.0.norm")))
        self.assertEqual(("pointwise", 96, 384, 1, 1, 1, 16, 16),
                         shape(layer(e, "stages.0.blocks.0.mlp.fc1+stages.0.blocks.0.mlp.act")))
        self.assertEqual(("pointwise", 384, 96, 1, 1, 1, 16, 16), shape(layer(e, "stages.0.blocks.0.mlp.fc2")))
        self.assertEqual(("layernorm", 96, 96, 1, 1, 1, 16, 16), shape(layer(e, "stages.1.downsample.0")))
        self.assertEqual(("conv", 96, 192, 2, 2, 1, 8, 8), shape(layer(e, "stages.1.downsample.1")))
        self.assertEqual(("pointwise", 3072, 768, 1, 1, 1, 2, 2), shape(layer(e, "stages.3.blocks.2.mlp.fc2")))
        self.assertEqual(("pool", 768, 768, 1, 1, 1, 1, 1), shape(layer(e, "head.global_pool")))
        self.assertEqual(("layernorm", 768, 768, 1, 1, 1, 1, 1), shape(layer(e, "head.norm")))
        self.assertEqual(("linear", 768, 1000, 1, 1, 1, 1, 1), shape(e[-1]))

    def test_unexpected_structure_is_reported(self):
        self.model.stages[2].blocks[4].shortcut = nn.Conv2d(384, 384, 1)
        with self.assertRaisesRegex(mn.StructureError, "stages.2.blocks.4 has a shortcut"):
            mn.plan(self.model)

    def test_wrong_layout_is_caught(self):
        # a block whose norm ran on NCHW would show C in the wrong place; the shape check refuses it
        self.specs[3].layout = "nchw"
        with self.assertRaisesRegex(mn.StructureError, "does not carry 96 channels"):
            mn.describe(self.model, self.specs, self.blocks, X)


class AttributionTest(unittest.TestCase):
    def test_remainder_goes_to_the_last_layer(self):
        entries = [{"module": m} for m in "abcde"]
        blocks = [mn.BlockSpec("b0", 1, 2), mn.BlockSpec("b1", 3, 2)]
        out = mn.attribute(entries, [1.0, 2.0, 3.0, 4.0, 5.0], blocks, [5.5, 8.0])
        self.assertEqual([1.0, 2.0, 3.5, 4.0, 5.0], [e["ms"] for e in entries])
        self.assertEqual([0.0, 0.0, 0.5, 0.0, 0.0], [e["remainder_ms"] for e in entries])  # b1: 8 < 9, floored
        self.assertEqual({"module": "b0", "ms": 5.5, "first_layer": 1, "layers": 2}, out[0])


class MeasureTest(unittest.TestCase):
    """The whole measurement with host-clock events: hooks fire, every interval is timed, the JSON holds."""

    def check(self, net, name, layers, blocks):
        self.assertEqual(name, net["name"])
        self.assertEqual(layers, len(net["layers"]))
        self.assertEqual(blocks, len(net["blocks"]))
        for e in net["layers"]:
            self.assertGreater(e["ms"], 0.0)
            self.assertEqual(["module", "kind", "cin", "cout", "k", "stride", "groups", "h_out", "w_out", "ms",
                              "remainder_ms"], list(e))
        for b in net["blocks"]:
            mine = net["layers"][b["first_layer"]:b["first_layer"] + b["layers"]]
            self.assertEqual("pointwise", mine[-1]["kind"])
            covered = sum(e["ms"] - e["remainder_ms"] for e in mine)
            self.assertAlmostEqual(max(0.0, b["ms"] - covered), mine[-1]["remainder_ms"])
        self.assertAlmostEqual(net["sum_layers_ms"], sum(e["ms"] for e in net["layers"]))
        json.dumps(mn._rounded(net))

    def test_convnext_on_cpu(self):
        model = ConvNeXt(dims=(8, 16, 32, 64)).eval()
        net = mn.measure_network(model, "convnext_tiny", X, CpuClock(), warmup=1, runs=3, gpu_lead=False)
        self.check(net, "ConvNeXtT", 83, 18)

    def test_efficientnet_on_cpu_with_lead(self):
        net = mn.measure_network(EfficientNet().eval(), "efficientnet_b0", X, CpuClock(), warmup=1, runs=3)
        self.check(net, "EfficientNetB0", 67, 16)
        self.assertIn("total_queued_ms", net)


class MainTest(unittest.TestCase):
    def test_arguments_are_checked(self):
        for argv in (["--out", "x.json", "--runs", "10"], ["--out", "x.json", "--models", "resnet50"]):
            with self.assertRaises(SystemExit):
                mn.main(argv)


if __name__ == "__main__":
    unittest.main()
