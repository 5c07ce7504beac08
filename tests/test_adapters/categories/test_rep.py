"""Rep (Def 2.4): the category laws, and the k-structure-preservation predicate on cases
whose violations are derived by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.categories.rep import Rep, Violation
from catcore.errors import MorphismError
from catcore.suites import check_category

# three samples on a line: x0 and x1 are 0.5 apart, x2 is far away
PHI1 = np.array([[0.0, 0.0], [0.5, 0.0], [5.0, 0.0]])


def moving_x1(R: Rep, to: float):
    """The straight path that moves sample 1 from (0.5, 0) to (to, 0) over [0, 1]."""
    phi2 = PHI1.copy()
    phi2[1, 0] = to
    return R.linear(R.representation(PHI1), R.representation(phi2))


def test_known_violation():
    """x1 moves 0.5 -> 2: |x1(t) - x0| = 0.5 + 1.5 t reaches k = 1 at t = 1/3; from then
    on the pair (0, 1) violates. The pair (1, 2) starts 4.5 apart (not close), so it never
    counts although it comes within 3; (0, 2) is never close."""
    R = Rep(3, 2, grid_size=33)
    psi = moving_x1(R, 2.0)
    found = R.violations(psi, k=1.0)
    grid = np.linspace(0, 1, 33)
    want = [Violation(0, 1, float(t), 0.5 + 1.5 * t, 0.5) for t in grid if 0.5 + 1.5 * t >= 1.0]
    assert [(v.i, v.j, v.t) for v in found] == [(w.i, w.j, w.t) for w in want]
    assert np.allclose([v.distance for v in found], [w.distance for w in want])
    assert all(v.before == 0.5 for v in found)
    assert found[0].t == pytest.approx(11 / 32)  # first grid time >= 1/3
    assert not R.preserves(psi, k=1.0)
    assert len(R.violations(psi, k=1.0, limit=3)) == 3


def test_known_preservation_and_scale():
    R = Rep(3, 2)
    # moving x1 towards x0 keeps the close pair close
    assert R.preserves(moving_x1(R, 0.1), k=1.0)
    # at a scale where nothing is close, nothing can be violated
    assert R.violations(moving_x1(R, 2.0), k=0.4) == []
    # at a larger scale (1, 2) are close at the start: x1 -> 2 brings them closer (ok),
    # x1 -> -5 takes both pairs with x1 beyond k = 5
    found = R.violations(moving_x1(R, -5.0), k=5.0, times=[1.0])
    assert {(v.i, v.j) for v in found} == {(0, 1), (1, 2)}
    # the boundary is strict: distance exactly k is a violation
    psi = moving_x1(R, 1.5)  # ends exactly 1.5 from x0
    assert [(v.i, v.j, v.t) for v in R.violations(psi, k=1.5, times=[0.0, 1.0])] == [(0, 1, 1.0)]


contraction = st.floats(0.0, 0.9)


@given(contraction, contraction, st.floats(0.1, 3.0))
def test_preserving_paths_are_closed_under_composition(c1, c2, k):
    """Shrinking all representations towards the origin preserves structure at every k;
    the composite of two such paths does too (the wide subcategory of Def 2.4)."""
    R = Rep(3, 2, grid_size=9)
    a = R.representation(PHI1)
    f = R.linear(a, (1 - c1) * a)
    g = R.linear((1 - c1) * a, (1 - c2) * (1 - c1) * a)
    assert R.preserves(f, k) and R.preserves(g, k)
    assert R.preserves(f >> g, k)
    # and a violating path stays violating after any identity is added
    bad = moving_x1(R, 4.0)
    assert not R.preserves(R.identity(bad.dom) >> bad, 1.0)


def test_rep_category_laws():
    R = Rep(3, 2, grid_size=9)
    pool = [R.representation(PHI1 * s) for s in (0.5, 1.0, 2.0)]

    def hom(a, b):
        mids = st.sampled_from(pool)
        return st.one_of(
            st.just(R.linear(a, b)),
            mids.map(lambda m: R.through(np.stack([a, m, b]))),
        )

    check_category(R, st.sampled_from(pool), hom=hom).raise_for_failures()


def test_rep_equality_is_the_papers_tolerance():
    R = Rep(3, 2)
    a = R.representation(PHI1)
    assert R.equality(R.identity(a), R.identity(a + 5e-6))
    assert not R.equality(R.identity(a), R.identity(a + 5e-5))


def test_bad_input():
    R = Rep(3, 2)
    with pytest.raises(MorphismError, match=r"shape \(2, 2\), expected \(3, 2\)"):
        R.representation(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="k must be positive"):
        R.violations(R.identity(R.representation(PHI1)), k=0.0)
    with pytest.raises(ValueError, match="normalized"):
        R.violations(R.identity(R.representation(PHI1)), k=1.0, times=[2.0])
    with pytest.raises(ValueError, match="n_samples >= 1"):
        Rep(0, 2)
    assert R.matrix(R.representation(PHI1)).tolist() == PHI1.tolist()
    reps = np.stack([PHI1, 2 * PHI1])
    assert np.allclose(R.matrix(R.path_of(reps).cod), 2 * PHI1)


def test_the_structure_profile_of_a_scaling_has_known_scales():
    """psi(t) = (1 + t) phi: pair distances grow from d to 2 d, so the pair violates at
    exactly the scales (d, 2 d]: k_star = 2 max d, and at scale k the violating pairs
    are those with k / 2 <= d < k (counted here by brute force on the distances)."""
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(7, 3))
    R = Rep(7, 3)
    psi = R.linear(R.representation(phi), R.representation(2 * phi))
    d = np.array([np.linalg.norm(phi[i] - phi[j]) for i in range(7) for j in range(i + 1, 7)])
    profile = R.structure(psi, k=float(np.median(d)))
    assert profile["k_star"] == pytest.approx(2 * d.max())
    k = float(np.median(d))
    assert profile["violating_pairs"] == int(((d >= k / 2) & (d < k)).sum())
    assert profile["jump"] == pytest.approx(1.0)  # constant speed


def test_a_rigid_motion_holds_at_every_scale_and_a_jump_is_seen():
    rng = np.random.default_rng(1)
    phi = rng.normal(size=(5, 2))
    R = Rep(5, 2)
    c, s = np.cos(1.0), np.sin(1.0)
    turned = phi @ np.array([[c, -s], [s, c]]) + 3.0
    rigid = R.structure(R.linear(R.representation(phi), R.representation(turned)))
    # |((1 - t) I + t Q)(x_i - x_j)| <= |x_i - x_j| for a rotation Q: no pair moves apart
    assert rigid["violating_pairs"] == 0 and rigid["k_star"] is None
    knots = np.stack([phi + 0.01 * t for t in range(10)] + [phi + 5.0])
    times = np.arange(11) / 10
    jumpy = R.structure(R.through(knots.reshape(11, -1), times), times=times)
    assert jumpy["jump"] > 100
