"""Multi-task model factories for the ``catcore limits`` tests: users' own modules with a
``trunk`` and named ``heads`` (importable by path or by module name)."""

from __future__ import annotations

import torch
from torch import nn
from verify_factories import LENGTH, VOCAB, token_data


class Tapped(nn.Module):
    """A trunk that is not an ``nn.Sequential``: ``wide`` (Linear 64 -> 12, BatchNorm, ReLU)
    then ``narrow`` (Linear 12 -> 3, ReLU); the parity head reads ``wide``."""

    def __init__(self, batchnorm: bool) -> None:
        super().__init__()
        norm = nn.BatchNorm1d(12) if batchnorm else nn.Identity()
        self.wide = nn.Sequential(nn.Linear(64, 12), norm, nn.ReLU())
        self.narrow = nn.Sequential(nn.Linear(12, 3), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.narrow(self.wide(x))


class TwoTasks(nn.Module):
    """A user's multi-task model: ``trunk``, ``heads`` and ``reads``."""

    def __init__(self, trunk: nn.Module, heads: dict[str, nn.Module], reads: dict) -> None:
        super().__init__()
        self.trunk, self.heads, self.reads = trunk, nn.ModuleDict(heads), reads

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError("the probe reads trunk and heads; training is elsewhere")


def tapped(batchnorm: bool = True) -> nn.Module:
    torch.manual_seed(0)
    model = TwoTasks(Tapped(batchnorm), {"digit": nn.Linear(3, 10), "parity": nn.Linear(12, 2)},
                     {"parity": "wide"})  # fmt: skip
    if batchnorm:  # running statistics that are not the initial ones
        norm = model.trunk.wide[1]
        norm.running_mean.uniform_(-0.5, 0.5)
        norm.running_var.uniform_(0.5, 2.0)
    return model


def tapped_plain() -> nn.Module:
    return tapped(batchnorm=False)


def no_heads() -> nn.Module:
    return nn.Linear(64, 10)


def bert_two_tasks() -> nn.Module:
    """A Hugging Face BERT trunk on token ids (small config, random weights): one head on
    the last hidden state, one on the output of the first encoder layer (a tuple)."""
    import transformers

    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=VOCAB, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=8, max_position_embeddings=LENGTH,
    )  # fmt: skip
    trunk = transformers.BertModel(config, add_pooling_layer=False)
    return TwoTasks(trunk, {"tag": nn.Linear(8, 3), "flag": nn.Linear(8, 2)},
                    {"flag": "encoder.layer.0[0]"})  # fmt: skip


def tokens() -> tuple[torch.Tensor, torch.Tensor]:
    return token_data()
