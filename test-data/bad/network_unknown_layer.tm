network Net {
  input(N: 8, H: 32, W: 32, C: 3)
  convv(16, k: 3, stride: 2)
}
