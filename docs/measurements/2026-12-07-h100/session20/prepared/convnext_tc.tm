// The twentieth session's candidates for ConvNeXt (not yet run on a GPU): the depthwise 7x7 on tensor cores
// ('math tensor_core for a') in the sample's 'fused', 'wgmma' and 'specialized' plans.
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

plan wgmma_tc for ConvNeXt on sm_90 {
  tile   N 1, H 8, W 8
  place  x in shared halo 3
  place  a in shared
  place  n in shared
  stream E by 32
  place  h in registers
  warps  4
  math   wgmma
  math   tensor_core for a
}

plan specialized_tc for ConvNeXt on sm_90 {
  tile   N 1, H 8, W 8
  place  x in shared halo 3
  place  a in shared
  place  n in shared
  stream E by 32
  place  h in shared
  place  y in registers
  warps  4 + 4
  math   tensor_core
  math   tensor_core for a
}
