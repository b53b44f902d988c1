// random block 3: mlp, C=48, E=96, k=1, group width 8, bf16
block R3_mlp {
  param C = 48, E = 2 * C
  in  x : bf16[N, H, W, C]
  w w1 : bf16[E, C]
  w b1 : f32[E]
  w w2 : bf16[C, E]
  w b2 : f32[C]
  out y : bf16[N, H, W, C]
  h = gelu(pointwise(x, w1) + b1)
  y = 0.5 * pointwise(h, w2) - b2 + x * 2
}

plan fused for R3_mlp on sm_90 {
  tile N 1, H 8, W 8
  stream E by 32
  warps 8
}
plan layerwise for R3_mlp { separate }
plan best for R3_mlp on sm_90 { auto }
