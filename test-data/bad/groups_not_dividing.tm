block B {
  param C = 8
  in  x  : f16[N, H, W, C]
  w   wc : f16[C, 3, 3, 1]
  out y  : f16[N, H, W, C]
  y = conv2d(x, wc, groups: 3, pad: 1)
}
