block B {
  param C = 8
  in  x : f16[N, H, W, C]
  w   p : f16[C, C]
  out y : f16[N, H, W, C]
  a = relu(q)
  b = pointwise(a, p, p)
  y = pointwise(x, p)
}

plan p for Nope { separate }
