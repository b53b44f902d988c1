// The twenty-first session's candidates for ConvNeXt: the depthwise conv on tensor cores ('math tensor_core for a')
// in its by-rows form (each 8x8 input matrix loaded once per column tap and shared by the tap rows and row tiles,
// two tap rows per m16n8k16), in the sample's 'fused' geometry and in wider tiles; and odd tiles whose items reach
// past the region (rows clamped, results dropped), for tmc verify.
include "../../../../../samples/convnext.tm"

plan fused_tc for ConvNeXt on sm_90 {
  tile   N 1, H 8, W 8
  place  x in shared halo 3
  place  a in shared
  place  n in shared
  stream E by 32
  place  h in registers
  place  y in registers
  warps  4
  math   tensor_core
  math   tensor_core for a
}

plan wide_tc for ConvNeXt on sm_90 {
  tile   N 1, H 8, W 16
  place  x in shared halo 3
  place  a in shared
  place  n in shared
  stream E by 32
  place  h in registers
  place  y in registers
  warps  8
  math   tensor_core
  math   tensor_core for a
}

plan wide for ConvNeXt on sm_90 {
  tile   N 1, H 8, W 16
  place  x in shared halo 3
  place  a in shared
  place  n in shared
  stream E by 32
  place  h in registers
  place  y in registers
  warps  8
  math   tensor_core
}

plan odd_tc for ConvNeXt on sm_90 {
  tile   N 1, H 5, W 16
  place  x in shared halo 3
  place  a in shared
  place  n in shared
  stream E by 32
  place  h in registers
  place  y in registers
  warps  4
  math   tensor_core
  math   tensor_core for a
}

plan short_tc for ConvNeXt on sm_90 {
  tile   N 1, H 3, W 8
  place  x in shared halo 3
  place  a in shared
  place  n in shared
  stream E by 32
  place  h in registers
  place  y in registers
  warps  2
  math   tensor_core
  math   tensor_core for a
}
