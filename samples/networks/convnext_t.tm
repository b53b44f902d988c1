// ConvNeXt-T (Liu et al. 2022) as a network for 'tmc analyze': the layers timm's convnext_tiny runs at
// inference. Each block is an instance of the ConvNeXt block of samples/convnext.tm (depthwise 7x7, LayerNorm,
// 4x MLP with GELU, layer scale, residual), which a fused execution runs as one kernel.
include "../convnext.tm"

network ConvNeXtT {
  accuracy 82.1 "Liu et al., A ConvNet for the 2020s, CVPR 2022, Table 1 (ConvNeXt-T, ImageNet-1K, 224x224)"
  input(N: 128, H: 224, W: 224, C: 3, dtype: f16)

  conv(96, k: 4, stride: 4)  layernorm                           // stem: 4x4 patches, 56x56
  repeat 3 { ConvNeXt(C: 96) }
  layernorm  conv(192, k: 2, stride: 2)                          // downsample to 28x28
  repeat 3 { ConvNeXt(C: 192) }
  layernorm  conv(384, k: 2, stride: 2)                          // 14x14
  repeat 9 { ConvNeXt(C: 384) }
  layernorm  conv(768, k: 2, stride: 2)                          // 7x7
  repeat 3 { ConvNeXt(C: 768) }

  pool  layernorm  linear(1000)                                  // head
}
