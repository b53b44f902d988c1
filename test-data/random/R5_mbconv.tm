// random block 5: mbconv, C=96, E=384, k=7, depthwise, bf16
block R5_mbconv {
  param C = 96, E = 4 * C
  in  x : bf16[N, H, W, C]
  w w1 : bf16[E, C]
  w b1 : f32[E]
  w wd : bf16[E, 7, 7, 1]
  w bd : f32[E]
  w w3 : bf16[C, E]
  w b3 : f32[C]
  out y : bf16[N, H, W, C]
  h1 = gelu_tanh(pointwise(x, w1) + b1)
  h2 = hardswish(conv2d(h1, wd, groups: E) + bd)
  y = pointwise(h2, w3) + b3 + x
}

plan fused for R5_mbconv on sm_90 {
  tile N 1, H 4, W 8
  stream E by 128
  warps 4
}
plan layerwise for R5_mbconv { separate }
plan best for R5_mbconv on sm_90 { auto }
