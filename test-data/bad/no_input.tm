block B {
  param C = 8
  out y : f16[N, H, W, C]
  y = relu(x)
}
