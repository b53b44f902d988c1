// random block 12: convfirst, C=96, E=192, k=7, depthwise, f16
block R12_convfirst {
  param C = 96, E = 2 * C
  in  x : f16[N, H, W, C]
  w wc : f16[C, 7, 7, 1]
  w bc : f32[C]
  w w1 : f16[E, C]
  w b1 : f32[E]
  w w2 : f16[C, E]
  w b2 : f32[C]
  out y : f16[N, H, W, C]
  a = conv2d(x, wc, groups: C) + bc
  h = gelu_tanh(pointwise(a, w1) + b1)
  y = pointwise(h, w2) + b2 + x
}

plan fused for R12_convfirst on sm_90 {
  tile N 1, H 8, W 8
  stream E by 16
  warps 8
}
plan layerwise for R12_convfirst { separate }
plan best for R12_convfirst on sm_90 { auto }
