// R4_convfirst.tm with a copy of its fused plan whose depthwise conv runs on tensor cores (twentieth session)
include "../../../../../../test-data/random/R4_convfirst.tm"

plan fused_tc for R4_convfirst on sm_90 {
  tile N 1, H 4, W 8
  stream E by 192
  warps 8
  math tensor_core for a
}