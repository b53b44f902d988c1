// R14_convnext.tm with a copy of its fused plan whose depthwise conv runs on tensor cores (twentieth session)
include "../../../../../../test-data/random/R14_convnext.tm"

plan fused_tc for R14_convnext on sm_90 {
  tile N 1, H 4, W 8
  stream E by 16
  warps 8
  math tensor_core for a
}