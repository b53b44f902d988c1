block B {
  param C = 8
  in  x  : f16[N, H, W, C]
  w   wc : f16[6, 3, 3, 2]
  out y  : f16[N, H, W, 6]
  y = conv2d(x, wc, groups: 4, pad: 1)
}
