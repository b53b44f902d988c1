"""Session 5 experiment: activation functions with fewer instructions, as hand-edited preludes of emitted kernels.
   python3 make_variants.py SRC_CONFIG_DIR PLAN OUT_DIR  -> OUT_DIR/{base,silu_tanh,gelu_as}/ (one manifest each)"""
import os, re, shutil, sys
src, plan, out = sys.argv[1:4]
cu = next(f for f in os.listdir(src) if f.endswith(f"_{plan}.cu"))
js = cu[:-3] + ".json"
text = open(os.path.join(src, cu)).read()
TANH = ('__device__ __forceinline__ float tm_tanh_approx(float x) { float y; asm("tanh.approx.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }\n')
SILU_TANH = TANH + ('__device__ __forceinline__ float tm_silu(float x) { const float h = 0.5f * x; return fmaf(h, tm_tanh_approx(h), h); }')
GELU_AS = r'''__device__ __forceinline__ float tm_gelu(float x) {
    // Phi(x) from erfc(|x| / sqrt 2), Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), halved coefficients
    const float z = fabsf(x) * 0.70710678118654752f;
    const float t = __fdividef(1.0f, fmaf(0.3275911f, z, 1.0f));
    float p = fmaf(0.5307027145f, t, -0.7265760135f);
    p = fmaf(p, t, 0.7107068705f);
    p = fmaf(p, t, -0.142248368f);
    p = fmaf(p, t, 0.127414796f);
    const float q = p * t * __expf(-z * z);   // 0.5 erfc(z)
    return x * (x >= 0.0f ? 1.0f - q : q);
}'''
variants = {"base": text}
silu_line = re.search(r"^__device__ __forceinline__ float tm_silu\(float x\).*$", text, re.M).group(0)
variants["silu_tanh"] = text.replace(silu_line, SILU_TANH)
gelu_line = re.search(r"^__device__ __forceinline__ float tm_gelu\(float x\).*$", text, re.M).group(0)
variants["gelu_as"] = text.replace(gelu_line, GELU_AS)
variants["both"] = variants["silu_tanh"].replace(gelu_line, GELU_AS)
for name, t in variants.items():
    d = os.path.join(out, name); os.makedirs(d, exist_ok=True)
    open(os.path.join(d, cu), "w").write(t)
    shutil.copy(os.path.join(src, js), d)
