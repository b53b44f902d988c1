block B {
  param C = 0
  in  x : f16[N, H, W, C]
  w   p : f16[C, C]
  w   b : f32[C]
  out y : f16[N, H, W, C]
  y = pointwise(x, p) + b
}
