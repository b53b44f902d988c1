// The twenty-first session's ConvNeXt candidates in the rows geometry (4x28 tiles, 7 warps, E by 48: 2 blocks per
// SM at 128 registers) and 2x28 tiles with 4 warps, beside the sample's 'fused'.
// ConvNeXt block (Liu et al. 2022): depthwise 7x7, LayerNorm over channels, 4x MLP with GELU, layer scale.
block ConvNeXt {
  param C = 96, E = 4 * C
  in  x     : f16[N, H, W, C]
  w   wd    : f16[C, 7, 7, 1]     // depthwise 7x7
  w   bd    : f32[C]
  w   g     : f32[C]              // LayerNorm weight
  w   beta  : f32[C]              // LayerNorm bias
  w   w1    : f16[E, C]
  w   b1    : f32[E]
  w   w2    : f16[C, E]
  w   b2    : f32[C]
  w   gamma : f32[C]              // layer scale
  out y     : f16[N, H, W, C]

  a = conv2d(x, wd, groups: C, pad: 3) + bd
  n = layernorm(a, g, beta, eps: 1e-6)
  h = gelu(pointwise(n, w1) + b1)
  y = gamma * (pointwise(h, w2) + b2) + x
}


plan fused for ConvNeXt on sm_90 {
  tile   N 1, H 8, W 8
  place  x in shared halo 3       // 14x14 input patch
  place  a in shared
  place  n in shared              // LayerNorm runs inside the tile
  stream E by 32                  // small enough to double-buffer at 2 blocks per SM (1.17x faster than by 64)
  place  h in registers           // each warp keeps its pixels' chunk for the projection
  place  y in registers
  warps  4
  math   tensor_core
}

plan r7e48 for ConvNeXt on sm_90 {
  tile N 1, H 4, W 28
  place  x in shared halo 3       // 14x14 input patch
  place  a in shared
  place  n in shared              // LayerNorm runs inside the tile
  stream E by 48
  place  h in registers           // each warp keeps its pixels' chunk for the projection
  place  y in registers
  warps 7
  math   tensor_core
}

plan r2x28w4 for ConvNeXt on sm_90 {
  tile N 1, H 2, W 28
  place  x in shared halo 3       // 14x14 input patch
  place  a in shared
  place  n in shared              // LayerNorm runs inside the tile
  stream E by 32                  // small enough to double-buffer at 2 blocks per SM (1.17x faster than by 64)
  place  h in registers           // each warp keeps its pixels' chunk for the projection
  place  y in registers
  warps 4
  math   tensor_core
}
