block B {
  param C = 8
  in  x : f16[N, H, W, C]
  w   g : f32[16]
  out y : f16[N, H, W, C]
  y = layernorm(x, g)
}
