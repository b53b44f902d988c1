// R6_convnext.tm with a copy of its fused plan whose depthwise conv runs on tensor cores (twentieth session)
include "../../../../../../test-data/random/R6_convnext.tm"

plan fused_tc for R6_convnext on sm_90 {
  tile N 1, H 6, W 12
  stream E by 48
  warps 4
  math tensor_core for a
}