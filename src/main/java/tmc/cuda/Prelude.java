package tmc.cuda;

/** Device helpers shared by every emitted kernel: conversions, rounding, activation functions. */
final class Prelude {
    private Prelude() {}

    /**
     * tm_gelu(x) = x Phi(x) = x/2 + x/2 tanh(x P(min(x^2, GELU_U_MAX))): P of degree 5 in x^2, GELU_P[k] the coefficient
     * of x^(2k), fitted (scripts/bench/gelu_fit.py, weighted least squares towards the largest error) to
     * atanh(erf(x / sqrt 2)) on [0, 5]; past |x| = 5 the argument grows linearly and tanh saturates (Phi(-5) = 2.9e-7).
     * With an exact tanh the error is 2.8e-7 * max(1, |x|); tanh.approx adds at most |x|/2 times its absolute error
     * (below 7.6e-6 measured on the H100), so 4.1e-6 in the worst case and 3.8e-6 measured, within 2^-17 = 7.6e-6.
     * Tested in f32 over every f16 value (PreludeGeluTest) and measured on the GPU (activation_accuracy.py).
     */
    static final float GELU_U_MAX = 25.0f;
    static final float[] GELU_P = {0.7978799939155579f, 0.03634870424866676f, -4.704583261627704e-05f,
            -4.990292654838413e-05f, 3.058509719267022e-06f, -6.521255357938571e-08f};

    /** A float literal of CUDA C that reads back as exactly {@code v}. */
    private static String f32(float v) {
        return Float.toString(v) + "f";
    }

    static void write(CodeWriter w) {
        w.line("#include <cuda_fp16.h>");
        w.line("#include <cuda_bf16.h>");
        w.line();
        w.line("#ifndef TMC_PRELUDE");
        w.line("#define TMC_PRELUDE");
        w.comment("Loads in f32 from any storage type.");
        w.line("__device__ __forceinline__ float tm_f32(__half v) { return __half2float(v); }");
        w.line("__device__ __forceinline__ float tm_f32(__nv_bfloat16 v) { return __bfloat162float(v); }");
        w.line("__device__ __forceinline__ float tm_f32(float v) { return v; }");
        w.line();
        w.comment("Stores from f32, rounding to nearest even.");
        w.line("template <typename T> __device__ __forceinline__ T tm_from_f32(float v);");
        w.line("template <> __device__ __forceinline__ __half tm_from_f32<__half>(float v) { return __float2half_rn(v); }");
        w.line("template <> __device__ __forceinline__ __nv_bfloat16 tm_from_f32<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }");
        w.line("template <> __device__ __forceinline__ float tm_from_f32<float>(float v) { return v; }");
        w.line();
        w.comment("Rounds an f32 value to the precision of a storage type, keeping it in f32.");
        w.line("__device__ __forceinline__ float tm_round_f16(float v) { return __half2float(__float2half_rn(v)); }");
        w.line("__device__ __forceinline__ float tm_round_bf16(float v) { return __bfloat162float(__float2bfloat16_rn(v)); }");
        w.line();
        w.comment("Activation functions, in f32, matching PyTorch's definitions, each within 2^-17 * max(1, |x|) of the exact\n"
                + "value (docs/semantics.md): far below the f16/bf16 rounding of a named value. silu uses the hardware tanh\n"
                + "(MUFU.TANH, relative error about 1.1e-5): one multi-function op where exp and a reciprocal took two, the\n"
                + "pipe and the issue slots that SiLU epilogues run short of. gelu is the same tanh of an odd polynomial\n"
                + "fitted to atanh(erf(x / sqrt 2)): one multi-function op and about 10 others (the Abramowitz & Stegun\n"
                + "erfc it replaces took two and about 15; ConvNeXt 1.03x faster on the H100). sigmoid keeps __expf and\n"
                + "__fdividef (a few f32 ulp); tanh is the accurate library function.");
        w.line("__device__ __forceinline__ float tm_tanh_approx(float x) {");
        w.line("#if __CUDA_ARCH__ >= 750");
        w.line("    float y;");
        w.line("    asm(\"tanh.approx.f32 %0, %1;\" : \"=f\"(y) : \"f\"(x));");
        w.line("    return y;");
        w.line("#else  // no MUFU.TANH before sm_75 (a target file may name an older GPU)");
        w.line("    return tanhf(x);");
        w.line("#endif");
        w.line("}");
        w.line("__device__ __forceinline__ float tm_relu(float x) { return fmaxf(x, 0.0f); }");
        w.line("__device__ __forceinline__ float tm_sigmoid(float x) { return __fdividef(1.0f, 1.0f + __expf(-x)); }");
        w.line("// x * sigmoid(x) = x/2 + x/2 * tanh(x/2)");
        w.line("__device__ __forceinline__ float tm_silu(float x) { const float h = 0.5f * x; return fmaf(h, tm_tanh_approx(h), h); }");
        w.line("__device__ __forceinline__ float tm_gelu(float x) {");
        w.line("    const float u = fminf(x * x, " + f32(GELU_U_MAX) + ");");
        w.line("    float p = " + f32(GELU_P[GELU_P.length - 1]) + ";");
        for (int i = GELU_P.length - 2; i >= 0; i--) w.line("    p = fmaf(p, u, " + f32(GELU_P[i]) + ");");
        w.line("    const float h = 0.5f * x;");
        w.line("    return fmaf(h, tm_tanh_approx(x * p), h);  // x/2 + x/2 * tanh(x * p) = x * Phi(x)");
        w.line("}");
        w.line("__device__ __forceinline__ float tm_gelu_tanh(float x) {");
        w.line("    return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));");
        w.line("}");
        w.line("__device__ __forceinline__ float tm_hardswish(float x) { return x * fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f; }");
        w.line();
        w.comment("Sum over the 32 lanes of a warp.");
        w.line("__device__ __forceinline__ float tm_warp_sum(float v) {");
        w.line("    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);");
        w.line("    return v;");
        w.line("}");
        w.comment("Tensor cores: D = A * B + D for one m16n8k16 tile, f32 accumulators (PTX ISA, mma.sync).\n"
                + "A: 16x16 row-major, 4 registers of 2 packed values; B: 16x8 column-major (rows of an [N][K]\n"
                + "weight), 2 registers; D: 4 floats, rows g and g + 8, columns 2t and 2t + 1 (g = lane / 4, t = lane % 4).");
        w.line("__device__ __forceinline__ void tm_mma(float (&d)[4], const __half*, unsigned a0, unsigned a1, unsigned a2,");
        w.line("                                       unsigned a3, unsigned b0, unsigned b1) {");
        w.line("    asm volatile(\"mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\\n\"");
        w.line("                 : \"+f\"(d[0]), \"+f\"(d[1]), \"+f\"(d[2]), \"+f\"(d[3])");
        w.line("                 : \"r\"(a0), \"r\"(a1), \"r\"(a2), \"r\"(a3), \"r\"(b0), \"r\"(b1));");
        w.line("}");
        w.line("__device__ __forceinline__ void tm_mma(float (&d)[4], const __nv_bfloat16*, unsigned a0, unsigned a1,");
        w.line("                                       unsigned a2, unsigned a3, unsigned b0, unsigned b1) {");
        w.line("    asm volatile(\"mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\\n\"");
        w.line("                 : \"+f\"(d[0]), \"+f\"(d[1]), \"+f\"(d[2]), \"+f\"(d[3])");
        w.line("                 : \"r\"(a0), \"r\"(a1), \"r\"(a2), \"r\"(a3), \"r\"(b0), \"r\"(b1));");
        w.line("}");
        w.comment("m16n8k8: the same with K = 8 (A: 2 registers, B: 1), one tap of a group-width-8 conv.");
        w.line("__device__ __forceinline__ void tm_mma_k8(float (&d)[4], const __half*, unsigned a0, unsigned a1, unsigned b0) {");
        w.line("    asm volatile(\"mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\\n\"");
        w.line("                 : \"+f\"(d[0]), \"+f\"(d[1]), \"+f\"(d[2]), \"+f\"(d[3]) : \"r\"(a0), \"r\"(a1), \"r\"(b0));");
        w.line("}");
        w.line("__device__ __forceinline__ void tm_mma_k8(float (&d)[4], const __nv_bfloat16*, unsigned a0, unsigned a1, unsigned b0) {");
        w.line("    asm volatile(\"mma.sync.aligned.m16n8k8.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\\n\"");
        w.line("                 : \"+f\"(d[0]), \"+f\"(d[1]), \"+f\"(d[2]), \"+f\"(d[3]) : \"r\"(a0), \"r\"(a1), \"r\"(b0));");
        w.line("}");
        w.comment("ldmatrix: each of the 8 (x1), 16 (x2) or 32 (x4) lanes gives the shared address of one 16-byte row;\n"
                + "every lane receives the 8x8 matrices in mma fragment order.");
        w.line("__device__ __forceinline__ void tm_ldsm_x4(unsigned (&r)[4], const void* row) {");
        w.line("    const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(row));");
        w.line("    asm volatile(\"ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\\n\"");
        w.line("                 : \"=r\"(r[0]), \"=r\"(r[1]), \"=r\"(r[2]), \"=r\"(r[3]) : \"r\"(a));");
        w.line("}");
        w.line("__device__ __forceinline__ void tm_ldsm_x2(unsigned (&r)[2], const void* row) {");
        w.line("    const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(row));");
        w.line("    asm volatile(\"ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\\n\" : \"=r\"(r[0]), \"=r\"(r[1]) : \"r\"(a));");
        w.line("}");
        w.line("__device__ __forceinline__ unsigned tm_ldsm_x1(const void* row) {");
        w.line("    const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(row));");
        w.line("    unsigned r;");
        w.line("    asm volatile(\"ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\\n\" : \"=r\"(r) : \"r\"(a));");
        w.line("    return r;");
        w.line("}");
        w.comment("Two adjacent values (at an even index: 4-byte aligned, 8 for f32) converted to f32, in one load.");
        w.line("__device__ __forceinline__ float2 tm_f32x2(const float* p) { return *reinterpret_cast<const float2*>(p); }");
        w.line("__device__ __forceinline__ float2 tm_f32x2(const __half* p) { return __half22float2(*reinterpret_cast<const __half2*>(p)); }");
        w.line("__device__ __forceinline__ float2 tm_f32x2(const __nv_bfloat16* p) {");
        w.line("    return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(p));");
        w.line("}");
        w.comment("Two adjacent 16-bit values as one 32-bit register (the address is 4-byte aligned).");
        w.line("template <typename T> __device__ __forceinline__ unsigned tm_ld2(const T* p) {");
        w.line("    return *reinterpret_cast<const unsigned*>(p);");
        w.line("}");
        w.comment("Two f32 values rounded to a 16-bit type and packed into one register, the first in the low half:\n"
                + "the layout of an mma A fragment register (the pointer only selects the type).");
        w.line("__device__ __forceinline__ unsigned tm_pack2(const __half*, float lo, float hi) {");
        w.line("    const __half2 v = __floats2half2_rn(lo, hi);");
        w.line("    return *reinterpret_cast<const unsigned*>(&v);");
        w.line("}");
        w.line("__device__ __forceinline__ unsigned tm_pack2(const __nv_bfloat16*, float lo, float hi) {");
        w.line("    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);");
        w.line("    return *reinterpret_cast<const unsigned*>(&v);");
        w.line("}");
        w.comment("cp.async (sm_80 and later): copies 16 bytes from global to shared memory without passing through\n"
                + "registers (.cg: cached in L2, not L1). The copy is complete for this thread after tm_cp_async_wait\n"
                + "lets its group go, and visible to the other threads after the __syncthreads() that follows.");
        w.line("__device__ __forceinline__ void tm_cp_async16(void* smem, const void* gmem) {");
        w.line("    const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));");
        w.line("    asm volatile(\"cp.async.cg.shared.global [%0], [%1], 16;\\n\" :: \"r\"(s), \"l\"(__cvta_generic_to_global(gmem)) : \"memory\");");
        w.line("}");
        w.comment("Closes this thread's group of the cp.async copies issued since the last commit (it may be empty).");
        w.line("__device__ __forceinline__ void tm_cp_async_commit() { asm volatile(\"cp.async.commit_group;\\n\" ::: \"memory\"); }");
        w.comment("Waits until at most PENDING of this thread's committed groups are still in flight.");
        w.line("template <int PENDING> __device__ __forceinline__ void tm_cp_async_wait() {");
        w.line("    asm volatile(\"cp.async.wait_group %0;\\n\" :: \"n\"(PENDING) : \"memory\");");
        w.line("}");
        w.line("#endif");
        w.line();
    }

    /**
     * The wgmma helpers (sm_90a) of the widths {@code widths} (N of m64nNk16), after {@link #write}. Each width has its
     * own function because the accumulator registers are listed one by one in the instruction.
     */
    static void writeWgmma(CodeWriter w, java.util.SortedSet<Integer> widths) {
        w.line("#ifndef TMC_WGMMA_PRELUDE");
        w.line("#define TMC_WGMMA_PRELUDE");
        w.line("#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)");
        w.line("#error \"this kernel uses wgmma: compile it for sm_90a (the manifest's arch)\"");
        w.line("#endif");
        w.comment("wgmma (sm_90a): the 4 warps of a warpgroup (warps 4k .. 4k+3) multiply a 64-row A by a K16 x N slice of B\n"
                + "together, asynchronously. A comes from registers, each warp's 16 rows in the mma.sync A fragment layout; B is\n"
                + "read from shared memory through a descriptor; the accumulators are each warp's 16 rows in the m16n8 C layout,\n"
                + "N / 8 tiles of 4 floats. Issue order: tm_wgmma_fence() after the registers were written, the products,\n"
                + "tm_wgmma_commit(), then tm_wgmma_wait<0>() before the registers are read or written again.");
        w.line("__device__ __forceinline__ void tm_wgmma_fence() { asm volatile(\"wgmma.fence.sync.aligned;\\n\" ::: \"memory\"); }");
        w.line("__device__ __forceinline__ void tm_wgmma_commit() { asm volatile(\"wgmma.commit_group.sync.aligned;\\n\" ::: \"memory\"); }");
        w.line("template <int PENDING> __device__ __forceinline__ void tm_wgmma_wait() {");
        w.line("    asm volatile(\"wgmma.wait_group.sync.aligned %0;\\n\" :: \"n\"(PENDING) : \"memory\");");
        w.line("}");
        w.comment("Shared memory written by ordinary stores or cp.async is seen by wgmma (the async proxy) only after this\n"
                + "fence and the barrier that follows it.");
        w.line("__device__ __forceinline__ void tm_fence_proxy_async() { asm volatile(\"fence.proxy.async.shared::cta;\\n\" ::: \"memory\"); }");
        w.comment("The descriptor of a B operand in shared memory, without swizzling (Buffer.Layout.CORE_MATRICES): 8x8 core\n"
                + "matrices of 128 contiguous bytes; k_stride bytes from one core matrix to the next along K, n_stride along N.\n"
                + "Start address, k_stride and n_stride are stored in units of 16 bytes (bits 0-13, 16-29 and 32-45).");
        w.line("__device__ __forceinline__ unsigned long long tm_wgmma_desc(const void* smem, unsigned k_stride, unsigned n_stride) {");
        w.line("    const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(smem));");
        w.line("    return (unsigned long long)((a & 0x3FFFF) >> 4) | (unsigned long long)(k_stride >> 4) << 16");
        w.line("           | (unsigned long long)(n_stride >> 4) << 32;");
        w.line("}");
        w.line("#endif");
        for (int n : widths) {
            w.line("#ifndef TMC_WGMMA_N" + n);
            w.line("#define TMC_WGMMA_N" + n);
            w.comment("d[" + n / 8 + "][4] = A (this warp's 16 rows x 16, 4 registers) * B (16 x " + n + ", descriptor) + (accumulate ? d : 0)");
            for (String[] t : new String[][] {{"__half", "f16"}, {"__nv_bfloat16", "bf16"}}) {
                int regs = n / 2;
                StringBuilder outs = new StringBuilder();
                StringBuilder list = new StringBuilder();
                for (int r = 0; r < regs; r++) {
                    if (r > 0) {
                        outs.append(", ");
                        list.append(",");
                    }
                    if (r > 0 && r % 8 == 0) outs.append("\n          ");
                    outs.append("\"+f\"(d[").append(r / 4).append("][").append(r % 4).append("])");
                    list.append("%").append(r);
                }
                w.line("__device__ __forceinline__ void tm_wgmma_n" + n + "(float (&d)[" + n / 8 + "][4], const " + t[0]
                        + "*, unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned long long desc, int accumulate) {");
                w.line("    asm volatile(\"{\\n.reg .pred p;\\nsetp.ne.b32 p, %" + (regs + 5) + ", 0;\\n\"");
                w.line("        \"wgmma.mma_async.sync.aligned.m64n" + n + "k16.f32." + t[1] + "." + t[1] + " {" + list + "}, \"");
                w.line("        \"{%" + regs + ",%" + (regs + 1) + ",%" + (regs + 2) + ",%" + (regs + 3) + "}, %" + (regs + 4)
                        + ", p, 1, 1, 0;\\n}\\n\"");
                w.line("        : " + outs);
                w.line("        : \"r\"(a0), \"r\"(a1), \"r\"(a2), \"r\"(a3), \"l\"(desc), \"r\"(accumulate));");
                w.line("}");
            }
            w.line("#endif");
        }
        w.line();
    }
}
