"""Obligations about the torch instances: Param, Rep, the learning functor L, the 2-functor
check, pullback transfer and the multi-task limit probe (Def 2.1 to 7.2 on real networks).

Every ``adapters`` import happens inside a check, so a broken adapter fails its own
obligations only. Known answers come from the symbolic obligations (a linear hidden layer
is an affine function of the input, rotations preserve distances, a train-mode BatchNorm
couples the batch) and from independent numpy computations. See ``docs/theory.md``.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from proofs_check.obligations.common import report_outcome
from proofs_check.registry import Outcome, obligation


@contextmanager
def single_thread():
    """torch on one thread for the duration (tiny models; avoids oversubscribed cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _param(model, n_samples: int = 12, grid_size: int = 17, **kw):
    import torch

    from adapters.categories.param import Param

    g = torch.Generator().manual_seed(0)
    X = torch.randn(n_samples, model[0].in_features, generator=g)
    y = torch.randint(0, 2, (n_samples,), generator=g)
    return Param(model, X, y, grid_size=grid_size, **kw)


def _seeded(seed: int, size: int, scale: float = 1.0) -> np.ndarray:
    return scale * np.random.default_rng(seed).normal(size=size)


def _path_strategy(P):
    """Arrows out of a point: a constant, a segment, a polygon or a Bezier curve."""
    n = P.dim

    def arrows_from(x):
        def build(kind_seed):
            kind, seed = kind_seed
            d = [_seeded(seed + i, n, 0.5) for i in range(3)]
            if kind == 0:
                return P.identity(x)
            if kind == 1:
                return P.linear(x, x + d[0], duration=1.0 + seed % 3)
            if kind == 2:
                return P.through(np.stack([x, x + d[0], x + d[1]]), [0.0, 0.5, 2.0])
            return P.bezier(np.stack([x, x + d[0], x + d[1]]), duration=2.0)

        return st.tuples(st.integers(0, 3), st.integers(0, 10_000)).map(build)

    return arrows_from


@obligation(
    "suites.param",
    "Param (Def 2.1) on a small MLP: catcore's category laws hold for random segments, "
    "polygons and Bezier curves (Moore concatenation, constant path of duration 0), and every "
    "path equals its reparametrization s -> path(s^2) up to reparametrization while differing "
    "strictly.",
    "property",
    "def-2-1",
)
def suite_param() -> Outcome:
    from torch import nn

    from catcore.instances.reparametrization import UpToReparametrization
    from catcore.laws import Equation, Law, RuleSet, check
    from catcore.suites import category_gens, category_laws

    with single_thread():
        P = _param(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)))
        base = P.of()
        points = st.integers(0, 10_000).map(lambda s: base + _seeded(s, P.dim))
        gens = category_gens(points, arrows_from=_path_strategy(P))
        laws = check(category_laws(P), gens, P.equality, max_examples=30)
        up_to = UpToReparametrization(atol=1e-6)

        def reparam(f):
            if f.duration == 0:
                return None
            g = P.reparametrize(f, lambda s: s**2)
            got = {"equal up to reparametrization": up_to(g, f), "strictly equal": P.equality(g, f)}
            return Equation(got, {"equal up to reparametrization": True, "strictly equal": False})

        rules = RuleSet("reparametrization", (Law("path ~ path o r", "arrow", reparam),))
        rep = check(rules, {"arrow": gens["arrow"]}, max_examples=20)
    return report_outcome(laws, rep)


@obligation(
    "suites.rep.def-2-4",
    "Rep (Def 2.4) on 6 samples in R^2: catcore's category laws hold; a rigid motion "
    "(rotation by up to 2 pi and a translation) has no Def 2.4 violation at any k; scaling by "
    "(1 + t) violates exactly the pairs at distance d in [k/2, k); a composite of rigid "
    "motions has none.",
    "property",
    "def-2-4",
)
def suite_rep() -> Outcome:
    from adapters.categories.rep import Rep
    from catcore.laws import check
    from catcore.suites import category_gens, category_laws

    R = Rep(6, 2, grid_size=17)
    points = st.integers(0, 10_000).map(lambda s: _seeded(s, R.dim))
    laws = check(
        category_laws(R),
        category_gens(points, arrows_from=_path_strategy(R)),
        R.equality,
        max_examples=30,
    )
    if not laws.ok:
        return report_outcome(laws)

    def rigid(phi, angle, shift, duration=1.0):
        def fn(t):
            out = []
            for tt in t / duration:
                c, s = np.cos(angle * tt), np.sin(angle * tt)
                out.append((phi @ np.array([[c, s], [-s, c]]) + tt * shift).ravel())
            return np.array(out)

        return R._make(fn, duration)

    bad: list = []

    @given(st.integers(0, 10_000), st.floats(0.1, 6.28), st.floats(0.2, 3.0))
    def prop(seed, angle, k):
        phi = _seeded(seed, 12).reshape(6, 2)
        shift = _seeded(seed + 1, 2)
        psi = rigid(phi, angle, shift)
        later = rigid(psi.cod.reshape(6, 2), -angle / 2, -shift, duration=2.0)
        scale = R._make(lambda t: np.array([(1 + tt) * phi.ravel() for tt in t]), 1.0)
        d = np.linalg.norm(phi[:, None] - phi[None], axis=-1)
        want = {(i, j) for i in range(6) for j in range(i + 1, 6) if k / 2 <= d[i, j] < k}
        got = {(v.i, v.j) for v in R.violations(scale, k)}
        found = {
            "rigid": R.violations(psi, k, limit=1),
            "composite": R.violations(psi >> later, k, limit=1),
        }
        if found["rigid"] or found["composite"] or got != want:
            bad.append(
                {
                    "seed": seed,
                    "angle": angle,
                    "k": k,
                    "rigid": found["rigid"],
                    "composite": found["composite"],
                    "scaling": sorted(got),
                    "expected": sorted(want),
                }
            )
            raise AssertionError(bad[-1])

    try:
        prop()
    except AssertionError:
        return Outcome.fail(bad[-1], "Def 2.4 predicate disagrees with the known answer")
    return Outcome.ok(laws.summary().replace("\n", ";") + "; Def 2.4 known answers hold")


@obligation(
    "functor.learning.known-answers",
    "The learning functor L (Thm 2.6) on real networks: for x -> W2 (W1 x + b1) + b2, "
    "L(gamma)(s) equals X W1(gamma(s))^T + b1(gamma(s)) computed with numpy; verify_functor "
    "finds an eval-mode ReLU MLP functorial (defects <= tolerance) and a train-mode BatchNorm "
    "network not functorial, naming the BatchNorm module.",
    "numeric",
    "thm-2-6",
)
def learning_functor() -> Outcome:
    from torch import nn

    from adapters.categories.learning import LearningFunctor, verify_functor

    with single_thread():
        P = _param(nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2)))
        L = LearningFunctor(P)
        a = P.of()
        b = a + _seeded(1, P.dim)
        gamma = P.linear(a, b) >> P.bezier(np.stack([b, a, a + _seeded(2, P.dim)]))
        s = np.linspace(0, 1, 9)
        th = gamma.normalized(s)
        X = P.engine.X.double().numpy()
        want = np.einsum("nj,pij->pni", X, th[:, :9].reshape(-1, 3, 3)) + th[:, None, 9:12]
        got = L(gamma).normalized(s).reshape(want.shape)
        err = float(np.max(np.abs(got - want)))
        if err > 1e-10:
            return Outcome.fail({"max |L(gamma) - numpy|": err})
        mlp = _param(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).eval())
        La = LearningFunctor(mlp)
        a = mlp.of()
        good = verify_functor(
            La, [mlp.linear(a, a + _seeded(3, mlp.dim)), mlp.linear(a + _seeded(3, mlp.dim), a)]
        )
        bn = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).train()
        Pb = _param(bn, buffers="include")
        ab = Pb.of()
        broken = verify_functor(LearningFunctor(Pb), [Pb.linear(ab, ab + _seeded(4, Pb.dim, 0.1))])
        blamed = sorted({c.module for c in broken.culprits if c.breaks})
        if not good.functorial or broken.functorial or blamed != ["1"]:
            return Outcome.fail({"mlp": good.to_json(), "batchnorm": broken.to_json()})
    return Outcome.ok(
        f"L(gamma) = numpy to {err:.1e}; MLP defects {good.identity_defect:.1e}, "
        f"{good.composition_defect:.1e}; BatchNorm blamed: {blamed}"
    )


@obligation(
    "thm-5-3.affine-relation-networks",
    "adapters.categories.twofunctor.affine_relation agrees with the symbolic answers: for a "
    "network whose "
    "hidden layer is linear and square (W1 x + b1) the representations along any two paths "
    "with the same ends are affinely related (residual < 1e-8); for relu(W1 x + b1) between "
    "W1 and -W1 they are not (residual > 0.5 somewhere).",
    "numeric",
    "thm-5-3",
)
def affine_relation_networks() -> Outcome:
    from torch import nn

    from adapters.categories.learning import LearningFunctor
    from adapters.categories.twofunctor import affine_relation

    with single_thread():
        P = _param(nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2)), n_samples=20)
        L = LearningFunctor(P)
        a = P.of()
        b = a + _seeded(5, P.dim)
        lin = affine_relation(L, P.linear(a, b), P.bezier(np.stack([a, a + _seeded(6, P.dim), b])))
        Pr = _param(nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2)), n_samples=20)
        Lr = LearningFunctor(Pr)
        ar = Pr.of()
        br = ar.copy()
        br[:12] = -ar[:12]  # W1, b1 -> -W1, -b1
        relu = affine_relation(
            Lr, Pr.linear(ar, br), Pr.bezier(np.stack([ar, ar + _seeded(7, Pr.dim), br]))
        )
    if lin.max_residual > 1e-8 or relu.max_residual < 0.5:
        return Outcome.fail(
            {"linear residual": lin.max_residual, "relu residual": relu.max_residual}
        )
    return Outcome.ok(
        f"linear residual {lin.max_residual:.1e}; relu residual {relu.max_residual:.2f}"
    )


@obligation(
    "transfer.pullback-squares",
    "Def 7.2 as catcore pullbacks: the representation pullback D_T x_{D_S} Graph(phi_S) has one "
    "element per target sample and reads off phi_S(f(x)) (numpy/torch directly); the FinSet "
    "fibre holds exactly the candidate models whose frozen entries are bit-identical to the "
    "source's (brute force); the tangent fibre has dimension n - n_frozen.",
    "numeric",
    "def-7-1",
)
def transfer_squares() -> Outcome:
    import torch
    from torch import nn

    from adapters.constructions.dom import Domain, random_permutation, unpermute
    from adapters.constructions.transfer import (
        fibre,
        fibre_members,
        representation_pullback,
        tangent_fibre,
    )
    from adapters.nets.params import ParamSpace

    with single_thread():
        g = torch.Generator().manual_seed(0)
        X_S = torch.randn(6, 5, generator=g)
        perm = random_permutation(5, seed=1)
        X_T = X_S[:, perm]
        f = unpermute(Domain("target", (5,), X_T), Domain("source", (5,), X_S), perm)
        torch.manual_seed(0)
        encoder = nn.Sequential(nn.Linear(5, 3), nn.ReLU())
        gp = representation_pullback(f, encoder, X_T)
        rep = gp.representation()
        with torch.no_grad():
            direct = encoder(X_S).double().numpy()  # f undoes the permutation: phi_S(f(x_t))
        err = max(float(np.max(np.abs(rep[t] - direct[t]))) for t in range(len(X_T)))
        if len(gp.pullback.apex) != len(X_T) or sorted(rep) != list(range(len(X_T))) or err > 0:
            return Outcome.fail({"apex": len(gp.pullback.apex), "keys": sorted(rep), "err": err})
        source = {"w": torch.ones(2), "head": torch.zeros(1)}
        candidates = {
            "same": {"w": torch.ones(2), "head": torch.ones(1)},
            "moved": {"w": torch.tensor([1.0, 1.0 + 2**-20]), "head": torch.zeros(1)},
            "copy": {"w": torch.ones(2).clone(), "head": torch.zeros(1)},
        }
        members = sorted(fibre_members(fibre(candidates, ["w"], source)))
        brute = sorted(k for k, sd in candidates.items() if torch.equal(sd["w"], source["w"]))
        space = ParamSpace(nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2)))
        tf = tangent_fibre(space, lambda name: name.startswith("0."))
        want_dim = space.n - (4 * 3 + 3)
    if members != brute or tf.apex.dim != want_dim:
        return Outcome.fail(
            {"fibre": members, "brute force": brute, "tangent": tf.apex.dim, "expected": want_dim}
        )
    return Outcome.ok(f"representation pullback exact; fibre {members}; tangent dim {want_dim}")


@obligation(
    "multitask.probe-matches-closed-form",
    "Def 4.1 probe: for two-task MLPs (heads on the trunk output, and heads tapping a hidden "
    "layer) catcore's limit-preservation rank gap equals the closed-form gap computed without "
    "catcore, exactly over Q (small dyadic weights) and in float64 (initial weights), and "
    "'preserved' holds iff the gap is 0.",
    "numeric",
    "def-4-1",
)
def multitask_probe() -> Outcome:
    import torch

    from adapters.constructions.multitask import limit_preservation_probe
    from adapters.constructions.multitask_model import multitask_mlp

    rows = []
    with single_thread():
        X = torch.randint(-2, 3, (5, 4), generator=torch.Generator().manual_seed(0)).float()
        for read in ("", "1"):
            for exact in (False, True):
                m = multitask_mlp(4, (3, 2), {"a": 2, "b": 2}, read=read, seed=0)
                if exact:  # dyadic weights keep exact rational arithmetic small
                    with torch.no_grad():
                        for p in m.parameters():
                            p.copy_(torch.round(p * 4) / 2)
                r = limit_preservation_probe(m, X, method="exact" if exact else "dense")
                rows.append((read or "trunk", exact, r.rank_gap, r.predicted_gap, r.preserved))
                if r.rank_gap != r.predicted_gap or r.preserved != (r.rank_gap == 0):
                    return Outcome.fail(r.to_dict(), f"variant {read!r}, exact={exact}")
    return Outcome.ok(f"(read, exact, gap, closed form, preserved): {rows}")
