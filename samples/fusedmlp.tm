// FusedMLP: the expand-activate-project pair on its own, a building block of all the others.
block FusedMLP {
  param C = 64, E = 4 * C
  in  x  : f16[N, H, W, C]
  w   w1 : f16[E, C]
  w   b1 : f32[E]
  w   w2 : f16[C, E]
  w   b2 : f32[C]
  out y  : f16[N, H, W, C]

  h = gelu_tanh(pointwise(x, w1) + b1)
  y = pointwise(h, w2) + b2
}

plan fused for FusedMLP on sm_90 {
  tile   N 1, H 8, W 16
  place  x in shared
  stream E by 64
  place  h in registers       // each warp keeps its pixels' chunk and feeds it to the projection
  place  y in registers
  warps  8
  math   tensor_core
}

// 'fused' with both products on wgmma (sm_90a): each warpgroup of 4 warps multiplies its 64 pixels by a slice
// of w1, then by w2, reading both from shared memory.
plan wgmma for FusedMLP on sm_90 {
  tile   N 1, H 8, W 16
  stream E by 64
  place  h in registers
  warps  8
  math   wgmma
}

plan layerwise for FusedMLP { separate }
plan best for FusedMLP on sm_90 { auto }

// Four images per thread block, one after another: the weights are staged once per block instead of once per
// tile ('stream E by E': one chunk, so nothing is restaged). 14 warps own a 14x16 tile's rows.
// The next image's tile is copied while the current one is computed. On the H100 this layout measured slower than
// 'fused': one block of 14 warps per SM hides less latency than two of 8 (docs/benchmarks.md).
plan images for FusedMLP on sm_90 {
  tile   N 4, H 14, W 16
  place  h in registers
  stream E by E                 // one chunk: the whole hidden width
  warps  14
  math   tensor_core
}
