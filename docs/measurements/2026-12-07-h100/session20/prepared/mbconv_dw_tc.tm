// The twentieth session's candidates for MBConvDW (not yet run on a GPU): the depthwise conv on tensor cores
// ('math tensor_core for h2'), in the sample's 'fused' and 'specialized' plans and in MBConv's 'rows' geometry,
// where h2 stays in registers between the depthwise conv and the projection (the register chain).
include "../../../../../samples/mbconv_dw.tm"

plan fused_tc for MBConvDW on sm_90 {
  tile   N 1, H 7, W 14
  place  x  in shared
  stream E by 64
  place  h1 in shared halo 1 stage
  place  h2 in shared
  place  y  in registers
  warps  8
  math   tensor_core
  math   tensor_core for h2
}

plan specialized_tc for MBConvDW on sm_90 {
  tile   N 1, H 7, W 14
  place  x  in shared
  stream E by 64
  place  h1 in shared halo 1 stage
  place  h2 in shared
  place  y  in registers
  warps  4 + 4
  math   tensor_core
  math   tensor_core for h2
}

// MBConv's 'rows' (4x28 tiles, 7 warps of whole 16-pixel rows) with the CUDA-core and the tensor-core depthwise conv
plan rows for MBConvDW on sm_90 {
  tile   N 1, H 4, W 28
  place  h1 in shared halo 1 stage
  stream E by 64
  warps  7
  math   tensor_core
}

plan rows_tc for MBConvDW on sm_90 {
  tile   N 1, H 4, W 28
  place  h1 in shared halo 1 stage
  stream E by 64
  warps  7
  math   tensor_core
  math   tensor_core for h2
}
