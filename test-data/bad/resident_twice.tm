block B {
  param C = 8, E = 4 * C
  in  x  : f16[N, H, W, C]
  w   wc : f16[C, 3, 3, 8]
  w   w1 : f16[E, C]
  w   w2 : f16[C, E]
  out y  : f16[N, H, W, C]
  a = conv2d(x, wc, pad: 1)
  h = relu(pointwise(a, w1))
  y = pointwise(h, w2) + x
}

plan p for B on sm_90 {
  resident 2
  resident 3
}
