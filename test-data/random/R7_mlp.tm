// random block 7: mlp, C=32, E=64, k=1, group width 8, f16
block R7_mlp {
  param C = 32, E = 2 * C
  in  x : f16[N, H, W, C]
  w w1 : f16[E, C]
  w b1 : f32[E]
  w w2 : f16[C, E]
  w b2 : f32[C]
  out y : f16[N, H, W, C]
  h = gelu_tanh(pointwise(x, w1) + b1)
  y = 0.5 * pointwise(h, w2) - b2 + x * 2
}

plan fused for R7_mlp on sm_90 {
  tile N 1, H 8, W 16
  stream E by 64
  warps 8
}
plan layerwise for R7_mlp { separate }
plan best for R7_mlp on sm_90 { auto }
