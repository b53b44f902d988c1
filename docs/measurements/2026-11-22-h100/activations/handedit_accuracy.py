"""Errors of the activation forms against float64, over every finite f16 value and 2M points of [-30, 30]."""
import cupy as cp, numpy as np, math
src = r'''
__device__ __forceinline__ float tanh_approx(float x) { float y; asm("tanh.approx.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }
__device__ __forceinline__ float silu_now(float x) { return __fdividef(x, 1.0f + __expf(-x)); }
__device__ __forceinline__ float silu_tanh(float x) { const float h = 0.5f * x; return fmaf(h, tanh_approx(h), h); }
__device__ __forceinline__ float gelu_now(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }
__device__ __forceinline__ float gelu_as(float x) {
    const float z = fabsf(x) * 0.70710678118654752f;
    const float t = __fdividef(1.0f, fmaf(0.3275911f, z, 1.0f));
    float p = fmaf(0.5307027145f, t, -0.7265760135f);
    p = fmaf(p, t, 0.7107068705f); p = fmaf(p, t, -0.142248368f); p = fmaf(p, t, 0.127414796f);
    const float q = p * t * __expf(-z * z);
    return x * (x >= 0.0f ? 1.0f - q : q);
}
extern "C" __global__ void k(const float* x, float* o, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x; if (i >= n) return;
  float v = x[i];
  o[4*i+0] = silu_now(v); o[4*i+1] = silu_tanh(v); o[4*i+2] = gelu_now(v); o[4*i+3] = gelu_as(v);
}'''
mod = cp.RawModule(code=src, options=("--use_fast_math",))
k = mod.get_function("k")
f16 = np.arange(65536, dtype=np.uint16).view(np.float16)
f16 = f16[np.isfinite(f16)].astype(np.float32)
sweep = np.linspace(-30, 30, 2_000_001, dtype=np.float32)
for name, xs in (("all finite f16", f16), ("f32 sweep [-30,30]", sweep)):
    x = cp.asarray(xs); n = x.size; o = cp.empty(4 * n, cp.float32)
    k(((n + 255) // 256,), (256,), (x, o, np.int32(n)))
    o = cp.asnumpy(o).reshape(n, 4).astype(np.float64); xd = xs.astype(np.float64)
    silu = xd / (1 + np.exp(-xd))
    gelu = 0.5 * xd * (1 + np.vectorize(math.erf)(xd / math.sqrt(2)))
    for j, (label, ref) in enumerate((("silu __expf/__fdividef", silu), ("silu tanh.approx", silu),
                                      ("gelu erff", gelu), ("gelu A&S 7.1.26", gelu))):
        err = np.abs(o[:, j] - ref); ok = np.isfinite(ref) & (np.abs(xd) < 60000)
        rel = err / np.maximum(np.abs(ref), 1e-30)
        # in f16 ulps of the exact value (ulp at the value, floor at the smallest normal's ulp)
        ulp16 = np.exp2(np.floor(np.log2(np.maximum(np.abs(ref), 2.0 ** -14))) - 10)
        print(f"{name:20s} {label:24s} max abs {err[ok].max():.3e} (at x={xd[ok][err[ok].argmax()]:.4g})  "
              f"max |err|/|x| {(err[ok] / np.maximum(np.abs(xd[ok]), 1e-30)).max():.3e}  "
              f"max err in f16 ulps {(err[ok] / ulp16[ok]).max():.3f}")
