// random block 9: mbconv, C=8, E=16, k=3, group width 8, f16
block R9_mbconv {
  param C = 8, E = 2 * C
  in  x : f16[N, H, W, C]
  w w1 : f16[E, C]
  w b1 : f32[E]
  w wd : f16[E, 3, 3, 8]
  w bd : f32[E]
  w w3 : f16[C, E]
  w b3 : f32[C]
  out y : f16[N, H, W, C]
  h1 = hardswish(pointwise(x, w1) + b1)
  h2 = gelu_tanh(conv2d(h1, wd, groups: E / 8) + bd)
  y = pointwise(h2, w3) + b3 + x
}

plan fused for R9_mbconv on sm_90 {
  tile N 1, H 8, W 16
  stream E by 16
  warps 4
}
plan layerwise for R9_mbconv { separate }
plan best for R9_mbconv on sm_90 { auto }
