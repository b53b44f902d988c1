block B {
  param C = 8
  in  x  : f16[N, H, W, C]
  w   wc : bf16[C, 3, 3, C]
  out y  : f16[N, H, W, C]
  y = conv2d(x, wc, pad: 1)
}
