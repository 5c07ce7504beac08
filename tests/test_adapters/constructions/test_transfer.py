"""Pullback transfer: the category Dom, the pullback squares and their universal property,
frozen parts staying bit-identical, and transfer along a known domain morphism."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from torch import nn

from adapters.constructions.dom import (
    Dom,
    Domain,
    DomainMap,
    DomCategory,
    Permute,
    graph,
    learned_linear,
    random_permutation,
    representation_domain,
    unpermute,
)
from adapters.constructions.transfer import (
    PullbackModel,
    fibre,
    fibre_members,
    pullback_transfer,
    representation_pullback,
    split_encoder,
    tangent_fibre,
    trained_fraction,
)
from adapters.nets.data import digits
from adapters.nets.metrics import accuracy
from adapters.nets.models import mlp
from adapters.nets.params import ParamSpace
from adapters.nets.training import train
from adapters.studies.transfer_study import plot_transfer_study, run_transfer_study
from catcore import Cone, LimitError, NotAConeError, check_examples, pullback
from catcore.instances import FinSet, VectR
from catcore.suites import category_laws, limit_laws

torch.manual_seed(0)
PROBE = torch.randn(6, 4)


def fit(model, X, y, **kw):
    """Adam on the parameters that require grad (the transfer study's settings)."""
    return train(model, (X, y), optimizer="adam", **kw)


def _domains() -> tuple[Domain, Domain, Domain]:
    return Domain("A", (4,), PROBE), Domain("B", (4,), PROBE * 2), Domain("C", (3,), PROBE[:, :3])


def _maps() -> list[DomainMap]:
    A, B, C = _domains()
    torch.manual_seed(1)
    return [
        Dom.morphism(A, B, nn.Linear(4, 4)),
        Dom.morphism(B, B, Permute([3, 1, 0, 2])),
        Dom.morphism(B, C, nn.Linear(4, 3)),
    ]


# -- Dom -------------------------------------------------------------------------------------


def test_dom_satisfies_category_laws():
    f, g, h = _maps()
    A, B, C = _domains()
    examples = {"arrow": [f, g, h, Dom.identity(A)], "chain3": [(f, g, h), (f, g, g)]}
    check_examples(category_laws(Dom), examples, Dom.equality).raise_for_failures()


def test_broken_dom_composition_is_caught():
    class Forgetful(DomCategory):  # "f ; g" keeps only f's map: breaks left identity
        def _own(self, m: DomainMap) -> DomainMap:
            m.category = self
            return m

        def identity(self, obj):
            return self._own(super().identity(obj))

        def _compose(self, f, g):
            return self._own(DomainMap(f.dom, g.cod, f.fn))

    broken = Forgetful()
    A, B, _ = _domains()
    f = broken._own(DomainMap(A, B, nn.Linear(4, 4)))
    report = check_examples(category_laws(broken), {"arrow": [f], "chain3": []}, Dom.equality)
    assert not report.ok
    assert [fl.law for fl in report.failures] == ["left identity"]


def test_domain_map_checks_its_codomain():
    A, _, C = _domains()
    with pytest.raises(ValueError, match="maps"):
        DomainMap(A, C, nn.Identity())
    with pytest.raises(ValueError, match="not a permutation"):
        Permute([0, 0, 1])


def test_unpermute_inverts_the_permutation_exactly():
    perm = random_permutation(64, seed=3)
    x = torch.randn(5, 64)
    D_S, D_P = Domain("S", (64,), x), Domain("P", (64,), x[:, perm])
    f = unpermute(D_P, D_S, perm)
    assert torch.equal(f(x[:, perm]), x)
    lin = learned_linear(D_P, D_S)
    assert lin.learned and torch.allclose(lin(x), x)


# -- the parameter fibre in FinSet -------------------------------------------------------------


def _state(enc: list[float], head: list[float]) -> dict[str, torch.Tensor]:
    return {"encoder.w": torch.tensor(enc), "head.w": torch.tensor(head)}


NEXT_AFTER_2 = float(torch.nextafter(torch.tensor(2.0), torch.tensor(3.0)))  # one float32 ulp


def test_fibre_holds_exactly_the_models_with_the_source_encoder():
    source = _state([1.0, 2.0], [0.0])
    cands = {
        "a": _state([1.0, 2.0], [0.0]),
        "b": _state([1.0, 2.0], [5.0]),
        "c": _state([1.0, NEXT_AFTER_2], [0.0]),  # one ulp away: not in the fibre
        "d": _state([1.0, 2.0], [-1.0]),
    }
    pb = fibre(cands, ["encoder.w"], source)
    expected = [n for n, sd in cands.items() if torch.equal(sd["encoder.w"], source["encoder.w"])]
    assert sorted(fibre_members(pb)) == sorted(expected) == ["a", "b", "d"]


def test_fibre_universal_property_and_refusal_of_non_cones():
    source = _state([1.0, 2.0], [0.0])
    cands = {"a": _state([1.0, 2.0], [0.0]), "b": _state([1.0, 2.0], [5.0]),
             "c": _state([3.0, 2.0], [0.0])}  # fmt: skip
    pb = fibre(cands, ["encoder.w"], source)
    p1, p2 = pb.legs
    Q = ["q1", "q2"]
    q1 = FinSet.morphism(Q, p1.cod, {"q1": "a", "q2": "b"})
    q2 = FinSet.morphism(Q, p2.cod, {"q1": "source", "q2": "source"})
    u = pb.universal(q1, q2)
    assert (u >> p1) == q1 and (u >> p2) == q2
    # uniqueness: among all functions Q -> apex, exactly the mediating one commutes
    apex = list(pb.apex)
    candidates = [FinSet.morphism(Q, pb.apex, dict(zip(Q, images)))
                  for images in itertools.product(apex, repeat=len(Q))]  # fmt: skip
    cone = Cone(q1.dom, {"A": q1, "B": q2, "C": q1 >> pb.f})
    diagram = pb.limit.diagram
    check_examples(
        limit_laws(FinSet),
        {
            "diagram": [diagram],
            "cone": [(diagram, cone)],
            "candidates": [(diagram, cone, candidates)],
        },
    ).raise_for_failures()
    commuting = [m for m in candidates if (m >> p1) == q1 and (m >> p2) == q2]
    assert commuting == [u]
    bad = FinSet.morphism(Q, p1.cod, {"q1": "a", "q2": "c"})  # c's encoder differs
    with pytest.raises(NotAConeError):
        pb.universal(bad, q2)


# -- the tangent fibre in Vect_R ---------------------------------------------------------------


def test_tangent_fibre_is_the_space_of_trainable_directions():
    torch.manual_seed(0)
    model = PullbackModel(nn.Identity(), nn.Linear(3, 2), nn.Linear(2, 2))
    space = ParamSpace(model)
    pb = tangent_fibre(space, lambda name: name.startswith("encoder."))
    n_head = sum(p.numel() for p in model.head.parameters())
    assert pb.apex.dim == n_head == 6
    leg = pb.legs[0].array()  # apex -> R^n
    head_rows = [i for i, name in enumerate(_coordinate_names(space)) if name.startswith("head.")]
    frozen_rows = [i for i in range(space.n) if i not in head_rows]
    assert np.allclose(leg[frozen_rows], 0.0, atol=1e-12)
    assert np.linalg.matrix_rank(leg[head_rows]) == n_head


def _coordinate_names(space: ParamSpace) -> list[str]:
    return [name for name, k in zip(space.names, space.numels) for _ in range(k)]


def test_tangent_fibre_universal_property():
    model = PullbackModel(nn.Identity(), nn.Linear(3, 2), nn.Linear(2, 2))
    space = ParamSpace(model)
    pb = tangent_fibre(space, lambda name: name.startswith("encoder."))
    names = _coordinate_names(space)
    head_cols = [i for i, nm in enumerate(names) if nm.startswith("head.")]
    inclusion = np.zeros((space.n, 2))
    inclusion[head_cols[0], 0] = inclusion[head_cols[3], 1] = 1.0  # two head directions
    q1 = VectR.morphism(inclusion)
    q2 = VectR.morphism(np.zeros((0, 2)), cod=pb.legs[1].cod)
    u = pb.universal(q1, q2)
    assert VectR.equality(u >> pb.legs[0], q1)
    rng = np.random.default_rng(0)
    cone = Cone(q1.dom, {"A": q1, "B": q2, "C": q1 >> pb.f})
    candidates = [VectR.morphism(rng.normal(size=(pb.apex.dim, 2))) for _ in range(3)] + [u]
    d = pb.limit.diagram
    check_examples(
        limit_laws(VectR),
        {"diagram": [d], "cone": [(d, cone)], "candidates": [(d, cone, candidates)]},
        VectR.equality,
    ).raise_for_failures()
    moved = inclusion.copy()
    moved[0, 0] = 1.0  # also moves an encoder coordinate: not a cone over the cospan
    with pytest.raises(NotAConeError):
        pb.universal(VectR.morphism(moved), q2)


# -- Def 7.2: the graph of phi_T as a pullback ---------------------------------------------------


def test_representation_pullback_is_phi_s_after_f():
    torch.manual_seed(0)
    perm = random_permutation(4, seed=1)
    X = torch.randn(7, 4)
    D_S, D_P = Domain("S", (4,), X), Domain("P", (4,), X[:, perm])
    f = unpermute(D_P, D_S, perm)
    encoder = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    gp = representation_pullback(f, encoder, X[:, perm], X_S=torch.randn(3, 4))
    p_T, p_G = gp.pullback.legs
    assert FinSet.is_iso(p_T)  # every target sample appears exactly once
    reps = gp.representation()
    with torch.no_grad():
        direct = encoder(X)  # phi_S on the unpermuted inputs, computed independently
    for t in range(7):
        np.testing.assert_allclose(reps[t], direct[t].double().numpy(), rtol=1e-6, atol=1e-7)
    # universal property: (D_T, id, t -> graph point of f(x_t)) factors; a wrong point does not
    graph_point = {t: p_G(e) for e in gp.pullback.apex for t in [e[0]]}
    q1 = FinSet.identity(p_T.cod)
    q2 = FinSet.morphism(p_T.cod, p_G.cod, graph_point)
    u = gp.pullback.universal(q1, q2)
    assert (u >> p_T) == q1 and (u >> p_G) == q2
    swapped = dict(graph_point)
    swapped[0], swapped[1] = graph_point[1], graph_point[0]
    with pytest.raises(NotAConeError):
        gp.pullback.universal(q1, FinSet.morphism(p_T.cod, p_G.cod, swapped))


# -- Def 7.2 in Dom: the square pullback transfer is built from -------------------------------


def _square():
    torch.manual_seed(4)
    encoder = nn.Sequential(nn.Linear(4, 5), nn.Tanh())
    D_S, D_T = Domain("source", (4,), PROBE), Domain("target", (4,), PROBE.flip(1))
    f = unpermute(D_T, D_S, [3, 2, 1, 0])
    G = graph(DomainMap(D_S, representation_domain(encoder, D_S), encoder))
    return encoder, f, G, pullback(f, G.projection)


def test_dom_pullback_along_a_graph_projection_has_the_universal_property():
    """The apex is D_T (up to the identity map of inputs) and the leg into the graph is
    t -> (f(t), phi(f(t))), computed here by hand; independent cones factor through it
    uniquely; a map that leaves the graph is not an arrow into it."""
    encoder, f, G, pb = _square()
    p1, p2 = pb.legs
    X = f.dom.probe
    with torch.no_grad():
        fx = X.flip(1)  # the permutation [3, 2, 1, 0] undone by hand
        by_hand = torch.cat([fx, encoder(fx)], dim=1)
        assert torch.allclose(p2(X), by_hand) and torch.equal(p1(X), X)
    Q = Domain("Q", (4,), PROBE * 0.5 + 1)
    q1 = DomainMap(Q, f.dom, nn.Linear(4, 4))
    q2 = DomainMap(Q, G.domain, nn.Sequential(q1.fn, f.fn, G.section.fn))
    cone = Cone(Q, {"A": q1, "B": q2, "C": q1 >> f})
    wrong = DomainMap(Q, pb.apex, nn.Linear(4, 4))
    candidates = [wrong, pb.universal(q1, q2)]
    d = pb.limit.diagram
    check_examples(
        limit_laws(Dom),
        {"diagram": [d], "cone": [(d, cone)], "candidates": [(d, cone, candidates)]},
    ).raise_for_failures()
    off = DomainMap(Q, G.domain, nn.Sequential(nn.Linear(4, 4), G.section.fn, nn.Tanh()))
    assert "leaves" in Dom.arrow_problem(off)
    with pytest.raises(NotAConeError):
        pb.universal(q1, off)
    with pytest.raises(LimitError, match="graph projection"):
        pullback(f, Dom.identity(f.cod))


def test_the_transfer_model_is_built_from_the_pullback_square(source_and_data):
    """``pullback_transfer`` computes the Dom pullback; the model's frozen encoder and its
    f are the modules of the leg into Graph(phi_S), and its representation is that leg
    followed by the graph's value map, phi_S . f."""
    net, src = source_and_data
    perm = random_permutation(64, seed=2)
    D_S = Domain("0-4", (64,), src.X_test[:16])
    D_P = Domain("0-4 permuted", (64,), src.X_test[:16][:, perm])
    model = pullback_transfer(net, unpermute(D_P, D_S, perm), 5, seed=1)
    f_module, section = model.square.legs[1].fn
    assert model.f is f_module and model.encoder is section.phi
    assert set(model.frozen) == {"f", "encoder"}
    rep = model.square.legs[1] >> graph(DomainMap(D_S, representation_domain(model.encoder, D_S),
                                                  model.encoder)).value  # fmt: skip
    X = src.X_test[:, perm]
    with torch.no_grad():
        assert torch.allclose(model.representation(X), rep(X))
        assert torch.allclose(model.representation(X), split_encoder(net)[0](src.X_test))


# -- freezing ---------------------------------------------------------------------------------


def _bn_pullback(learn_f: bool) -> PullbackModel:
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU())
    f = nn.Linear(8, 8) if learn_f else Permute(list(range(8))[::-1])
    return PullbackModel(f, encoder, nn.Linear(16, 3), learn_f=learn_f)


def _bytes(model: nn.Module) -> dict[str, bytes]:
    return {k: v.detach().numpy().tobytes() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("learn_f", [False, True])
def test_frozen_parts_stay_bit_identical_through_training(learn_f):
    model = _bn_pullback(learn_f)
    X, y = torch.randn(64, 8) * 3 + 1, torch.randint(0, 3, (64,))
    before = _bytes(model)
    fit(model, X, y, epochs=3, lr=1e-2, batch_size=16, seed=0)
    after = _bytes(model)
    frozen = model.frozen_keys()
    assert any("running_mean" in k for k in frozen)  # the BatchNorm buffers are covered
    assert all(before[k] == after[k] for k in frozen)
    assert before["head.weight"] != after["head.weight"]
    assert (before["f.weight"] != after["f.weight"]) if learn_f else ("f.index" in frozen)
    expected = (16 * 3 + 3 + (8 * 8 + 8 if learn_f else 0)) / sum(
        p.numel() for p in model.parameters()
    )
    assert trained_fraction(model) == pytest.approx(expected)


def test_requires_grad_alone_lets_batchnorm_statistics_drift():
    """The check above can fail: freezing without eval() changes the BatchNorm buffers."""
    model = _bn_pullback(False)
    naive = nn.Sequential(model.f, model.encoder, model.head)
    model.encoder.requires_grad_(False)
    before = _bytes(model)
    naive.train()
    opt = torch.optim.Adam(model.head.parameters(), lr=1e-2)
    X, y = torch.randn(64, 8) * 3 + 1, torch.randint(0, 3, (64,))
    loss = nn.functional.cross_entropy(naive(X), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    after = _bytes(model)
    assert before["encoder.1.running_mean"] != after["encoder.1.running_mean"]


def test_split_encoder_refuses_other_models():
    with pytest.raises(ValueError, match="ending in nn.Linear"):
        split_encoder(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))
    enc, head = split_encoder(mlp(4, (3,), 2))
    assert isinstance(head, nn.Linear) and len(enc) == 2


# -- transfer along a known domain morphism ------------------------------------------------------


EPOCHS = 8


@pytest.fixture(scope="module")
def source_and_data():
    src = digits(classes=range(5), standardize=False)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = mlp(64, (32, 16), 5)
    fit(net, src.X_train, src.y_train, epochs=EPOCHS, lr=1e-2, seed=0)
    return net, src


def test_known_domain_morphism_transfer_reaches_high_accuracy(source_and_data):
    net, src = source_and_data
    perm = random_permutation(64, seed=0)
    D_S = Domain("0-4", (64,), src.X_test[:16])
    D_P = Domain("0-4 permuted", (64,), src.X_test[:16][:, perm])
    known, wrong = unpermute(D_P, D_S, perm), Dom.morphism(D_P, D_S, nn.Identity())
    results = {}
    for name, f in (("known", known), ("wrong", wrong)):
        model = pullback_transfer(net, f, 5, seed=1)
        fit(model, src.X_train[:, perm], src.y_train, epochs=EPOCHS, lr=1e-2, seed=1)
        results[name] = (accuracy(model, src.X_test[:, perm], src.y_test), model)
    # reference: the same head trained on the unpermuted data through f = id
    ref = pullback_transfer(net, Dom.morphism(D_S, D_S, nn.Identity()), 5, seed=1)
    fit(ref, src.X_train, src.y_train, epochs=EPOCHS, lr=1e-2, seed=1)
    assert results["known"][0] >= 0.95
    assert results["known"][0] >= results["wrong"][0] + 0.05
    with torch.no_grad():  # f . perm = id exactly, so the two runs are the same computation
        assert torch.equal(results["known"][1](src.X_test[:, perm]), ref(src.X_test))


def test_transfer_study_smoke(tmp_path):
    result = run_transfer_study(encoders={"tiny": (16,)}, seeds=(0,), epochs=2, source_epochs=2,
                                repeats=2)  # fmt: skip
    json.dumps(result)
    enc = result["encoders"]["tiny"]
    n_head, n_total = 16 * 5 + 5, 64 * 16 + 16 + 16 * 5 + 5
    for target in enc["targets"].values():
        conds = target["conditions"]
        assert conds["finetune"]["fraction_trained"] == 1.0
        assert conds["pullback"]["fraction_trained"] == pytest.approx(n_head / n_total)
        assert target["fibre"]["as_expected"]
        assert all(c["timings"] == 2 for c in conds.values())
        # cached and uncached pullback train the same head on the same features
        assert conds["pullback_cached"]["accuracy"] == pytest.approx(conds["pullback"]["accuracy"])
    perm = enc["targets"]["digits0-4-permuted"]["conditions"]
    assert perm["pullback_learned_f"]["fraction_trained"] == pytest.approx(
        (n_head + 64 * 64 + 64) / (n_total + 64 * 64 + 64)
    )
    png = plot_transfer_study(result, tmp_path / "transfer.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
