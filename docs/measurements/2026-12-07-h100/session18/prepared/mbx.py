"""Writes .carry/mbx/{base,bx4,abx4}: MBConv 'rows' at N=128, H=W=28 as emitted, and hand edits of its grouped conv's
fragment loads (eighteenth session, docs/benchmarks.md "A grouped conv's B fragments by ldmatrix x4"):
  bx4:  a group's 9 taps' B matrices by two ldmatrix x4 (taps 0-3, 4-7) and one x1 (tap 8), instead of 9 x1;
  abx4: that, and the A rows of two groups at a tap by one ldmatrix x4 instead of two x2.
    bin/tmc emit samples/mbconv.tm --arch sm_90 --shape N=128,H=28,W=28 --plan rows -o /tmp/mbx/e
    python3 docs/measurements/2026-12-07-h100/session18/prepared/mbx.py /tmp/mbx/e .carry/mbx
"""
import os
import shutil
import sys

emitted, out = sys.argv[1], sys.argv[2]
src = open(os.path.join(emitted, "MBConv_rows.cu")).read()
old = '''                    #pragma unroll
                    for (int nj = 0; nj < 4; ++nj) {
                        const __half* brow = wd_s + (sl + nj * 8 + (lane & 7)) * 72;
                        #pragma unroll
                        for (int ky = 0; ky < 3; ++ky) {
                            #pragma unroll
                            for (int kx = 0; kx < 3; ++kx) {
                                unsigned a[2];
                                tm_ldsm_x2(a, arow + (ky * H1_S_W + kx) * H1_S_STRIDE + sl + nj * 8);
                                tm_mma_k8(d[nj], arow, a[0], a[1], tm_ldsm_x1(brow + (ky * 3 + kx) * 8));
                            }
                        }
                    }'''
bx4 = '''                    #pragma unroll
                    for (int nj = 0; nj < 4; ++nj) {
                        // the group's 9 taps' B matrices: taps 0-3 and 4-7 by ldmatrix x4 (lanes 8m-8m+7 give tap m's rows), tap 8 by x1
                        const __half* brow = wd_s + (sl + nj * 8 + (lane & 7)) * 72;
                        unsigned bq0[4], bq1[4];
                        tm_ldsm_x4(bq0, brow + (lane >> 3) * 8);
                        tm_ldsm_x4(bq1, brow + 32 + (lane >> 3) * 8);
                        const unsigned b8 = tm_ldsm_x1(brow + 64);
                        #pragma unroll
                        for (int ky = 0; ky < 3; ++ky) {
                            #pragma unroll
                            for (int kx = 0; kx < 3; ++kx) {
                                const int t = ky * 3 + kx;
                                unsigned a[2];
                                tm_ldsm_x2(a, arow + (ky * H1_S_W + kx) * H1_S_STRIDE + sl + nj * 8);
                                tm_mma_k8(d[nj], arow, a[0], a[1], t < 4 ? bq0[t & 3] : t < 8 ? bq1[t & 3] : b8);
                            }
                        }
                    }'''
abx4 = '''                    #pragma unroll
                    for (int nq = 0; nq < 4; nq += 2) {
                        // groups nq and nq + 1: their 9 taps' B matrices by ldmatrix x4 (taps 0-3, 4-7) and x1 (tap 8);
                        // A of both groups at a tap by one ldmatrix x4 (lanes 16-31 give the rows 8 channels further)
                        unsigned bq[2][2][4], b8[2];
                        #pragma unroll
                        for (int g = 0; g < 2; ++g) {
                            const __half* brow = wd_s + (sl + (nq + g) * 8 + (lane & 7)) * 72;
                            tm_ldsm_x4(bq[g][0], brow + (lane >> 3) * 8);
                            tm_ldsm_x4(bq[g][1], brow + 32 + (lane >> 3) * 8);
                            b8[g] = tm_ldsm_x1(brow + 64);
                        }
                        #pragma unroll
                        for (int ky = 0; ky < 3; ++ky) {
                            #pragma unroll
                            for (int kx = 0; kx < 3; ++kx) {
                                const int t = ky * 3 + kx;
                                unsigned a[4];
                                tm_ldsm_x4(a, arow + (ky * H1_S_W + kx) * H1_S_STRIDE + sl + nq * 8 + (lane >> 4) * 8);
                                #pragma unroll
                                for (int g = 0; g < 2; ++g)
                                    tm_mma_k8(d[nq + g], arow, a[2 * g], a[2 * g + 1], t < 4 ? bq[g][0][t & 3] : t < 8 ? bq[g][1][t & 3] : b8[g]);
                            }
                        }
                    }'''
assert old in src, "the emitted grouped conv changed: update this script"
for name, text in (("base", src), ("bx4", src.replace(old, bx4)), ("abx4", src.replace(old, abx4))):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "MBConv_rows.cu"), "w").write(text)
    shutil.copy(os.path.join(emitted, "MBConv_rows.json"), d)
