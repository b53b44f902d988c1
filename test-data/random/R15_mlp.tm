// random block 15: mlp, C=96, E=576, k=1, group width 8, bf16
block R15_mlp {
  param C = 96, E = 6 * C
  in  x : bf16[N, H, W, C]
  w w1 : bf16[E, C]
  w b1 : f32[E]
  w w2 : bf16[C, E]
  w b2 : f32[C]
  out y : bf16[N, H, W, C]
  h = silu(pointwise(x, w1) + b1)
  y = 0.5 * pointwise(h, w2) - b2 + x * 2
}

plan fused for R15_mlp on sm_90 {
  tile N 1, H 6, W 12
  stream E by 32
  warps 4
}
plan layerwise for R15_mlp { separate }
plan best for R15_mlp on sm_90 { auto }
