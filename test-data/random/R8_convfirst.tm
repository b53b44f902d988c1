// random block 8: convfirst, C=40, E=240, k=7, group width 8, bf16
block R8_convfirst {
  param C = 40, E = 6 * C
  in  x : bf16[N, H, W, C]
  w wc : bf16[C, 7, 7, 8]
  w bc : f32[C]
  w w1 : bf16[E, C]
  w b1 : f32[E]
  w w2 : bf16[C, E]
  w b2 : f32[C]
  out y : bf16[N, H, W, C]
  a = conv2d(x, wc, groups: C / 8) + bc
  h = gelu_tanh(pointwise(a, w1) + b1)
  y = pointwise(h, w2) + b2 + x
}

plan fused for R8_convfirst on sm_90 {
  tile N 1, H 8, W 8
  stream E by 120
  warps 8
}
plan layerwise for R8_convfirst { separate }
plan best for R8_convfirst on sm_90 { auto }
