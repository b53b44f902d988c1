// ConvFirst block (Lavin 2024): the spatial conv runs on the narrow input, so only x needs a halo
// and the 4x-wide hidden tensor h never leaves the SM.
block ConvFirst {
  param C = 64, E = 4 * C, GW = 8
  in  x  : f16[N, H, W, C]
  w   wc : f16[C, 3, 3, GW]     // grouped 3x3, C / GW groups of width GW
  w   bc : f32[C]
  w   w1 : f16[E, C]
  w   b1 : f32[E]
  w   w2 : f16[C, E]
  w   b2 : f32[C]
  out y  : f16[N, H, W, C]

  a = conv2d(x, wc, groups: C / GW, pad: 1) + bc
  h = silu(pointwise(a, w1) + b1)
  y = pointwise(h, w2) + b2 + x
}

plan fused for ConvFirst on sm_90 {
  tile   N 1, H 8, W 16          // one thread block owns an 8x16 output patch
  place  x in shared halo 1      // 10x18 input patch, zero-padded at the image edge
  place  a in registers         // each warp convolves its own 16 pixels into the A fragments of w1's product
  stream E by 64                 // hidden channels in chunks of 64
  place  h in registers       // each warp keeps its pixels' chunk and feeds it to the projection
  place  y in registers          // accumulators
  warps  8
  math   tensor_core
}

// Rows of 28 pixels: 7 warps own the 4x28 tile's 7 rows of 16 pixels, and no tile overhangs 28- or 56-wide
// images. On the H100 it is 1.16x faster than 'fused' at C=128 on 28x28 and 2 % slower at C=64 on 56x56
// (docs/benchmarks.md); the benchmark takes the faster per configuration.
plan rows for ConvFirst on sm_90 {
  tile   N 1, H 4, W 28
  stream E by 64
  place  h in registers
  warps  7
  math   tensor_core
}

// The same kernel with the chain's two products on wgmma (sm_90a): each warpgroup of 4 warps multiplies its 64
// pixels by a slice of w1, then by w2, reading both from shared memory; the conv stays on mma.sync.
plan wgmma for ConvFirst on sm_90 {
  tile   N 1, H 8, W 16
  stream E by 64
  place  h in registers
  warps  8
  math   wgmma
}

// Warp-specialized: h leaves the registers for shared memory, so that the loop has a phase for each side: warps 0-3
// compute chunk j of h into one copy of h_s while warps 4-7 project chunk j-1 from the other, one row of 16 pixels
// each (4x14 tiles: at C=128, 8x16 would need 256 registers a thread). Right on the H100 but 0.54x-0.72x of the
// unsplit plans (docs/benchmarks.md, thirteenth session): the conv, most of the work, runs on half the warps.
plan specialized for ConvFirst on sm_90 {
  tile   N 1, H 4, W 14
  place  x in shared halo 1
  place  a in shared
  stream E by 64
  place  h in shared
  place  y in registers
  warps  4 + 4
  math   tensor_core
}

plan layerwise for ConvFirst { separate }   // one kernel per layer: the baseline
plan best for ConvFirst on sm_90 { auto }   // the planner chooses everything


plan rows128 for ConvFirst on sm_90 {
  tile   N 1, H 4, W 28
  stream E by 128
  place  h in registers
  warps  7
  math   tensor_core
}

plan rows3 for ConvFirst on sm_90 {
  tile   N 1, H 4, W 28
  stream E by 64
  place  h in registers
  warps  7
  resident 3
  math   tensor_core
}

plan rows2 for ConvFirst on sm_90 {
  tile   N 1, H 4, W 28
  stream E by 64
  place  h in registers
  warps  7
  resident 2
  math   tensor_core
}
