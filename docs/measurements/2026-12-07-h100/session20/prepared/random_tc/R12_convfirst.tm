// R12_convfirst.tm with a copy of its fused plan whose depthwise conv runs on tensor cores (twentieth session)
include "../../../../../../test-data/random/R12_convfirst.tm"

plan fused_tc for R12_convfirst on sm_90 {
  tile N 1, H 8, W 8
  stream E by 16
  warps 8
  math tensor_core for a
}