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


# -- multi-task models for ``catcore limits`` (bench_limits.py) --------------------------------


class MultiTask(nn.Module):
    """A user's multi-task model: ``trunk``, named ``heads``, and the layer each head reads."""

    def __init__(self, trunk: nn.Module, heads: dict[str, nn.Module], reads: dict) -> None:
        super().__init__()
        self.trunk, self.heads, self.reads = trunk, nn.ModuleDict(heads), reads


def limits_mlp(width: int = 200) -> nn.Module:
    """Trunk 64 -> width -> width -> 32 (ReLU); the digit head reads the output, the parity
    head the second hidden layer. ``width`` 200: 60k parameters; 1000: 1.1M."""
    torch.manual_seed(0)
    trunk = nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                          nn.Linear(width, 32), nn.ReLU())  # fmt: skip
    heads = {"digit": nn.Linear(32, 10), "parity": nn.Linear(width, 2)}
    return MultiTask(trunk, heads, {"parity": "3"})


def limits_mlp_1m() -> nn.Module:
    return limits_mlp(1000)


class ViTTrunk(nn.Module):
    """A ViT encoder of DeiT-tiny's width (192, 3 heads, MLP 768) and 2 layers on 1x8x8
    digits (0.9M parameters); its output, the shared representation, is the class token."""

    def __init__(self) -> None:
        super().__init__()
        import transformers

        config = transformers.ViTConfig(
            image_size=8, patch_size=4, num_channels=1, hidden_size=192, num_hidden_layers=2,
            num_attention_heads=3, intermediate_size=768,
        )  # fmt: skip
        self.vit = transformers.ViTModel(config, add_pooling_layer=False)

    def forward(self, x):
        return self.vit(pixel_values=x).last_hidden_state[:, 0]


def limits_vit() -> nn.Module:
    """:class:`ViTTrunk` with a digit head on the class token and a parity head on the
    first encoder layer's tokens (a tuple output): 0.9M parameters."""
    torch.manual_seed(0)
    heads = {"digit": nn.Linear(192, 10), "parity": nn.Linear(192, 2)}
    return MultiTask(ViTTrunk(), heads, {"parity": "vit.layers.0"})
