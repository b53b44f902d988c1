// MBConv block without squeeze-excitation (EfficientNet / MobileNetV2 style), grouped 3x3 of group width 8.
// The spatial conv runs on the expanded tensor h1, so a fused tile needs h1 on a halo ring: the plan
// below stages it (computes the expand over tile + halo, one chunk of E channels at a time).
block MBConv {
  param C = 64, E = 4 * C, GW = 8
  in  x  : f16[N, H, W, C]
  w   w1 : f16[E, C]           // expand 1x1
  w   b1 : f32[E]
  w   wd : f16[E, 3, 3, GW]    // grouped 3x3 on the wide tensor, E / GW groups
  w   bd : f32[E]
  w   w3 : f16[C, E]           // project 1x1
  w   b3 : f32[C]
  out y  : f16[N, H, W, C]

  h1 = silu(pointwise(x, w1) + b1)
  h2 = silu(conv2d(h1, wd, groups: E / GW, pad: 1) + bd)
  y  = pointwise(h2, w3) + b3 + x
}

plan fused for MBConv on sm_90 {
  tile   N 1, H 8, W 8
  place  x  in shared             // 10x10 patch: the expand runs on tile + halo
  stream E by 32                  // groups never straddle a chunk (32 is a multiple of GW)
  place  h1 in shared halo 1 stage
  place  h2 in registers          // each warp keeps its pixels' chunk for the projection
  place  y  in registers
  warps  4
  math   tensor_core
}

// The other halo strategy: keep no staged h1; recompute the expand for every tap of the 3x3.
plan recompute for MBConv on sm_90 {
  tile   N 1, H 8, W 8
  stream E by 32
  place  h1 in registers halo 1 recompute
  warps  4
}

// Rows of 28 pixels, 7 warps: on the H100 1.05x faster than 'best' at N=128, H=W=28 (docs/benchmarks.md, grid2).
plan rows for MBConv on sm_90 {
  tile   N 1, H 4, W 28
  place  h1 in shared halo 1 stage
  stream E by 64
  warps  7
  math   tensor_core
}

// 4x14 tiles with 4 warps: on the H100 1.03x faster than 'best' at C=128, N=128, H=W=14 (docs/benchmarks.md, grid2).
plan narrow for MBConv on sm_90 {
  tile   N 1, H 4, W 14
  place  h1 in shared halo 1 stage
  stream E by 64
  warps  4
  math   tensor_core
}

// 'narrow' warp-specialized: warps 0-3 expand chunk j into one copy of h1 while warps 4-7 convolve and project chunk
// j-1 from the other, one block barrier per chunk. By hand on an H200 this was 1.08x faster than 'narrow' at C=128
// (docs/benchmarks.md, eleventh session); this emitted form is not yet run on a GPU.
plan specialized for MBConv on sm_90 {
  tile   N 1, H 4, W 14
  place  h1 in shared halo 1 stage
  stream E by 64
  warps  4 + 4                    // 4 producer warps + 4 consumer warps
  math   tensor_core
}

// 'fused' with the projection on wgmma (sm_90a); the expand and the grouped conv stay on mma.sync.
plan wgmma for MBConv on sm_90 {
  tile   N 1, H 8, W 8
  stream E by 32
  place  h1 in shared halo 1 stage
  place  h2 in registers
  warps  4
  math   wgmma
}

plan layerwise for MBConv { separate }
plan best for MBConv on sm_90 { auto }

// tmc tune --specialize's winner at N=128, H=W=14, C=128 on the H100 (2026-12-07)
plan tuned for MBConv on sm_90 {
  tile   N 1, H 7, W 8
  place  h1 in shared halo 1 stage
  stream E by 64
  warps  4 + 4
  math   tensor_core
}
