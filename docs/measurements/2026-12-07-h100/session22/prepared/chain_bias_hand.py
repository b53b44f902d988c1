"""The register chain's expansion bias loaded before the stream loop's barrier (twenty-second session), for a
kernel whose chain takes 32-channel slices of a chunk of E (ConvFirst's `rows`): b1's values for the chunk's slices
are loaded above `tm_cp_async_wait`/`__syncthreads()` so that their latency passes during the barrier, where the
emitted kernel loads each slice's b1 after it and the first mma waits for it.

    python3 chain_bias_hand.py SRC.cu SRC.json SLICES OUT_DIR   # writes OUT_DIR/{base,bias}/
"""
import os, sys

from hand_variant import read_program, write_program

cu, js, slices, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
base, manifest = read_program(cu, js)
wait = """        tm_cp_async_wait<0>();  // chunk e0 has landed (its copies were the only ones in flight)
        __syncthreads();"""
load = "const float2 b = tm_f32x2(b1 + e0 + sl + nj * 8 + 2 * lane_col);"
assert base.count(wait) == 1 and base.count(load) == 1
bias = base.replace(wait, f"""        float2 b1_pre[{slices}][4];  // this chunk's b1, loaded before the barrier so that its latency passes during it
        #pragma unroll
        for (int s = 0; s < {slices}; ++s)
            #pragma unroll
            for (int nj = 0; nj < 4; ++nj) b1_pre[s][nj] = tm_f32x2(b1 + e0 + s * 32 + nj * 8 + 2 * lane_col);
""" + wait).replace(load, "const float2 b = b1_pre[sl / 32][nj];")
for name, text in (("base", base), ("bias", bias)):
    write_program(os.path.join(out, name), os.path.basename(cu), text, manifest)
