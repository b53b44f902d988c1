block B {
  param C = 8
  in  x : f16[N, H, W, C]
  w   p : f16[C, C]
  out y : f16[N, H, W, C]
  a = relu(x)
  a = silu(x)
  y = pointwise(a, p)
}
