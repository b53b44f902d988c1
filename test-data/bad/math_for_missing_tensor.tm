block B {
  param C = 16, E = 4 * C
  in  x  : f16[N, H, W, C]
  w   w1 : f16[E, C]
  w   wd : f16[E, 3, 3, 1]
  w   w3 : f16[C, E]
  out y  : f16[N, H, W, C]
  h1 = relu(pointwise(x, w1))
  h2 = relu(conv2d(h1, wd, groups: E, pad: 1))
  y  = pointwise(h2, w3) + x
}

plan p for B on sm_90 {
  math tensor_core for
}
