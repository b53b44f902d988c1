"""Hand-edited variants of generated/convnext/ConvNeXt_fused.cu (twenty-second session), each testing one source of
long-scoreboard stalls that Nsight Compute's per-instruction samples point at (fifteenth session's SASS profile):

  bias   b1's chunk loaded before the trip's barrier (was: after it, consumed at once by the first mma)
  wd     the depthwise weight staged by cp.async in its own layout and transposed in shared memory (was: 49
         scalar global loads per thread, 2 bytes each, 98 bytes apart across lanes)
  res    the residual's 8x8 pixels copied by cp.async into a_s during the last trips, read there by the epilogue
         (was: global loads in the epilogue)
  all    the three
  allln  all, and LayerNorm's g and beta loaded by pairs

    python3 convnext_hand.py SRC_DIR OUT_DIR   # SRC_DIR holds ConvNeXt_fused.{cu,json}
"""
import os, sys

from hand_variant import read_program, write_program

src_dir, out_dir = sys.argv[1], sys.argv[2]
base, manifest = read_program(os.path.join(src_dir, "ConvNeXt_fused.cu"), os.path.join(src_dir, "ConvNeXt_fused.json"))


def sub(text, old, new, count=1):
    assert text.count(old) == count, (old, text.count(old))
    return text.replace(old, new)


def bias(t):
    t = sub(t, """        tm_cp_async_wait<0>();  // chunk e0 has landed (its copies were the only ones in flight)
        __syncthreads();""", """        float2 b1_pre[4];  // this chunk's b1, loaded before the barrier so that its latency passes during it
        #pragma unroll
        for (int nj = 0; nj < 4; ++nj) b1_pre[nj] = tm_f32x2(b1 + e0 + nj * 8 + 2 * lane_col);
        tm_cp_async_wait<0>();  // chunk e0 has landed (its copies were the only ones in flight)
        __syncthreads();""")
    return sub(t, "const float2 b = tm_f32x2(b1 + e0 + sl + nj * 8 + 2 * lane_col);", "const float2 b = b1_pre[nj];")


def wd(t):
    start = t.index("    // stage wd[0 : 0+96, taps, :] -> wd_s transposed")
    end = t.index("    tm_cp_async_commit();\n    tm_cp_async_wait<0>();  // every copy has landed")
    t = t[:start] + """    // stage wd in its own layout [channel][tap] -> a_s (free until the conv), cp.async 16 B per copy
    for (int i = tid; i < 588; i += THREADS) tm_cp_async16(a_s + i * 8, wd + i * 8);
""" + t[end:]
    return sub(t, """    tm_cp_async_wait<0>();  // every copy has landed
    __syncthreads();
""", """    tm_cp_async_wait<0>();  // every copy has landed
    __syncthreads();
    // wd from a_s to wd_s as [tap][channel], channel pairs per store
    for (int i = tid; i < 2352; i += THREADS) {
        const int c = 2 * (i % 48), tap = i / 48;
        *reinterpret_cast<__half2*>(wd_s + tap * 96 + c) = __halves2half2(a_s[c * 49 + tap], a_s[(c + 1) * 49 + tap]);
    }
    __syncthreads();
""")


def res(t):
    t = sub(t, """                    tm_cp_async16((w2_s_buf + (stage ^ 1) * W2_S_COPY) + row * 40 + col, w2 + (size_t)(0 + row) * 384 + e0 + 32 + col);
                }
            }
""", """                    tm_cp_async16((w2_s_buf + (stage ^ 1) * W2_S_COPY) + row * 40 + col, w2 + (size_t)(0 + row) * 384 + e0 + 32 + col);
                }
            }
            if (e0 + 64 == 384) {  // the residual's pixels -> a_s (free since LayerNorm), waited for with the last chunk
                for (int i = tid; i < 768; i += THREADS) {
                    const int p = i / 12, c = (i % 12) * 8;
                    const int gh = h0 + p / 8, gw = w0 + p % 8;
                    if (gh < H && gw < W) tm_cp_async16(a_s + p * 104 + c, x + ((size_t)(n * H + gh) * W + gw) * 96 + c);
                }
            }
""")
    return sub(t, "const float2 x_oc = tm_f32x2(x + ((size_t)(n * H + gh) * W + gw) * 96 + oc);",
               "const float2 x_oc = tm_f32x2(a_s + p * 104 + oc);  // the residual, copied during the last trips")


def ln_pairs(t):
    t = sub(t, """                        {
                            const int oc = cb + j + u;
                            float v_n = (v[j + u] - mean) * rstd * tm_f32(g_g[oc]) + tm_f32(beta[oc]);
                            r[0] = v_n;
                        }
                        {
                            const int oc = cb + j + u + 1;
                            float v_n = (v[j + u + 1] - mean) * rstd * tm_f32(g_g[oc]) + tm_f32(beta[oc]);
                            r[1] = v_n;
                        }""", """                        const int oc = cb + j + u;
                        const float2 gg = tm_f32x2(g_g + oc), bb = tm_f32x2(beta + oc);
                        r[0] = (v[j + u] - mean) * rstd * gg.x + bb.x;
                        r[1] = (v[j + u + 1] - mean) * rstd * gg.y + bb.y;""")
    return t


variants = {"base": [], "bias": [bias], "wd": [wd], "res": [res], "all": [bias, wd, res],
            "allln": [bias, wd, res, ln_pairs]}
for name, edits in variants.items():
    t = base
    for e in edits:
        t = e(t)
    write_program(os.path.join(out_dir, name), "ConvNeXt_fused.cu", t, manifest)
    print(name, len(t))
