// random block 0: convfirst, C=48, E=288, k=7, group width 8, f16
block R0_convfirst {
  param C = 48, E = 6 * C
  in  x : f16[N, H, W, C]
  w wc : f16[C, 7, 7, 8]
  w bc : f32[C]
  w w1 : f16[E, C]
  w b1 : f32[E]
  w w2 : f16[C, E]
  w b2 : f32[C]
  out y : f16[N, H, W, C]
  a = conv2d(x, wc, groups: C / 8) + bc
  h = relu(pointwise(a, w1) + b1)
  y = pointwise(h, w2) + b2 + x
}

plan fused for R0_convfirst on sm_90 {
  tile N 1, H 6, W 12
  stream E by 288
  warps 8
}
plan layerwise for R0_convfirst { separate }
plan best for R0_convfirst on sm_90 { auto }
