block B {
  param C = 8
  in  x : f16[N, H, W, C]
  in  x : f16[N, H, W, C]
  w   p : f16[C, C]
  out y : f16[N, H, W, C]
  y = pointwise(x, p)
}
