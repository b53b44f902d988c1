"""MBConv's and MBConvDW's `rows` with the expand phase dealt evenly (twenty-second session, hand-edited; for the
next session's GPU): the staged expand computes 12 blocks of 32 pixels x 32 channels per chunk on 7 warps, dealt 2
to 5 warps and 1 to 2, so 5 warps work 2 blocks while 2 wait at the barrier (MBConv `rows`: barrier 20.7 % of its
warp samples, the expand phase 42.9 %). Here every warp takes one whole block (7 of them), then the other 5 blocks
go as 20 quarters of 16 pixels x 16 channels, 3 to 6 warps and 2 to one: the busiest warp has 1.75 blocks of work
instead of 2. A quarter reloads A and B per 2 mma (a whole block: 4 loads per 8 mma), so the shared-memory queue may
eat the gain.

    python3 expand_quarters_hand.py SRC.cu SRC.json OUT_DIR   # writes OUT_DIR/{base,quarters}/
"""
import os, re, sys

from hand_variant import read_program, write_program

cu, js, out = sys.argv[1], sys.argv[2], sys.argv[3]
base, manifest = read_program(cu, js)
head = "            // 12 blocks of 32 pixels x 32 channels, dealt 2 to 5 warps, 1 to 2\n"
start = base.index(head)
end = base.index("        __syncthreads();\n        // L2 conv2d", start)
block = base[start:end]
loop = "            #pragma unroll 1\n            for (int grp = warp; grp < 12; grp += THREADS / 32, inside_rows >>= 4) {\n"
assert block.count(loop) == 1
activation = re.search(r"tm_(silu|relu|gelu|hardswish)\(v_t2\[0\]\)", block).group(1)
# the whole block: once, grp = warp (its inside rows are bits 0-3, the first block's)
full = block.replace(loop, "            {\n                const int grp = warp;\n")
quarters = f"""            // the other 5 blocks as 20 quarters of 16 pixels x 16 channels: 3 to 6 warps, 2 to one
            #pragma unroll 1
            for (int q = warp; q < 20; q += THREADS / 32) {{
                const int grp = 7 + q / 4, mb = grp / 2, nb = grp % 2, mi = (q / 2) % 2, nh = q % 2;
                float d[2][4];
                #pragma unroll
                for (int ni = 0; ni < 2; ++ni) {{
                    const float2 b = tm_f32x2(b1 + e0 + nb * 32 + nh * 16 + ni * 8 + 2 * lane_col);
                    d[ni][0] = b.x; d[ni][1] = b.y; d[ni][2] = b.x; d[ni][3] = b.y;
                }}
                const int pa = min((mb * 2 + mi) * 16 + (lane & 15), 179);
                const __half* const arow = x_s + ((pa / 30 + 0) * X_S_W + pa % 30 + 0) * X_S_STRIDE + (lane >> 4) * 8;
                const __half* const brow = w1_s + (nb * 32 + nh * 16 + ((lane >> 4) & 1) * 8 + (lane & 7)) * 72 + ((lane >> 3) & 1) * 8;
                #pragma unroll
                for (int k0 = 0; k0 < 64; k0 += 16) {{
                    unsigned a[4], b[4];
                    tm_ldsm_x4(a, arow + k0);
                    tm_ldsm_x4(b, brow + k0);
                    tm_mma(d[0], arow, a[0], a[1], a[2], a[3], b[0], b[1]);
                    tm_mma(d[1], arow, a[0], a[1], a[2], a[3], b[2], b[3]);
                }}
                #pragma unroll
                for (int rh = 0; rh < 2; ++rh) {{
                    const int p = (mb * 2 + mi) * 16 + lane_row + rh * 8;
                    if (p >= 180) continue;
                    const int gh = h0 - 1 + p / 30, gw = w0 - 1 + p % 30;
                    const bool inside = gh >= 0 && gh < H && gw >= 0 && gw < W;
                    #pragma unroll
                    for (int ni = 0; ni < 2; ++ni) {{
                        const int c0 = nb * 32 + nh * 16 + ni * 8 + 2 * lane_col;
                        float v[2] = {{0.0f, 0.0f}};
                        if (inside) {{ v[0] = tm_{activation}(d[ni][rh * 2 + 0]); v[1] = tm_{activation}(d[ni][rh * 2 + 1]); }}
                        *reinterpret_cast<__half2*>(&h1_s[p * H1_S_STRIDE + c0]) = __floats2half2_rn(v[0], v[1]);
                    }}
                }}
            }}
"""
# the full block's body ends with the loop's closing brace, then the phase's closing brace
close = "            }\n        }\n"
assert full.endswith(close), full[-200:]
edited = base[:start] + full[:-len("        }\n")] + quarters + "        }\n" + base[end:]
for name, text in (("base", base), ("quarters", edited)):
    write_program(os.path.join(out, name), os.path.basename(cu), text, manifest)
