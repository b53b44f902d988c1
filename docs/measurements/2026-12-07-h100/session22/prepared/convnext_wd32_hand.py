"""ConvNeXt `fused` with the depthwise weight staged in f32 (twenty-second session, hand-edited; for the next
session's GPU): the CUDA-core 7x7 converts each tap's weight pair from f16 at every use (a load and two conversions
per tap per item: 98 of the 1225 instructions of an item of 8 pixels x 2 channels); staged as f32 once per block, a
tap is one 8-byte load. The weight's shared bytes double (9408 -> 18816 B): a_s moves up, 63488 -> 72896 B per block,
still 3 blocks per SM. Exact: f16 -> f32 conversion loses nothing.

    python3 convnext_wd32_hand.py SRC_DIR OUT_DIR   # SRC_DIR holds ConvNeXt_fused.{cu,json}; writes OUT_DIR/
"""
import os, sys

from hand_variant import read_program, write_program

src, out = sys.argv[1], sys.argv[2]
t, m = read_program(os.path.join(src, "ConvNeXt_fused.cu"), os.path.join(src, "ConvNeXt_fused.json"))


def sub(text, old, new):
    assert text.count(old) == 1, old
    return text.replace(old, new)


t = sub(t, "__half* wd_s = reinterpret_cast<__half*>(smem + 40768);", "float* wd_s = reinterpret_cast<float*>(smem + 40768);  // f32 (hand edit)")
t = sub(t, "__half* a_s = reinterpret_cast<__half*>(smem + 50176);", "__half* a_s = reinterpret_cast<__half*>(smem + 59584);")
t = sub(t, "wd_s[row * 96 + col] = wd[(size_t)(0 + col) * 49 + row];", "wd_s[row * 96 + col] = tm_f32(wd[(size_t)(0 + col) * 49 + row]);")
t = sub(t, "63488 B shared", "72896 B shared")
assert m["kernels"][0]["dynamicSharedBytes"] == 63488
m["kernels"][0]["dynamicSharedBytes"] = 72896
write_program(out, "ConvNeXt_fused.cu", t, m)
