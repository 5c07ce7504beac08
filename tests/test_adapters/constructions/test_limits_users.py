"""The limit-preservation probe on users' own multi-task models: trunks of any module
type, heads reading any layer, BatchNorm policies, token ids, Hugging Face trunks, and
the Gaussian sketch checked against the dense Jacobian (``docs/transfer.md``)."""

from __future__ import annotations

import limits_factories
import numpy as np
import pytest
import torch
from test_multitask import KNOWN, X2, _linear
from torch import nn

from adapters.constructions import jacobian_sketch
from adapters.constructions.linearization import linearize
from adapters.constructions.multitask import limit_preservation_probe
from adapters.constructions.multitask_model import MultiTaskModel, as_multitask, multitask_mlp
from adapters.nets.data import digits


class TwoStage(nn.Module):
    """The known-answer trunk of test_multitask as a module with named attributes (not an
    nn.Sequential): ``h = first(x)``, ``s = second(h)``."""

    def __init__(self, first: nn.Module, second: nn.Module) -> None:
        super().__init__()
        self.first, self.second = first, second

    def forward(self, x):
        return self.second(self.first(x))


@pytest.mark.parametrize("method", ["dense", "sketch"])
def test_a_trunk_of_any_module_type_gives_the_hand_derived_answer(method):
    """KNOWN row 2 (heads read h: gap 1) with the trunk as a plain module and the heads
    reading the named layer ``first``."""
    _, _, preserved, gap, dims, image, limit = KNOWN[1]
    trunk = TwoStage(_linear([[1, 0], [0, 0]]), _linear([[1, 0]]))
    model = MultiTaskModel(trunk, {"a": _linear([[1, 1]]), "b": _linear([[1, -1]])},
                           {"a": "first", "b": "first"})  # fmt: skip
    r = limit_preservation_probe(model, X2, method=method)
    assert (r.preserved, r.rank_gap, r.dims) == (preserved, gap, dims)
    assert (r.image_of_limit, r.limit_of_images) == (image, limit)


def test_heads_read_a_field_of_a_structured_output():
    """A layer returning a tuple: the head reads ``block[0]``; the same numbers as the
    trunk whose layer returns the tensor alone."""

    class Pair(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x), x.sum()

    def model(tupled: bool):
        first = _linear([[1, 0], [0, 0]])
        trunk = TwoStage(Pair(first) if tupled else first, _linear([[1, 0]]))
        if tupled:
            trunk.second = nn.Sequential(_Take(), trunk.second)
        read = "first[0]" if tupled else "first"
        heads = {"a": _linear([[1, 1]]), "b": _linear([[1, -1]])}
        return MultiTaskModel(trunk, heads, {"a": read, "b": read})

    a, b = (limit_preservation_probe(model(t), X2, method="dense") for t in (True, False))
    assert (a.rank_gap, a.dims) == (b.rank_gap, b.dims) == (1, {"shared": 2, "a": 4, "b": 4})


class _Take(nn.Module):
    def forward(self, pair):
        return pair[0]


def test_a_users_module_with_trunk_and_heads_is_accepted_and_checked():
    user = limits_factories.tapped_plain()
    wrapped = as_multitask(user)
    assert wrapped.trunk is user.trunk and wrapped.reads["parity"] == "wide"
    with pytest.raises(ValueError, match="not a multi-task model"):
        as_multitask(nn.Linear(2, 2))
    user.extra = nn.Linear(2, 2)  # a parameter outside trunk and heads
    with pytest.raises(ValueError, match="outside the trunk and the heads"):
        as_multitask(user)
    with pytest.raises(ValueError, match="bad reads"):
        MultiTaskModel(nn.Sequential(nn.Linear(2, 2)), {"a": nn.Linear(2, 1)}, {"a": "nope"})


# -- the sketch against the dense Jacobian -----------------------------------------------


#: 400 random features into a 400-6-3 trunk (2427 parameters): sketched with 1200 columns
X400 = torch.randn(16, 400, generator=torch.Generator().manual_seed(0))
EVERYTHING = frozenset({"trunk", "head:digit", "head:parity"})


@pytest.mark.parametrize("read", ["", "1"])
def test_the_sketch_finds_the_dense_ranks(read):
    """Every dimension, the gap and the verdict are the dense Jacobian's, and the bound
    vouches for them (the tapped variant fails by 17 dimensions)."""
    model = multitask_mlp(400, (6, 3), read=read, seed=0)
    dense = limit_preservation_probe(model, X400, method="dense")
    sketch = limit_preservation_probe(model, X400, method="sketch", columns=1200)
    assert sketch.linearization["sketched_blocks"] == {"trunk": 1200}
    assert sketch.certain and 1 < sketch.linearization["distortion"] < 10
    assert (sketch.dims, sketch.rank_gap) == (dense.dims, dense.rank_gap)
    assert (sketch.image_of_limit, sketch.limit_of_images) == (dense.image_of_limit,
                                                               dense.limit_of_images)  # fmt: skip
    assert sketch.verdict == dense.verdict == ("preserved" if read == "" else "not preserved")


def test_the_sketch_spans_the_dense_image():
    """im(J Omega) = im J: the principal angles between the two column spaces vanish."""
    model = multitask_mlp(400, (6, 3), read="1", seed=0)
    J = linearize(model, X400).of(EVERYTHING)
    Y = jacobian_sketch.linearize_sketched(model, X400, columns=1200).of(EVERYTHING)
    U = np.linalg.svd(J, full_matrices=False)[0][:, : np.linalg.matrix_rank(J)]
    V = np.linalg.svd(Y, full_matrices=False)[0][:, : np.linalg.matrix_rank(Y)]
    assert U.shape == V.shape
    assert np.linalg.svd(U.T @ V, compute_uv=False).min() > 1 - 1e-9


def test_a_sketch_that_cannot_vouch_for_its_ranks_says_undetermined():
    model = multitask_mlp(400, (6, 3), read="1", seed=0)
    narrow = limit_preservation_probe(model, X400, method="sketch", columns=100)
    assert narrow.verdict == "undetermined" and "too narrow" in narrow.uncertain_because
    d = narrow.to_dict()
    assert d["certain"] is False and d["verdict"] == "undetermined" and d["preserved"] is None
    # a bound that holds, but a rank cut (tol 1e-3) in the middle of the spectrum
    blurred = limit_preservation_probe(model, X400, method="sketch", columns=1200, tol=1e-3)
    assert blurred.verdict == "undetermined"
    assert "within the distortion factor" in blurred.uncertain_because


def test_distortion_is_the_davidson_szarek_ratio():
    assert jacobian_sketch.distortion(100, 10_000) == pytest.approx((1 + 0.16) / (1 - 0.16))
    assert jacobian_sketch.distortion(100, 150) is None
    assert jacobian_sketch.FAILURE_PROBABILITY == pytest.approx(2 * np.exp(-18))


def test_auto_takes_the_sketch_for_a_large_trunk(monkeypatch):
    monkeypatch.setattr("adapters.constructions.multitask.DENSE_ENTRIES", 1000)
    model = multitask_mlp(64, (6, 3), read="1", seed=0)
    r = limit_preservation_probe(model, digits(seed=0).X_test[:4])
    assert r.linearization["method"] == "sketch"


# -- BatchNorm, token ids, a Hugging Face trunk --------------------------------------------


def test_running_statistics_need_a_policy():
    with pytest.raises(ValueError, match="trunk.wide.1.*batchnorm='eval'"):
        limit_preservation_probe(limits_factories.tapped(), digits(seed=0).X_test[:8])


def _folded(model: nn.Module) -> nn.Module:
    """The eval-mode network with its BatchNorm folded into the Linear before it."""
    folded = limits_factories.tapped_plain()
    folded.load_state_dict(
        {k: v for k, v in model.state_dict().items() if ".wide.1." not in k}, strict=True
    )
    lin, bn = model.trunk.wide[0], model.trunk.wide[1]
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    with torch.no_grad():
        folded.trunk.wide[0].weight.copy_(lin.weight * scale[:, None])
        folded.trunk.wide[0].bias.copy_((lin.bias - bn.running_mean) * scale + bn.bias)
    return folded


def test_the_eval_policy_is_the_network_with_batchnorm_folded():
    """Running statistics as constants: BatchNorm is an affine map, and its weight and bias
    move within the span of the Linear before it, so the images are those of the folded
    network (a second construction, by hand)."""
    model = limits_factories.tapped()
    X = digits(seed=0).X_test[:16]
    with_bn = limit_preservation_probe(model, X, method="dense", batchnorm="eval")
    folded = limit_preservation_probe(_folded(model), X, method="dense")
    assert (with_bn.dims, with_bn.rank_gap) == (folded.dims, folded.rank_gap)


def test_the_batch_policy_normalizes_with_the_probe_and_leaves_the_statistics():
    """Statistics of the probe batch: a bias before BatchNorm shifts every sample alike
    and is subtracted again, so its Jacobian columns vanish (they do not under eval)."""
    model = limits_factories.tapped()
    X = digits(seed=0).X_test[:16]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    names = [n for n, _ in as_multitask(model).named_parameters() if n.startswith("trunk.")]
    start = sum(p.numel() for n, p in as_multitask(model).named_parameters()
                if n.startswith("trunk.") and names.index(n) < names.index("trunk.wide.0.bias"))
    bias = slice(start, start + 12)
    for policy, vanishes in (("batch", True), ("eval", False)):
        lin = linearize(as_multitask(model), X, batchnorm=policy)
        columns = np.vstack([lin.jac[(r, "trunk")] for r in lin.readouts
                             if (r, "trunk") in lin.jac])[:, bias]  # fmt: skip
        assert bool(np.abs(columns).max() < 1e-12) is vanishes, policy
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_token_ids_are_not_cast():
    torch.manual_seed(0)
    trunk = nn.Sequential(nn.Embedding(20, 4), nn.Flatten(), nn.Linear(24, 3), nn.ReLU())
    model = MultiTaskModel(trunk, {"a": nn.Linear(3, 2), "b": nn.Linear(24, 2)}, {"b": "1"})
    ids, _ = limits_factories.tokens()
    dense = limit_preservation_probe(model, ids[:6], method="dense")
    sketch = limit_preservation_probe(model, ids[:6], method="sketch")
    assert (dense.dims, dense.rank_gap) == (sketch.dims, sketch.rank_gap)


def test_a_hugging_face_trunk_on_token_ids():
    """BERT (small config, fused attention) with a head on the first encoder layer's tuple
    output: the sketch (forward mode, Gaussian columns) agrees with jacrev."""
    pytest.importorskip("transformers")
    model = limits_factories.bert_two_tasks()
    ids, _ = limits_factories.tokens()
    dense = limit_preservation_probe(model, ids[:2], method="dense")
    sketch = limit_preservation_probe(model, ids[:2], method="sketch", columns=700)
    assert sketch.linearization["sketched_blocks"] == {"trunk": 700} and sketch.certain
    assert (dense.dims, dense.rank_gap) == (sketch.dims, sketch.rank_gap)
