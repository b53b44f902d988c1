// ConvFirstNet: a model of our own design (no published accuracy) that puts the spatial conv where it is cheap.
// Early stages (56x56 and 28x28, narrow): ConvFirst blocks, whose grouped 3x3 conv runs on the narrow input so
// only the narrow tensor needs a halo and the 4x-wide hidden tensor never leaves the SM. Late stages (14x14 and
// 7x7, wide): MBConv blocks with a grouped (width 8) 3x3 on the expanded tensor, where the image is small and the
// halo cheap. Downsampling by 2x2 stride-2 convs as in ConvNeXt; no squeeze-and-excitation, so every block fuses
// into one kernel. Depths 3-4-6-2 at 64-128-256-512 channels: 1.9 GMAC per image, between EfficientNet-B0 (0.39)
// and ConvNeXt-T (4.5). Not trained: it has no accuracy, so it is absent from the efficiency-gap plot.
// See docs/analysis.md.
include "../convfirst.tm"

network ConvFirstNet {
  input(N: 128, H: 224, W: 224, C: 3, dtype: f16)

  conv(32, k: 3, stride: 2, act: silu)                           // stem, 112x112
  conv(64, k: 3, stride: 2, act: silu)                           // 56x56
  repeat 3 { ConvFirst(C: 64) }
  conv(128, k: 2, stride: 2)                                     // 28x28
  repeat 4 { ConvFirst(C: 128) }
  conv(256, k: 2, stride: 2)                                     // 14x14
  repeat 6 {
    fuse { pointwise(1024, act: silu)  conv(1024, k: 3, groups: 128, act: silu)  pointwise(256)  residual }
  }
  conv(512, k: 2, stride: 2)                                     // 7x7
  repeat 2 {
    fuse { pointwise(2048, act: silu)  conv(2048, k: 3, groups: 256, act: silu)  pointwise(512)  residual }
  }

  pointwise(1280, act: silu)  pool  linear(1000)                 // head
}
