// Every construct of the language in one block, for the golden tests of the reference interpreter:
// a dense 5x5 conv2d without 'pad:', a vector subtracted, relu, sigmoid, hardswish, silu, gelu, gelu_tanh,
// constants on either side of +, - and *, negation, layernorm without gamma and beta, two inputs, an f32
// output next to storage-type ones, an output read by a later statement, and an identity statement.
block Constructs {
  param C = 16, D = 24
  in  x  : f16[N, H, W, C]
  in  z  : f16[N, H, W, C]
  w   wk : f16[D, 5, 5, C]     // dense 5x5 (groups 1)
  w   s  : f16[D]              // a vector in the storage type
  w   wp : f16[C, D]
  w   t  : f32[C]
  out r  : f32[N, H, W, D]
  out y  : f16[N, H, W, C]
  out q  : f16[N, H, W, C]
  out e  : f16[N, H, W, C]

  a = conv2d(x, wk) - s
  r = relu(a) * 0.5 + sigmoid(a) * hardswish(a)
  b = layernorm(a, eps: 1e-5)
  c = 2 * gelu(pointwise(b, wp)) - z
  d = 1 - silu(c) * t + gelu_tanh(z)
  y = -d + x * 0.25
  q = c * y
  e = z
}
