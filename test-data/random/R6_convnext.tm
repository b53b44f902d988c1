// random block 6: convnext, C=8, E=48, k=7, group width 8, f16
block R6_convnext {
  param C = 8, E = 6 * C
  in  x : f16[N, H, W, C]
  w wd : f16[C, 7, 7, 1]
  w bd : f32[C]
  w g : f32[C]
  w be : f32[C]
  w w1 : f16[E, C]
  w b1 : f32[E]
  w w2 : f16[C, E]
  w b2 : f32[C]
  w gamma : f32[C]
  out y : f16[N, H, W, C]
  a = conv2d(x, wd, groups: C) + bd
  n = layernorm(a, g, be, eps: 1e-5)
  h = relu(pointwise(n, w1) + b1)
  y = gamma * (pointwise(h, w2) + b2) + x
}

plan fused for R6_convnext on sm_90 {
  tile N 1, H 6, W 12
  stream E by 48
  warps 4
}
plan layerwise for R6_convnext { separate }
plan best for R6_convnext on sm_90 { auto }
