// EfficientNet-B0 (Tan & Le 2019) as a network for 'tmc analyze': the layers timm's efficientnet_b0 runs at
// inference, BatchNorm folded into the convs. Every MBConv block is a fuse group; its squeeze-and-excitation
// (se) needs the global average of the whole image before it can scale, so a fused execution splits each
// block there (docs/analysis.md).
network EfficientNetB0 {
  accuracy 77.1 "Tan and Le, EfficientNet, ICML 2019, Table 2 (EfficientNet-B0, ImageNet top-1)"
  input(N: 128, H: 224, W: 224, C: 3, dtype: f16)

  conv(32, k: 3, stride: 2, act: silu)                            // stem, 112x112

  // stage 1: MBConv1 k3, 16 channels (depthwise-separable: no expansion, no residual)
  fuse { depthwise(k: 3, act: silu)  se(8)  pointwise(16) }

  // stage 2: MBConv6 k3, 24 channels, 56x56
  fuse { pointwise(96, act: silu)  depthwise(k: 3, stride: 2, act: silu)  se(4)  pointwise(24) }
  fuse { pointwise(144, act: silu)  depthwise(k: 3, act: silu)  se(6)  pointwise(24)  residual }

  // stage 3: MBConv6 k5, 40 channels, 28x28
  fuse { pointwise(144, act: silu)  depthwise(k: 5, stride: 2, act: silu)  se(6)  pointwise(40) }
  fuse { pointwise(240, act: silu)  depthwise(k: 5, act: silu)  se(10)  pointwise(40)  residual }

  // stage 4: MBConv6 k3, 80 channels, 14x14
  fuse { pointwise(240, act: silu)  depthwise(k: 3, stride: 2, act: silu)  se(10)  pointwise(80) }
  repeat 2 {
    fuse { pointwise(480, act: silu)  depthwise(k: 3, act: silu)  se(20)  pointwise(80)  residual }
  }

  // stage 5: MBConv6 k5, 112 channels, 14x14
  fuse { pointwise(480, act: silu)  depthwise(k: 5, act: silu)  se(20)  pointwise(112) }
  repeat 2 {
    fuse { pointwise(672, act: silu)  depthwise(k: 5, act: silu)  se(28)  pointwise(112)  residual }
  }

  // stage 6: MBConv6 k5, 192 channels, 7x7
  fuse { pointwise(672, act: silu)  depthwise(k: 5, stride: 2, act: silu)  se(28)  pointwise(192) }
  repeat 3 {
    fuse { pointwise(1152, act: silu)  depthwise(k: 5, act: silu)  se(48)  pointwise(192)  residual }
  }

  // stage 7: MBConv6 k3, 320 channels, 7x7
  fuse { pointwise(1152, act: silu)  depthwise(k: 3, act: silu)  se(48)  pointwise(320) }

  pointwise(1280, act: silu)  pool  linear(1000)                 // head
}
