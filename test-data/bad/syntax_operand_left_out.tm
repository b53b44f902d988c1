// An operand left out inside a call: one error, where it is missing. The parser's recovery reads on into the
// next line ('y = ...'), which must not add errors of its own.
block B {
  param C = 8
  in  x : f16[N, H, W, C]
  w   p : f16[C, C]
  out y : f16[N, H, W, C]
  h = relu(pointwise(x, p) + )
  y = pointwise(h, p) + x
}
