"""The learning functor L: Param -> Rep (Thm 2.6) on real training runs: catcore's functor
laws pass in eval mode, a deliberately broken functor is caught, and networks that are not
a function of their parameters fail the verdict with the responsible modules named."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from hypothesis import strategies as st
from torch import nn

from adapters.categories.learning import LearningFunctor, law_examples, verify_functor
from adapters.categories.param import Param
from adapters.nets.data import digits
from adapters.nets.diagnosis import localize
from adapters.nets.models import cnn_bn, mlp, small_resnet
from adapters.nets.training import train
from catcore.laws import check
from catcore.suites import functor_laws

SPLIT = digits(seed=0)
X, Y = SPLIT.X_train[:96], SPLIT.y_train[:96]
PROBE = SPLIT.X_test[:32]
IMAGES = (X.reshape(-1, 1, 8, 8), PROBE.reshape(-1, 1, 8, 8))


def two_segments(net: nn.Module, flat: bool, train_mode: bool = False) -> tuple[Param, list]:
    """Train ``net`` for two consecutive short runs, put it in train or eval mode, and return
    Param (which copies the model in that mode) and the two trajectory paths."""
    data = X if flat else IMAGES[0]
    runs = [
        train(net, (data, Y), steps=4, lr=0.1, batch_size=32, seed=k, record_every=2).trajectory
        for k in range(2)
    ]
    net.train(train_mode)
    P = Param(net, data, Y, buffers="include", grid_size=9)
    return P, [P.trajectory(t) for t in runs]


def bn_names(net: nn.Module) -> set[str]:
    return {name for name, m in net.named_modules() if isinstance(m, nn.BatchNorm2d)}


def dropout_net() -> nn.Module:
    layers = [("fc1", nn.Linear(64, 12)), ("act", nn.ReLU()), ("drop", nn.Dropout(0.5))]
    return nn.Sequential(OrderedDict([*layers, ("fc2", nn.Linear(12, 10))]))


FACTORIES = {
    "mlp": (lambda: mlp(64, (12,), 10), True),
    "cnn": (lambda: cnn_bn(2), False),
    "resnet": (lambda: small_resnet(2), False),
}


@pytest.mark.parametrize("name", FACTORIES)
def test_laws_hold_in_eval_mode(name):
    torch.manual_seed(0)
    factory, flat = FACTORIES[name]
    net = factory()
    P, segments = two_segments(net, flat)
    L = LearningFunctor(P, probe=PROBE if flat else IMAGES[1])
    verdict = verify_functor(L, segments)
    assert verdict.functorial, str(verdict)
    assert verdict.report.ok and not verdict.culprits
    assert verdict.identity_defect <= verdict.tolerance
    assert verdict.composition_defect <= verdict.tolerance
    assert verdict.objects == 3 and verdict.pairs == 6


def test_laws_through_catcores_hypothesis_runner():
    torch.manual_seed(0)
    net = mlp(64, (12,), 10)
    P, segments = two_segments(net, True)
    L = LearningFunctor(P, probe=PROBE)
    ex = law_examples(P, segments)
    gens = {"object": st.sampled_from(ex["object"]), "chain2": st.sampled_from(ex["chain2"])}
    check(functor_laws(L), gens, L.cod.equality, max_examples=5).raise_for_failures()


def test_L_is_the_penultimate_activation():
    """Second implementation: relu(W1 x + b1) from the unflattened point, by hand."""
    torch.manual_seed(0)
    net = mlp(64, (12,), 10)
    P, segments = two_segments(net, True)
    L = LearningFunctor(P, probe=PROBE)
    gamma = segments[0] >> segments[1]
    x = PROBE.double().numpy()
    for t in (0.0, 3.5, 8.0):
        theta = gamma.sample(np.array([t]))[0]
        W1, b1 = theta[: 64 * 12].reshape(12, 64), theta[64 * 12 : 64 * 12 + 12]
        want = np.maximum(x @ W1.T + b1, 0.0)
        got = L.cod.matrix(L(gamma).sample(np.array([t]))[0])
        assert np.allclose(got, want, atol=1e-12)


class TimeReversed(LearningFunctor):
    """Broken: sends gamma to t -> phi(gamma(T - t)) (a contravariant map, not a functor)."""

    def path(self, gamma):
        T = gamma.duration
        return self.cod._make(lambda t: self.phi(gamma.sample(T - t)).reshape(len(t), -1), T)


class OneTooLong(LearningFunctor):
    """Broken: every image path lasts one unit longer than its source."""

    def path(self, gamma):
        return self.cod._make(
            lambda t: self.phi(gamma.sample(t)).reshape(len(t), -1), gamma.duration + 1.0
        )


def test_broken_functors_are_caught():
    torch.manual_seed(0)
    net = mlp(64, (12,), 10)
    P, segments = two_segments(net, True)
    too_long = verify_functor(OneTooLong(P, probe=PROBE), segments)
    assert not too_long.functorial
    assert too_long.identity_defect == 1.0  # durations 1 vs 0, same points
    reversed_ = verify_functor(TimeReversed(P, probe=PROBE), segments)
    assert not reversed_.functorial
    assert reversed_.identity_defect == 0.0  # a constant path reversed is itself
    assert reversed_.composition_defect > 1e-2
    assert any("composition" in f.law for f in reversed_.report.failures)


@pytest.mark.parametrize("name", ["cnn", "resnet"])
def test_batchnorm_in_train_mode_is_named(name):
    torch.manual_seed(0)
    factory, _ = FACTORIES[name]
    net = factory()
    P, segments = two_segments(net, False, train_mode=True)
    verdict = verify_functor(LearningFunctor(P, probe=IMAGES[1]), segments)
    assert not verdict.functorial
    assert {c.module for c in verdict.culprits if c.breaks} == bn_names(net)
    assert verdict.batch_defect > verdict.tolerance
    # the laws themselves hold numerically: the failure is that phi is not a map on X
    assert verdict.composition_defect <= verdict.tolerance
    text = " ".join(verdict.diagnosis)
    assert "model.eval()" in text and "buffers='include'" in text
    # the first BatchNorm is also found empirically (its inputs agree, its outputs do not)
    first = sorted(bn_names(net), key=list(dict(net.named_modules())).index)[0]
    assert "batch" in next(c.evidence for c in verdict.culprits if c.module == first)


def test_dropout_is_named_and_eval_mode_fixes_it():
    torch.manual_seed(0)
    net = dropout_net()
    P, segments = two_segments(net, True, train_mode=True)
    verdict = verify_functor(LearningFunctor(P, probe=PROBE), segments)
    assert not verdict.functorial
    assert [c.module for c in verdict.culprits if c.breaks] == ["drop"]
    assert verdict.culprits[0].evidence == "inspection+repeat"
    assert verdict.identity_defect > verdict.tolerance
    assert verdict.repeat_defect > verdict.tolerance
    assert "model.eval()" in " ".join(verdict.diagnosis)
    net.eval()
    fixed = verify_functor(LearningFunctor(Param(net, X, Y, grid_size=9), probe=PROBE), segments)
    assert fixed.functorial, str(fixed)


class Noise(nn.Module):
    def forward(self, x):
        return x + 0.1 * torch.randn_like(x)


class CenterBatch(nn.Module):
    def forward(self, x):
        return x - x.mean(dim=0)


class Counter(nn.Module):
    """Hidden state outside theta: a Python counter added to the output."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x + self.calls


class CountsInBuffer(nn.Module):
    """Writes a buffer that the output does not read."""

    def __init__(self):
        super().__init__()
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x):
        self.calls += 1
        return x


def wrapped(middle: nn.Module, name: str) -> nn.Module:
    return nn.Sequential(
        OrderedDict([("fc1", nn.Linear(64, 8)), (name, middle), ("fc2", nn.Linear(8, 10))])
    )


@pytest.mark.parametrize(
    "module, name, evidence",
    [
        (Noise(), "noise", "repeat"),
        (CenterBatch(), "center", "batch"),
        (Counter(), "count", "repeat"),
    ],
)
def test_empirical_culprits_that_inspection_cannot_see(module, name, evidence):
    torch.manual_seed(0)
    net = wrapped(module, name).double()
    found = localize(net, PROBE.double())
    assert [(c.module, c.evidence) for c in found] == [(name, evidence)]
    # end to end, on straight segments (no training needed)
    P = Param(net, X, Y, grid_size=9)
    a = P.of()
    b, c = a + 0.05, a - 0.05
    verdict = verify_functor(LearningFunctor(P, probe=PROBE), [P.linear(a, b), P.linear(b, c)])
    assert not verdict.functorial
    assert [c.module for c in verdict.culprits if c.breaks] == [name]


def test_written_but_unread_buffer_is_reported_not_blamed():
    torch.manual_seed(0)
    net = wrapped(CountsInBuffer(), "count")
    P = Param(net, X, Y, grid_size=9)
    a = P.of()
    verdict = verify_functor(LearningFunctor(P, probe=PROBE), [P.linear(a, a + 0.05)])
    assert verdict.functorial, str(verdict)
    found = [(c.module, c.evidence, c.breaks) for c in verdict.culprits]
    assert found == [("count", "buffers", False)]
    assert any(d.startswith("note:") for d in verdict.diagnosis)


def test_verdict_json_is_plain_data():
    import json

    torch.manual_seed(0)
    net = dropout_net().train()
    P = Param(net, X, Y, grid_size=9)
    a = P.of()
    out = verify_functor(LearningFunctor(P, probe=PROBE), [P.linear(a, a + 0.05)]).to_json()
    back = json.loads(json.dumps(out))
    assert back["functorial"] is False and back["culprits"][0]["module"] == "drop"
    assert isinstance(back["identity_defect"], float) and isinstance(back["diagnosis"], list)


def test_law_examples_are_composable():
    P = Param(mlp(4, (3,), 2), torch.randn(8, 4), torch.randint(0, 2, (8,)), grid_size=9)
    a = P.of()
    pts = [a, a + 1, a - 1, a + 2]
    segs = [P.linear(p, q) for p, q in zip(pts[:-1], pts[1:])]
    for paths in (segs, segs[:1]):
        ex = law_examples(P, paths)
        assert all(P.same_object(f.cod, g.dom) for f, g in ex["chain2"])
        assert len(ex["object"]) == max(len(paths), 2) + 1
    ex = law_examples(P, segs)
    # 2 consecutive, 2 prefix/suffix splits, segment;segment, segment;Bezier, 2 identities, back
    assert len(ex["chain2"]) == 9


def test_bad_input():
    torch.manual_seed(0)
    P = Param(mlp(64, (12,), 10), X, Y, grid_size=9)
    a = P.of()
    with pytest.raises(ValueError, match="no submodule 'nope'"):
        LearningFunctor(P, layer="nope")
    L = LearningFunctor(P, probe=PROBE)
    with pytest.raises(ValueError, match="not consecutive"):
        verify_functor(L, [P.linear(a, a + 1), P.linear(a, a + 1)])
    with pytest.raises(ValueError, match="at least one path"):
        verify_functor(L, [])


# -- modules with tuple outputs, functional randomness, buffers outside the state dict -------
class FunctionalDropout(nn.Module):
    """Dropout by ``F.dropout`` in forward: no Dropout module for inspection to find."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        return nn.functional.dropout(self.lin(x), 0.5, self.training)


class DropPath(nn.Module):
    """Stochastic depth as timm writes it: a per-sample Bernoulli mask on the residual."""

    def forward(self, x):
        if not self.training:
            return x
        keep = (torch.rand(x.shape[0], 1, dtype=x.dtype) > 0.5).to(x.dtype)
        return x * keep / 0.5


class Attention(nn.Module):
    """Self-attention over 2 tokens of 4 features; MultiheadAttention returns a tuple."""

    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(4, 2, dropout=0.5, batch_first=True)

    def forward(self, x):
        seq = x.view(-1, 2, 4)
        out, _ = self.mha(seq, seq, seq)
        return out.reshape(-1, 8)


class Recurrent(nn.Module):
    """Two stacked LSTM layers with dropout between them; the LSTM returns a tuple."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 4, num_layers=2, dropout=0.5, batch_first=True)

    def forward(self, x):
        out, (h, c) = self.lstm(x.view(-1, 2, 4))
        return out.reshape(-1, 8)


class Positions(nn.Module):
    """A non-persistent integer buffer, as Hugging Face embeddings keep ``position_ids``."""

    def __init__(self):
        super().__init__()
        self.register_buffer("position_ids", torch.arange(8), persistent=False)

    def forward(self, x):
        return x + 0.01 * self.position_ids.to(x.dtype)


class RunningShift(nn.Module):
    """Writes a buffer in forward and reads it: state outside theta that the output sees."""

    def __init__(self):
        super().__init__()
        self.register_buffer("shift", torch.zeros(8))

    def forward(self, x):
        self.shift += 0.1
        return x - self.shift


@pytest.mark.parametrize(
    "middle, name, blamed",
    [
        (FunctionalDropout(), "fdrop", "fdrop"),
        (DropPath(), "path", "path"),
        (Attention(), "attn", "attn.mha"),
        (Recurrent(), "rnn", "rnn.lstm"),
    ],
)
def test_randomness_that_no_dropout_module_carries_is_named(middle, name, blamed):
    torch.manual_seed(0)
    net = wrapped(middle, name).double().train()
    found = localize(net, PROBE.double())
    assert [(c.module, c.evidence) for c in found] == [(blamed, "repeat")]
    net.eval()
    assert localize(net, PROBE.double()) == []


def test_a_non_persistent_buffer_is_restored_not_refused():
    torch.manual_seed(0)
    net = wrapped(Positions(), "pos").double()
    assert "pos.position_ids" not in net.state_dict()
    assert localize(net, PROBE.double()) == []
    P = Param(net, X, Y, grid_size=9)
    a = P.of()
    verdict = verify_functor(LearningFunctor(P, probe=PROBE), [P.linear(a, a + 0.05)])
    assert verdict.functorial, str(verdict)


def test_a_buffer_written_and_read_in_forward_is_state_outside_theta():
    torch.manual_seed(0)
    net = wrapped(RunningShift(), "shift").double()
    found = localize(net, PROBE.double())
    assert [(c.module, c.evidence, c.breaks) for c in found] == [("shift", "buffers", True)]
    assert "state outside theta" in found[0].problem


def test_modules_sharing_a_diagnosis_get_one_sentence():
    torch.manual_seed(0)
    blocks = [(f"bn{i}", nn.BatchNorm1d(64)) for i in range(9)]
    net = nn.Sequential(OrderedDict([*blocks, ("fc", nn.Linear(64, 10))])).train()
    P = Param(net, X, Y, buffers="include", grid_size=9)
    a = P.of()
    verdict = verify_functor(LearningFunctor(P, probe=PROBE), [P.linear(a, a + 0.05)])
    assert not verdict.functorial
    assert verdict.responsible == [f"bn{i}" for i in range(9)]
    about_bn = [d for d in verdict.diagnosis if "BatchNorm1d" in d]
    assert len(about_bn) == 1 and "9 BatchNorm1d modules" in about_bn[0]
    assert "and 3 more" in about_bn[0]
    assert verdict.to_json()["responsible"] == verdict.responsible


def test_attention_dropout_behind_an_upstream_dropout_is_named():
    """The embedding dropout changes the attention's input in every pass, so only a replay
    of the attention's own call can tell that it is random too."""
    torch.manual_seed(0)
    net = wrapped(nn.Sequential(nn.Dropout(0.5), Attention()), "block").double().train()
    found = {c.module for c in localize(net, PROBE.double())}
    assert found == {"block.0", "block.1.mha"}


def test_paths_are_sampled_a_few_points_at_a_time(monkeypatch):
    """Memory flat in the grid: with room for 2 points, no sample call asks for more, and
    the image of the path is the same array."""
    import adapters.categories.learning as learning
    from catcore.instances.paths import Path as MoorePath

    torch.manual_seed(0)
    P = Param(mlp(64, (12,), 10), X, Y, grid_size=17)
    a = P.of()
    path = P.bezier(np.stack([a, a + 0.1, a - 0.05]))
    L = LearningFunctor(P, probe=PROBE)
    whole = np.asarray(L(path).sample(L.cod.grid * path.duration))
    rows, sample = [], MoorePath.sample

    def spy(self, t):
        if self is path:  # the parameter path, not its image in Rep
            rows.append(np.size(t))
        return sample(self, t)

    monkeypatch.setattr(MoorePath, "sample", spy)
    monkeypatch.setattr(learning, "SAMPLE_BYTES", 2 * 8 * P.dim)
    chunked = np.asarray(L(path).sample(L.cod.grid * path.duration))
    assert np.array_equal(whole, chunked)
    assert rows and max(rows) <= 2
