network Net {
  conv(16, k: 3)
  input(N: 8, H: 32, W: 32, C: 3)
}
