network Net {
  input(N: 8, H: 32, C: 16)
}
