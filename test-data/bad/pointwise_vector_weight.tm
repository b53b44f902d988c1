block B {
  param C = 8
  in  x : f16[N, H, W, C]
  w   b : f16[C]
  out y : f16[N, H, W, C]
  y = pointwise(x, b)
}
