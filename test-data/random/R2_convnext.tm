// random block 2: convnext, C=96, E=576, k=5, depthwise, bf16
block R2_convnext {
  param C = 96, E = 6 * C
  in  x : bf16[N, H, W, C]
  w wd : bf16[C, 5, 5, 1]
  w bd : f32[C]
  w g : f32[C]
  w be : f32[C]
  w w1 : bf16[E, C]
  w b1 : f32[E]
  w w2 : bf16[C, E]
  w b2 : f32[C]
  w gamma : f32[C]
  out y : bf16[N, H, W, C]
  a = conv2d(x, wd, groups: C) + bd
  n = layernorm(a, g, be, eps: 1e-5)
  h = gelu(pointwise(n, w1) + b1)
  y = gamma * (pointwise(h, w2) + b2) + x
}

plan fused for R2_convnext on sm_90 {
  tile N 1, H 6, W 12
  stream E by 64
  warps 4
}
plan layerwise for R2_convnext { separate }
plan best for R2_convnext on sm_90 { auto }
