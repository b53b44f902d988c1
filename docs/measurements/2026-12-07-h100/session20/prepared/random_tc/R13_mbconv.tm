// R13_mbconv.tm with a copy of its fused plan whose depthwise conv runs on tensor cores (twentieth session)
include "../../../../../../test-data/random/R13_mbconv.tm"

plan fused_tc for R13_mbconv on sm_90 {
  tile N 1, H 8, W 8
  stream E by 16
  warps 4
  math tensor_core for h2
}