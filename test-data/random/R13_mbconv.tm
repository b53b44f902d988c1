// random block 13: mbconv, C=96, E=192, k=3, depthwise, f16
block R13_mbconv {
  param C = 96, E = 2 * C
  in  x : f16[N, H, W, C]
  w w1 : f16[E, C]
  w b1 : f32[E]
  w wd : f16[E, 3, 3, 1]
  w bd : f32[E]
  w w3 : f16[C, E]
  w b3 : f32[C]
  out y : f16[N, H, W, C]
  h1 = hardswish(pointwise(x, w1) + b1)
  h2 = hardswish(conv2d(h1, wd, groups: E) + bd)
  y = pointwise(h2, w3) + b3 + x
}

plan fused for R13_mbconv on sm_90 {
  tile N 1, H 8, W 8
  stream E by 16
  warps 4
}
plan layerwise for R13_mbconv { separate }
plan best for R13_mbconv on sm_90 { auto }
