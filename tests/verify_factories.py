"""Model factories for the ``catcore verify`` tests (importable by path or by module name)."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from adapters.nets.models import cnn_bn, mlp


def small_mlp() -> nn.Module:
    """A digits MLP taking 64 features."""
    torch.manual_seed(0)
    return mlp(64, (16,), 10)


def small_cnn() -> nn.Module:
    """A digits CNN with BatchNorm taking 1x8x8 images."""
    torch.manual_seed(0)
    return cnn_bn(4)


def dropout_mlp() -> nn.Module:
    """An MLP whose Dropout layer is named ``"drop"``."""
    torch.manual_seed(0)
    layers = [("fc1", nn.Linear(64, 16)), ("act", nn.ReLU()), ("drop", nn.Dropout(0.5))]
    return nn.Sequential(OrderedDict([*layers, ("fc2", nn.Linear(16, 10))]))


def mlp8() -> nn.Module:
    """A digits MLP 64-8-10, initialized by the caller's seed (checkpoint tests)."""
    return nn.Sequential(nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 10))


def bn_mlp8() -> nn.Module:
    """:func:`mlp8` with a BatchNorm layer (running statistics in theta)."""
    return nn.Sequential(nn.Linear(64, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 10))


def three_classes() -> nn.Module:
    """Wrong output width for digits."""
    return mlp(64, (8,), 3)


def not_a_module() -> int:
    return 3


def raises() -> nn.Module:
    raise RuntimeError("factory is broken")


NOT_CALLABLE = 42


# -- users' own networks and data: token ids, Datasets, DataLoaders, tuple outputs ------------
VOCAB, LENGTH = 20, 6


def token_data() -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids whose class is whether token 3 occurs: an answer a model can learn."""
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, VOCAB, (160, LENGTH), generator=g)
    return ids, (ids == 3).any(dim=1).long()


def token_dataset() -> torch.utils.data.Dataset:
    ids, y = token_data()
    return torch.utils.data.TensorDataset(ids, y)


def token_loader() -> torch.utils.data.DataLoader:
    ids, y = token_data()
    pairs = [{"input_ids": i, "labels": int(t)} for i, t in zip(ids, y)]
    return torch.utils.data.DataLoader(pairs, batch_size=32)


def sequence_labels() -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token labels for a language model: y[:, t] = ids[:, t + 1] (last: token 0)."""
    ids, _ = token_data()
    return ids, torch.cat([ids[:, 1:], torch.zeros(len(ids), 1, dtype=ids.dtype)], dim=1)


class Recurrent(nn.Module):
    """Embedding -> 2-layer LSTM with dropout -> Linear on the last position."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 8)
        self.lstm = nn.LSTM(8, 8, num_layers=2, dropout=0.5, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, ids):
        seq, _ = self.lstm(self.embed(ids))
        return self.head(seq[:, -1])


def lstm() -> nn.Module:
    torch.manual_seed(0)
    return Recurrent()


def margin_loss(output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A user's own loss: multi-class hinge."""
    return nn.functional.multi_margin_loss(output, y)


def not_a_loss(output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return output  # not a scalar


def hf_bert() -> nn.Module:
    """A Hugging Face BERT classifier from a small config (random weights, no download)."""
    import transformers

    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=VOCAB, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=LENGTH, num_labels=2,
    )  # fmt: skip
    return transformers.BertForSequenceClassification(config)


def hf_gpt2() -> nn.Module:
    """A Hugging Face GPT-2 language model from a small config."""
    import transformers

    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=VOCAB, n_embd=16, n_layer=2, n_head=2, n_positions=LENGTH,
        bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    return transformers.GPT2LMHeadModel(config)


def fails_later() -> nn.Module:
    """Runs on the first forward passes, then raises: a failure no up-front check sees."""

    class Flaky(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(64, 10)
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            if self.calls > 3:
                raise RuntimeError("flaky forward")
            return self.fc(x)

    torch.manual_seed(0)
    return Flaky()


def unlabelled_loader() -> torch.utils.data.DataLoader:
    ids, _ = token_data()
    return torch.utils.data.DataLoader([{"input_ids": i} for i in ids], batch_size=32)


def hf_resnet() -> nn.Module:
    """A Hugging Face ResNet (BatchNorm throughout) for 1x8x8 digits."""
    import transformers

    torch.manual_seed(0)
    config = transformers.ResNetConfig(
        num_channels=1, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], num_labels=10,
    )  # fmt: skip
    return transformers.ResNetForImageClassification(config)


def hf_vit() -> nn.Module:
    """A Hugging Face ViT with dropout in its embeddings, attention and MLPs, for 1x8x8 digits."""
    import transformers

    torch.manual_seed(0)
    config = transformers.ViTConfig(
        image_size=8, patch_size=4, num_channels=1, hidden_size=16, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=32, num_labels=10, hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )  # fmt: skip
    return transformers.ViTForImageClassification(config)
