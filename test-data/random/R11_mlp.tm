// random block 11: mlp, C=96, E=192, k=1, depthwise, f16
block R11_mlp {
  param C = 96, E = 2 * C
  in  x : f16[N, H, W, C]
  w w1 : f16[E, C]
  w b1 : f32[E]
  w w2 : f16[C, E]
  w b2 : f32[C]
  out y : f16[N, H, W, C]
  h = sigmoid(pointwise(x, w1) + b1)
  y = 0.5 * pointwise(h, w2) - b2 + x * 2
}

plan fused for R11_mlp on sm_90 {
  tile N 1, H 6, W 12
  stream E by 48
  warps 4
}
plan layerwise for R11_mlp { separate }
plan best for R11_mlp on sm_90 { auto }
