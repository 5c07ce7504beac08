"""Inputs, outputs and layers of users' networks: token ids, tuple outputs, ``.logits``."""

from __future__ import annotations

from collections import OrderedDict
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from adapters.nets.engine import Engine
from adapters.nets.metrics import accuracy_of, cross_entropy
from adapters.nets.model_io import as_input, as_output, parse_layer


class TokenClassifier(nn.Module):
    """Embedding -> LSTM -> Linear on the last position; returns an object with .logits."""

    def __init__(self, vocab: int = 11, width: int = 6, classes: int = 3) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.lstm = nn.LSTM(width, width, batch_first=True)
        self.head = nn.Linear(width, classes)

    def forward(self, ids):
        seq, _ = self.lstm(self.embed(ids))
        return SimpleNamespace(logits=self.head(seq[:, -1]), last_hidden_state=seq)


def test_token_ids_keep_their_dtype() -> None:
    ids = torch.tensor([[1, 2], [3, 4]])
    assert as_input(ids, torch.float64).dtype == torch.long
    assert as_input(ids.float(), torch.float64).dtype == torch.float64


def test_outputs_read_as_the_tensor_they_stand_for() -> None:
    t = torch.ones(2, 3)
    assert as_output(t) is t
    assert as_output((t, "state")) is t
    assert as_output([(t, 1)]) is t
    assert as_output(SimpleNamespace(logits=t, loss=None)) is t
    assert as_output(OrderedDict(last_hidden_state=t)) is t  # a ModelOutput without logits
    heads = {"a": t, "b": t}
    assert as_output(heads) is heads  # multi-task heads pass through
    with pytest.raises(TypeError, match="cannot read a tensor"):
        as_output(None)


def test_layer_fields_reach_into_structured_outputs() -> None:
    model = TokenClassifier()
    assert parse_layer(model, "lstm[0]").fields == (0,)
    assert parse_layer(model, "lstm[0]").module == "lstm"
    spec = parse_layer(model, "last_hidden_state")
    assert (spec.module, spec.fields) == ("", ("last_hidden_state",))
    assert parse_layer(model, "head:in").take_input
    with pytest.raises(ValueError, match="no submodule 'lstn'"):
        parse_layer(model, "lstn[0]")
    with pytest.raises(ValueError, match="has no field 'nope'"):
        parse_layer(model, "lstm.nope").read((torch.zeros(1),))


def test_engine_on_token_ids_matches_a_hand_evaluation() -> None:
    torch.manual_seed(0)
    model = TokenClassifier().double()
    ids = torch.randint(0, 11, (5, 4))
    y = torch.tensor([0, 1, 2, 1, 0])
    eng = Engine(model, ids, y, dtype=torch.float64, layer="lstm[0]")
    theta = eng.space.vector()
    with torch.no_grad():
        out = model(ids)
        seq, _ = model.lstm(model.embed(ids))
    assert torch.allclose(eng.outputs(theta), out.logits)
    assert float(eng.loss(theta)) == pytest.approx(float(F.cross_entropy(out.logits, y)))
    assert torch.allclose(eng.representations(theta), seq.reshape(5, -1))
    whole = eng.representations(theta, layer="last_hidden_state")
    assert torch.allclose(whole, seq.reshape(5, -1))


def test_sequence_labels_average_over_positions() -> None:
    logits = torch.tensor([[[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]]])  # (N=1, T=3, C=2)
    y = torch.tensor([[0, 1, 1]])
    assert float(accuracy_of(logits, y)) == pytest.approx(2 / 3)
    by_hand = sum(
        -torch.log_softmax(logits[0, t], 0)[y[0, t]] for t in range(3)
    ) / 3
    assert float(cross_entropy(logits, y)) == pytest.approx(float(by_hand))
