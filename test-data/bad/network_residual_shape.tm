network Net {
  input(N: 8, H: 32, W: 32, C: 16)
  fuse { pointwise(64, act: silu)  depthwise(k: 3, stride: 2)  pointwise(16)  residual }
}
