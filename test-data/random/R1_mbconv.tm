// random block 1: mbconv, C=96, E=192, k=3, group width 8, bf16
block R1_mbconv {
  param C = 96, E = 2 * C
  in  x : bf16[N, H, W, C]
  w w1 : bf16[E, C]
  w b1 : f32[E]
  w wd : bf16[E, 3, 3, 8]
  w bd : f32[E]
  w w3 : bf16[C, E]
  w b3 : f32[C]
  out y : bf16[N, H, W, C]
  h1 = relu(pointwise(x, w1) + b1)
  h2 = gelu(conv2d(h1, wd, groups: E / 8) + bd)
  y = pointwise(h2, w3) + b3 + x
}

plan fused for R1_mbconv on sm_90 {
  tile N 1, H 6, W 12
  stream E by 16
  warps 4
}
plan layerwise for R1_mbconv { separate }
plan best for R1_mbconv on sm_90 { auto }
