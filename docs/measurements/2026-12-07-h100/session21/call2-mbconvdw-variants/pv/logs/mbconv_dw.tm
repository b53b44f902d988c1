// MBConv with a depthwise 3x3 (MobileNetV2 / EfficientNet-B0 without squeeze-excitation).
block MBConvDW {
  param C = 64, E = 4 * C
  in  x  : f16[N, H, W, C]
  w   w1 : f16[E, C]
  w   b1 : f32[E]
  w   wd : f16[E, 3, 3, 1]     // depthwise: one group per channel
  w   bd : f32[E]
  w   w3 : f16[C, E]
  w   b3 : f32[C]
  out y  : f16[N, H, W, C]

  h1 = silu(pointwise(x, w1) + b1)
  h2 = silu(conv2d(h1, wd, groups: E, pad: 1) + bd)
  y  = pointwise(h2, w3) + b3 + x
}

plan fused for MBConvDW on sm_90 {
  tile   N 1, H 7, W 14               // 7x14 divides 28x28 and 56x56: no overhanging tiles
  place  x  in shared
  stream E by 64
  place  h1 in shared halo 1 stage
  place  h2 in shared
  place  y  in registers
  warps  8
  math   tensor_core
}

// 'fused' warp-specialized: warps 0-3 expand chunk j and run the depthwise conv on it (a barrier of their own between
// the two) into one copy of h2, while warps 4-7 project chunk j-1 from the other. Right on the H100 but 0.90x of
// 'fused' (docs/benchmarks.md, thirteenth session).
plan specialized for MBConvDW on sm_90 {
  tile   N 1, H 7, W 14
  place  x  in shared
  stream E by 64
  place  h1 in shared halo 1 stage
  place  h2 in shared
  place  y  in registers
  warps  4 + 4
  math   tensor_core
}

// MBConv's 'rows' geometry (4x28 tiles, 7 warps that each own a row of 16 pixels): h2 stays in registers between
// the depthwise conv, which then runs on tensor cores (a diagonal B per group of 8 channels), and the projection.
// On the H100 at N=128, H=W=28: 0.0838 ms, 1.16x faster than 'fused' (docs/benchmarks.md, twentieth session).
plan rows for MBConvDW on sm_90 {
  tile   N 1, H 4, W 28
  place  h1 in shared halo 1 stage
  place  h2 in registers
  stream E by 64
  warps  7
  math   tensor_core
}

plan layerwise for MBConvDW { separate }
plan best for MBConvDW on sm_90 { auto }


plan e32 for MBConvDW on sm_90 {
  tile   N 1, H 4, W 28
  place  h1 in shared halo 1 stage
  place  h2 in registers
  stream E by 32
  warps  7
  math   tensor_core
}

plan e32r3 for MBConvDW on sm_90 {
  tile   N 1, H 4, W 28
  place  h1 in shared halo 1 stage
  place  h2 in registers
  stream E by 32
  warps  7
  resident 3
  math   tensor_core
}

plan e128 for MBConvDW on sm_90 {
  tile   N 1, H 4, W 28
  place  h1 in shared halo 1 stage
  place  h2 in registers
  stream E by 128
  warps  7
  math   tensor_core
}

plan r8 for MBConvDW on sm_90 {
  tile N 1, H 8, W 28
  place  h1 in shared halo 1 stage
  place  h2 in registers
  stream E by 64
  warps  7
  math   tensor_core
}
