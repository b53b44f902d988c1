network Net {
  input(N: 8, H: 32, W: 32, C: 16)
  pointwise(32)

block B {
  in  x : f16[N, H, W, 8]
  out y : f16[N, H, W, 8]
  y = x
}
