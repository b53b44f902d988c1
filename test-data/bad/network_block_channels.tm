block Mlp {
  param C = 32, E = 4 * C
  in  x  : f16[N, H, W, C]
  w   w1 : f16[E, C]
  w   w2 : f16[C, E]
  out y  : f16[N, H, W, C]
  y = pointwise(relu(pointwise(x, w1)), w2) + x
}

network Net {
  input(N: 8, H: 32, W: 32, C: 16)
  Mlp(C: 32)
  Mlp(D: 16)
}
