"""Limit preservation for multi-task models: hand-derived known answers over Q, the exact
and autograd Jacobians against each other, the chain-rule theorem on random networks, and
the digits command."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from adapters.cli import UsageError
from adapters.cli import limits as limits_cli
from adapters.constructions.linearization import linearize, linearize_exact
from adapters.constructions.multitask import (
    block_poset,
    limit_preservation_probe,
    linearized_functor,
    parameter_pullback,
)
from adapters.constructions.multitask_model import MultiTaskModel, multitask_mlp
from adapters.nets.data import digits
from catcore import check_examples
from catcore.suites import functor_laws

X2 = torch.eye(2, dtype=torch.float64)  # probe points e1, e2


def _linear(weight: list[list[float]], bias: list[float] | None = None) -> nn.Linear:
    w = torch.tensor(weight, dtype=torch.float64)
    layer = nn.Linear(w.shape[1], w.shape[0], bias=bias is not None).double()
    with torch.no_grad():
        layer.weight.copy_(w)
        if bias is not None:
            layer.bias.copy_(torch.tensor(bias, dtype=torch.float64))
    return layer


def _toy(read: str, v1: list[float], v2: list[float], dead: bool = False) -> MultiTaskModel:
    """Trunk ``h = W1 x`` with ``W1 = diag(1, 0)`` (a dead unit), ``s = W2 h`` with the
    non-injective ``W2 = [1, 0]`` (``dead``: ``s = relu(W2 h - 10)``, always 0). Heads are
    bias-free ``Linear`` layers reading ``h`` (``read="0"``) or ``s`` (``read=""``)."""
    layers = [_linear([[1, 0], [0, 0]]), _linear([[1, 0]], [-10.0] if dead else None)]
    if dead:
        layers.append(nn.ReLU())
    return MultiTaskModel(nn.Sequential(*layers), {"a": _linear([v1]), "b": _linear([v2])},
                          {"a": read, "b": read})  # fmt: skip


# Hand derivations (docs/transfer.md, "Known answers"). Parameters: W1 (4), W2 (2), heads.
# ds = (dW2_1 + dW1_11, dW1_12) at (e1, e2): dim F(trunk) = 2 (dead case: 0).
# Heads reading s (scalar v_t): do_t = dv_t (1, 0) + v_t ds, so dim F(trunk, head) = 3,
#   dim F(all) = 2 + 1 + 1 = 4 = 3 + 3 - 2: preserved.
# Heads reading h with v_t = (p_t, q_t): do_t = (dv_t1 + p dW1_11 + q dW1_21, p dW1_12 + q dW1_22),
#   dim F(trunk, head) = 4; in F(all) the second entries of o_a, o_b are p_t dW1_12 + q_t dW1_22
#   with dW1_12 already fixed by s: one free parameter for two numbers, so dim F(all) = 5,
#   while the pullback of the images has 4 + 4 - 2 = 6: rank gap 1.
# Dead shared layer (s = 0): the pullback is the product 2 + 2 = 4; F(all) has dimension 3
#   when (p_a, q_a) and (p_b, q_b) are parallel, 4 when they are independent.
KNOWN = [
    ("heads read s", _toy("", [1], [2]), True, 0, {"shared": 2, "a": 3, "b": 3}, 4, 4),
    ("heads read h", _toy("0", [1, 1], [1, -1]), False, 1, {"shared": 2, "a": 4, "b": 4}, 5, 6),
    ("dead s, parallel heads", _toy("0", [1, 1], [2, 2], dead=True), False, 1,
     {"shared": 0, "a": 2, "b": 2}, 3, 4),
    ("dead s, independent heads", _toy("0", [1, 1], [1, -1], dead=True), True, 0,
     {"shared": 0, "a": 2, "b": 2}, 4, 4),
]  # fmt: skip


@pytest.mark.parametrize("name, model, preserved, gap, dims, image, limit", KNOWN)
@pytest.mark.parametrize("exact", [True, False])
def test_hand_derived_known_answers(name, model, preserved, gap, dims, image, limit, exact):
    r = limit_preservation_probe(model, X2, method="exact" if exact else "dense")
    assert (r.preserved, r.rank_gap, r.dims) == (preserved, gap, dims), name
    assert (r.image_of_limit, r.limit_of_images) == (image, limit)
    assert r.predicted_gap == gap
    assert r.verdict == ("preserved" if preserved else "not preserved")
    if exact:  # the comparison map is an exact rational matrix of full column rank
        assert r.preservation.comparison.matrix.rank() == image
    json.dumps(r.to_dict())


def test_exact_and_autograd_jacobians_agree():
    """Two independent differentiations: forward mode over Q and torch.func.jacrev."""
    torch.manual_seed(0)
    model = multitask_mlp(3, (4, 3), {"a": 2, "b": 3}, read="1", seed=1).double()
    with torch.no_grad():  # dyadic weights, so float64 arithmetic is exact
        for p in model.parameters():
            p.copy_(torch.randint(-4, 5, p.shape).double() / 4)
    X = torch.randint(-3, 4, (5, 3)).double() / 2
    exact, numeric = linearize_exact(model, X), linearize(model, X)
    assert set(exact.jac) == set(numeric.jac)
    for key, m in exact.jac.items():
        assert np.array_equal(np.asarray(m, dtype=float), numeric.jac[key]), key


def _functor_examples(poset) -> dict[str, list]:
    subsets = poset.elements
    chains = [(poset.arrow(S, T), poset.arrow(T, U))
              for S in subsets for T in subsets for U in subsets if U <= T <= S]  # fmt: skip
    return {"object": list(subsets), "chain2": chains}


def test_linearized_functor_is_a_functor():
    F, poset, _ = linearized_functor(linearize_exact(_toy("0", [1, 1], [1, -1]), X2))
    check_examples(functor_laws(F), _functor_examples(poset)).raise_for_failures()


def test_functor_law_check_catches_a_broken_functor():
    F, poset, _ = linearized_functor(linearize_exact(_toy("0", [1, 1], [1, -1]), X2))

    def doubled(a):  # scales every non-identity arrow by 2: composites come out 4x
        m = F.ar(a)
        return m if a.dom == a.cod else F.cod.morphism(2 * m.matrix, m.dom, m.cod)

    broken = type(F)(F.dom, F.cod, F.ob, doubled)
    report = check_examples(functor_laws(broken), _functor_examples(poset))
    assert [f.law for f in report.failures][:1] == ["functor preserves composition"]


def test_block_poset_meet_is_the_union():
    poset = block_poset(["trunk", "head:a", "head:b"])
    a, b = frozenset({"trunk", "head:a"}), frozenset({"trunk", "head:b"})
    assert poset.meet([a, b, frozenset({"trunk"})]) == a | b


def test_parameter_spaces_pullback_to_the_multitask_space():
    model = multitask_mlp(3, (2,), {"a": 2, "b": 1}, seed=0)
    L = parameter_pullback(model)
    assert L.apex.dim == sum(p.numel() for p in model.parameters()) == (3 * 2 + 2) + 6 + 3
    n = 8  # trunk parameters
    legs = {t: L.leg(t).array() for t in ("shared", "a", "b")}
    assert np.allclose(legs["a"][:n], legs["shared"]) and np.allclose(legs["b"][:n], legs["shared"])


small_ints = st.integers(-3, 3).map(float)


@settings(max_examples=8)
@given(
    st.lists(small_ints, min_size=6, max_size=6),
    st.lists(small_ints, min_size=4, max_size=4),
    st.lists(small_ints, min_size=4, max_size=4),
)
def test_heads_reading_the_shared_representation_always_preserve(trunk, va, vb):
    """The chain-rule theorem, exactly over Q: any weights, ReLU trunk, heads reading s."""
    W1 = [trunk[0:2], trunk[2:4]]
    model = MultiTaskModel(
        nn.Sequential(_linear(W1, trunk[4:6]), nn.ReLU()),
        {"a": _linear([va[:2], va[2:]]), "b": _linear([vb[:2]], vb[2:3])},
    )
    X = torch.tensor([[1.0, 2.0], [-1.0, 1.0], [2.0, -1.0]], dtype=torch.float64)
    r = limit_preservation_probe(model, X, method="exact")
    assert r.preserved and r.rank_gap == 0


@pytest.mark.parametrize("read, fails", [("", False), ("1", True)])
def test_digits_probe_numeric(read, fails):
    data = digits(seed=0)
    model = multitask_mlp(64, (6, 3), {"digit": 10, "parity": 2}, read=read, seed=0)
    r = limit_preservation_probe(model, data.X_test[:16])
    assert r.preserved is not fails
    assert r.rank_gap == r.predicted_gap
    assert (r.rank_gap > 0) is fails
    d = r.to_dict()
    assert d["max_principal_angle"] < 1e-8  # the image cone lies inside the limit
    for margin in d["rank_margins"].values():  # a clear gap at the rank cut
        assert margin["largest_dropped"] is None or margin["largest_dropped"] < 1e-10
        assert margin["smallest_kept"] > 1e-6


def test_probe_refuses_other_models():
    with pytest.raises(TypeError, match="MultiTaskModel"):
        limit_preservation_probe("a model", X2)
    with pytest.raises(ValueError, match="not a multi-task model"):
        limit_preservation_probe(nn.Linear(2, 2), X2)
    with pytest.raises(ValueError, match="bad reads"):
        MultiTaskModel(nn.Sequential(nn.Linear(2, 2)), {"a": nn.Linear(2, 1)}, {"a": "7"})


def _cli(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="catcore")
    limits_cli.register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_limits_command_json(capsys):
    args = _cli(["limits", "--json", "--probe", "16", "--hidden", "6,3", "--epochs", "1"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    variants = out["variants"]
    assert set(variants) == {"shared-trunk", "tapped"}
    assert variants["shared-trunk"]["trained"]["verdict"] == "preserved"
    tapped = variants["tapped"]["trained"]
    assert tapped["rank_gap"] == tapped["predicted_gap"]


@pytest.mark.parametrize("bad", [["--hidden", "a,b"], ["--hidden", "4,0"], ["--tol", "2"]])
def test_limits_command_refuses_bad_input(bad):
    args = _cli(["limits", *bad])
    with pytest.raises(UsageError):
        args.func(args)


@pytest.mark.parametrize("bad", [["--probe", "0"], ["--epochs", "0"]])
def test_limits_command_refuses_bad_numbers_while_parsing(bad):
    with pytest.raises(SystemExit):
        _cli(["limits", *bad])
