network Net {
  input(N: 8, H: 32, W: 32, C: 16)
  pointwise(16)
  residual
}
