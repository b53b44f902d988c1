block B {
  param C = 8
  in  x  : f16[N, H, W, C]
  w   wc : f16[C, 3, 3, 4]
  out y  : f16[N, H, W, C]
  y = conv2d(x, wc, groups: C / 8, pad: 1)
}
