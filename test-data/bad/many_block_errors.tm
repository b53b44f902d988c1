block B {
  param C = 8, G = C / 3
  in  x  : f16[N, H, W, C]
  w   wc : f16[C, 3, 3, 8]
  w   p  : f16[C, C]
  w   q  : f8[C]
  out y  : f16[N, H, W, C]
  a = conv2d(x, wc, pad: 2)
  b = relu(z)
  y = pointwise(x, p) + q
}
