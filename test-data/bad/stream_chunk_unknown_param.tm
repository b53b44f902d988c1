block B {
  param C = 16, E = 4 * C
  in  x  : f16[N, H, W, C]
  w   w1 : f16[E, C]
  w   w2 : f16[C, E]
  out y  : f16[N, H, W, C]
  h = relu(pointwise(x, w1))
  y = pointwise(h, w2) + x
}

plan p for B on sm_90 {
  stream E by F
}
