"""Strategies for Moore paths in R^n and their homotopies (``docs/catcore.md``, "2-cells").

Points have small integer coordinates; paths are segments, two-piece polylines and the
constant path; 2-cells are straight and bent homotopies, so that the 2-cell suite sees
homotopies that are not affine in their parameter.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from catcore.instances.paths import Homotopy, Path, Paths
from catcore.strategies.generic import twocell_gens

Strategy = st.SearchStrategy

coords = st.integers(-3, 3).map(float)
durations = st.sampled_from([0.5, 1.0, 2.0])


def points(K: Paths) -> Strategy:
    return st.lists(coords, min_size=K.dim, max_size=K.dim).map(np.array)


def paths_between(K: Paths, a: np.ndarray, b: np.ndarray) -> Strategy:
    """Straight segments and two-piece polylines ``a -> b`` (the constant path when allowed)."""
    straight = durations.map(lambda T: K.linear(a, b, T))
    bent = st.tuples(points(K), durations, durations).map(
        lambda mt: K.through([a, mt[0], b], [0.0, mt[1], mt[1] + mt[2]])
    )
    options = [straight, bent]
    if K.same_object(a, b):
        options.append(st.just(K.identity(a)))
    return st.one_of(options)


def bent(K: Paths, f: Path, g: Path, bump: np.ndarray) -> Homotopy:
    """A homotopy ``f => g`` that is not straight: it bulges by ``sin(pi t) s (1 - s) bump``."""

    def fn(s: np.ndarray, t: float) -> np.ndarray:
        line = (1 - t) * f.normalized(s) + t * g.normalized(s)
        return line + np.sin(np.pi * t) * np.outer(s * (1 - s), bump)

    return K.homotopy(f, g, fn)


def homotopies(K: Paths) -> Any:
    """``cells(f, g)``: a bent homotopy, the straight one, and ``id2(f)`` when ``f == g``."""

    def cells(f: Path, g: Path) -> Strategy:
        options = [points(K).map(lambda bump: bent(K, f, g, bump)), st.just(K.straight(f, g))]
        if K.same_arrow(f, g):
            options.append(st.just(K.id2(f)))
        return st.one_of(options)

    return cells


def paths_twocell_gens(K: Paths) -> dict[str, Strategy]:
    """Every kind of :func:`~catcore.suites.twocell_laws` for ``K``."""
    return twocell_gens(K, points(K), lambda a, b: paths_between(K, a, b), homotopies(K))
