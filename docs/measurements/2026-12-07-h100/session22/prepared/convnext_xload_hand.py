"""ConvNeXt `fused` with its input tile copied down fixed columns (twenty-second session, hand-edited; for the next
session's GPU): the 14x14-pixel halo tile's 2352 16-byte pieces were copied by a loop that divides each copy's index
by 12 and its pixel by 14 (the loop is 4.4 % of the kernel's warp samples, most of it index arithmetic: SASS
samples, call 2). Here 120 threads each keep one piece column (c) and step 10 pixels at a time, the pixel's row and
column carried from copy to copy (no division), 20 unrolled copies. The same form as the weight slices' copies
(KernelWriter.columnCopies), which have it since the fifteenth session.

    python3 convnext_xload_hand.py SRC_DIR OUT_DIR   # SRC_DIR holds ConvNeXt_fused.{cu,json}; writes OUT_DIR/
"""
import os, sys

from hand_variant import read_program, write_program

src, out = sys.argv[1], sys.argv[2]
t, m = read_program(os.path.join(src, "ConvNeXt_fused.cu"), os.path.join(src, "ConvNeXt_fused.json"))
old = """    for (int i = tid; i < X_S_PIXELS * 12; i += THREADS) {
        const int p = i / 12, c = (i % 12) * 8;
        const int gh = h0 - 3 + p / X_S_W, gw = w0 - 3 + p % X_S_W;
        if (gh >= 0 && gh < H && gw >= 0 && gw < W)
            tm_cp_async16(x_s + p * X_S_STRIDE + c, x + ((size_t)(n * H + gh) * W + gw) * 96 + c);
        else  // zero padding: a plain store, visible after the same barrier
            *reinterpret_cast<uint4*>(x_s + p * X_S_STRIDE + c) = make_uint4(0u, 0u, 0u, 0u);
    }
"""
new = """    if (tid < 120) {  // (hand edit) 120 threads: one piece column each, every 10th pixel
        const int c = (tid % 12) * 8;
        int ly = (tid / 12) / X_S_W, lx = (tid / 12) % X_S_W;
        #pragma unroll
        for (int j = 0; j < 20; ++j) {
            const int p = ly * X_S_W + lx;
            if (p < X_S_PIXELS) {
                const int gh = h0 - 3 + ly, gw = w0 - 3 + lx;
                if (gh >= 0 && gh < H && gw >= 0 && gw < W)
                    tm_cp_async16(x_s + p * X_S_STRIDE + c, x + ((size_t)(n * H + gh) * W + gw) * 96 + c);
                else  // zero padding: a plain store, visible after the same barrier
                    *reinterpret_cast<uint4*>(x_s + p * X_S_STRIDE + c) = make_uint4(0u, 0u, 0u, 0u);
            }
            lx += 10;
            if (lx >= X_S_W) { lx -= X_S_W; ++ly; }
        }
    }
"""
assert t.count(old) == 1
t = t.replace(old, new)
write_program(out, "ConvNeXt_fused.cu", t, m)
