"""Networks at the sizes users bring, from small configs (random weights, no downloads):
a ResNet-18-sized and a ViT-B/16-sized Hugging Face model for 1x8x8 digits, used by the
memory benchmark of ``catcore verify`` (``bench_verify_zoo.py``)."""

from __future__ import annotations

import torch
from torch import nn


def resnet18() -> nn.Module:
    """ResNet-18's layout (basic blocks, depths 2-2-2-2, widths 64-512): 11.2M parameters."""
    import transformers

    torch.manual_seed(0)
    config = transformers.ResNetConfig(
        num_channels=1, embedding_size=64, hidden_sizes=[64, 128, 256, 512],
        depths=[2, 2, 2, 2], layer_type="basic", num_labels=10,
    )  # fmt: skip
    return transformers.ResNetForImageClassification(config)


def vit_b16() -> nn.Module:
    """ViT-B/16's encoder (12 layers, width 768, 12 heads, MLP 3072) on 8x8 images cut into
    four 4x4 patches: 85M parameters."""
    import transformers

    torch.manual_seed(0)
    config = transformers.ViTConfig(
        image_size=8, patch_size=4, num_channels=1, hidden_size=768, num_hidden_layers=12,
        num_attention_heads=12, intermediate_size=3072, num_labels=10,
    )  # fmt: skip
    return transformers.ViTForImageClassification(config)
