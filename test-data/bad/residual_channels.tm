block B {
  param C = 8
  in  x : f16[N, H, W, C]
  w   w1 : f16[4 * C, C]
  w   w2 : f16[C, 4 * C]
  out y : f16[N, H, W, C]
  h = relu(pointwise(x, w1))
  y = pointwise(h, w2) + h
}
