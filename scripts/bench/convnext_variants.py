"""Hand-edited variants of the emitted ConvNeXt kernel, for scripts/bench/variants.py: each a directory with the
.cu and its manifest, made from generated/convnext/ConvNeXt_fused.cu (or a file given) by exact text edits.

    python3 scripts/bench/convnext_variants.py OUT_DIR [--source FILE.cu]

Variants (eighth session; what each tests is in docs/benchmarks.md):
  cx0    the emitted kernel, unchanged
  cxres  the residual x read from global memory (L2) in the epilogue instead of x_s's interior
  cxlive x_s, wd_s dead after the conv: n_s and the weight double buffers share their bytes, chunk 0's weights are
         copied after the conv's barrier, the residual from global memory: 62 KB of shared memory, 3 blocks per SM
  cxln   LayerNorm with two threads per pixel, each 48 channels held in registers (16-byte reads, one shuffle per
         reduction) instead of one warp per pixel with a 5-step shuffle tree per reduction
  cxboth cxlive and cxln together
Every edit must match exactly once, so a change in the emitter's text stops this script instead of making a
silently different kernel."""
import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = "ConvNeXt_fused"


def edit(src, old, new):
    n = src.count(old)
    if n != 1:
        sys.exit(f"convnext_variants: expected one match, found {n}:\n{old}")
    return src.replace(old, new)


RESIDUAL_OLD = "const float2 x_oc = tm_f32x2(&x_s[((ly + 3) * X_S_W + lx + 3) * X_S_STRIDE + oc]);"
RESIDUAL_NEW = "const float2 x_oc = tm_f32x2(x + ((size_t)(n * H + gh) * W + gw) * 96 + oc);  // residual from L2"


def residual_from_global(src):
    return edit(src, RESIDUAL_OLD, RESIDUAL_NEW)


CHUNK0 = """    // stage w1[0 : 0+32, 0 : 0+96] -> w1_s copy 0 (rows padded to 104), cp.async 16 B per copy
    for (int i = tid; i < 384; i += THREADS) {
        const int row = i / 12, col = (i % 12) * 8;
        tm_cp_async16(w1_s_buf + row * 104 + col, w1 + (size_t)(0 + row) * 96 + 0 + col);
    }
    // stage w2[0 : 0+96, 0 : 0+32] -> w2_s copy 0 (rows padded to 40), cp.async 16 B per copy
    for (int i = tid; i < 384; i += THREADS) {
        const int row = i / 4, col = (i % 4) * 8;
        tm_cp_async16(w2_s_buf + row * 40 + col, w2 + (size_t)(0 + row) * 384 + 0 + col);
    }
    tm_cp_async_commit();
"""


def lifetimes(src):
    """x_s and wd_s are dead after the conv: n_s, w1_s and w2_s take their bytes."""
    src = residual_from_global(src)
    src = edit(src, "__half* wd_s = reinterpret_cast<__half*>(smem + 40768);",
               "__half* wd_s = reinterpret_cast<__half*>(smem + 40768);  // x_s and wd_s: until the conv's barrier")
    src = edit(src, "__half* w1_s_buf = reinterpret_cast<__half*>(smem + 50176);",
               "__half* w1_s_buf = reinterpret_cast<__half*>(smem + 13312);  // after the conv, over x_s")
    src = edit(src, "__half* w2_s_buf = reinterpret_cast<__half*>(smem + 63488);",
               "__half* w2_s_buf = reinterpret_cast<__half*>(smem + 26624);  // after the conv, over x_s and wd_s")
    src = edit(src, "__half* a_s = reinterpret_cast<__half*>(smem + 78848);",
               "__half* a_s = reinterpret_cast<__half*>(smem + 50176);")
    src = edit(src, "__half* n_s = reinterpret_cast<__half*>(smem + 92160);",
               "__half* n_s = reinterpret_cast<__half*>(smem + 0);  // after the conv, over x_s")
    # chunk 0's slices move from the start to just after the conv's barrier
    src = edit(src, CHUNK0 + "    tm_cp_async_wait<1>();  // all but the newest group (chunk 0's slices) have landed\n",
               "    tm_cp_async_wait<0>();  // x_s has landed\n")
    conv_end = "    __syncthreads();\n    // L2 layernorm 96 -> n over 8x8 pixels -> n_s"
    src = edit(src, conv_end, "    __syncthreads();\n    // x_s and wd_s are dead: chunk 0's slices go over them\n" + CHUNK0
               + "    // L2 layernorm 96 -> n over 8x8 pixels -> n_s")
    src = edit(src, "105472 B shared", "63488 B shared")
    return src


LN_START = "    // L2 layernorm 96 -> n over 8x8 pixels -> n_s   (samples/convnext.tm:17)\n    {\n"
LN_END = "        }\n    }\n    __syncthreads();\n    // stream E in 12 chunks of 32"

LN_NEW = """    // L2 layernorm 96 -> n over 8x8 pixels -> n_s   (samples/convnext.tm:17)
    // two threads per pixel, 48 channels each, held in registers: one shuffle per reduction
    {
        const int p = tid >> 1, part = tid & 1;  // pixel p, channels part * 48 .. part * 48 + 47
        const int ly = p / 8, lx = p % 8;
        const int gh = h0 - 0 + ly, gw = w0 - 0 + lx;
        const bool inside = gh >= 0 && gh < H && gw >= 0 && gw < W;
        const int cb = part * 48;
        float v[48];
        #pragma unroll
        for (int j = 0; j < 48; j += 8) {
            const uint4 q = *reinterpret_cast<const uint4*>(a_s + p * A_S_STRIDE + cb + j);
            const __half2* h2 = reinterpret_cast<const __half2*>(&q);
            #pragma unroll
            for (int u = 0; u < 4; ++u) { const float2 f = __half22float2(h2[u]); v[j + 2 * u] = f.x; v[j + 2 * u + 1] = f.y; }
        }
        float s = 0.0f;
        #pragma unroll
        for (int j = 0; j < 48; ++j) s += v[j];
        s += __shfl_xor_sync(0xffffffffu, s, 1);
        const float mean = s / 96.0f;
        float q = 0.0f;
        #pragma unroll
        for (int j = 0; j < 48; ++j) { const float d = v[j] - mean; q += d * d; }
        q += __shfl_xor_sync(0xffffffffu, q, 1);
        const float rstd = 1.0f / sqrtf(q / 96.0f + 1.00000000e-06f);
        #pragma unroll
        for (int j = 0; j < 48; j += 8) {
            uint4 o;
            __half2* o2 = reinterpret_cast<__half2*>(&o);
            #pragma unroll
            for (int u = 0; u < 4; ++u) {
                const int oc = cb + j + 2 * u;
                const float2 gg = tm_f32x2(g_g + oc), bb = tm_f32x2(beta + oc);
                const float n0 = inside ? (v[j + 2 * u] - mean) * rstd * gg.x + bb.x : 0.0f;
                const float n1 = inside ? (v[j + 2 * u + 1] - mean) * rstd * gg.y + bb.y : 0.0f;
                o2[u] = __floats2half2_rn(n0, n1);
            }
            *reinterpret_cast<uint4*>(n_s + p * N_S_STRIDE + cb + j) = o;
        }
    }
    __syncthreads();
    // stream E in 12 chunks of 32"""


def layernorm_by_pairs(src):
    i, j = src.index(LN_START), src.index(LN_END)
    if src.count(LN_START) != 1 or src.count(LN_END) != 1:
        sys.exit("convnext_variants: the LayerNorm block is not where it was")
    return src[:i] + LN_NEW + src[j + len(LN_END):]


VARIANTS = {
    "cx0": lambda s: s,
    "cxres": residual_from_global,
    "cxlive": lifetimes,
    "cxln": layernorm_by_pairs,
    "cxboth": lambda s: layernorm_by_pairs(lifetimes(s)),
}
SHARED = {"cxlive": 63488, "cxboth": 63488}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--source", default=os.path.join(ROOT, "generated", "convnext", NAME + ".cu"))
    a = ap.parse_args()
    src = open(a.source).read()
    manifest = json.load(open(os.path.splitext(a.source)[0] + ".json"))
    for name, make in VARIANTS.items():
        d = os.path.join(a.out, name)
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, NAME + ".cu"), "w").write(make(src))
        m = json.loads(json.dumps(manifest))
        m.pop("sourceSha256", None)
        if name in SHARED:
            m["kernels"][0]["dynamicSharedBytes"] = SHARED[name]
        json.dump(m, open(os.path.join(d, NAME + ".json"), "w"), indent=2)
    print(f"wrote {len(VARIANTS)} variants into {a.out}")


if __name__ == "__main__":
    main()
