"""The linear fit of the persistence study: ``gap = a * pers + b`` by least squares, with
percentile-bootstrap intervals and a permutation-test p-value (``docs/persistence.md``,
"The study")."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fit:
    """Least-squares fit ``y = a x + b`` with 95% percentile-bootstrap intervals and the
    permutation-test p-value of ``R^2`` (``degenerate`` explains a fit that is undefined)."""

    a: float
    b: float
    r2: float
    n: int
    a_ci: tuple[float, float]
    b_ci: tuple[float, float]
    r2_ci: tuple[float, float]
    p_value: float
    degenerate: str | None = None


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    xc, yc = x - x.mean(), y - y.mean()
    sxx = float(xc @ xc)
    a = float(xc @ yc) / sxx
    b = float(y.mean() - a * x.mean())
    syy = float(yc @ yc)
    r2 = 1.0 - float(((yc - a * xc) ** 2).sum()) / syy if syy > 0 else float("nan")
    return a, b, r2


def fit_linear(
    x: Sequence[float], y: Sequence[float], *, n_boot: int = 2000, n_perm: int = 2000, seed: int = 0
) -> Fit:
    """Fit ``y = a x + b`` by ordinary least squares.

    ``R^2 = 1 - SS_res / SS_tot``. Confidence intervals: 2.5% and 97.5% percentiles over
    ``n_boot`` resamples of the pairs with replacement (resamples with constant ``x`` are
    skipped). p-value: ``(1 + #{R^2 of y permuted >= R^2}) / (1 + n_perm)``, testing "no
    linear relation". With fewer than 3 points or constant ``x`` the fit is degenerate:
    ``a``, ``R^2`` and ``p`` are NaN and ``degenerate`` says why.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {x.size} and {y.size}")
    nan2 = (math.nan, math.nan)
    why = None
    if x.size < 3:
        why = f"only {x.size} networks"
    elif not np.all(np.isfinite(x)) or not np.all(np.isfinite(y)):
        raise ValueError("x and y must be finite")
    elif np.ptp(x) == 0:
        why = f"all {x.size} persistence values equal {x[0]:.6g}: nothing to regress on"
    if why is not None:
        b = float(y.mean()) if y.size else math.nan
        return Fit(math.nan, b, math.nan, x.size, nan2, nan2, nan2, math.nan, why)
    a, b, r2 = _ols(x, y)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, x.size, x.size)
        if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0:
            boots.append(_ols(x[i], y[i]))
    B = np.array(boots).reshape(-1, 3)

    def ci(col: int) -> tuple[float, float]:
        if not B.size:
            return nan2
        lo, hi = np.percentile(B[:, col], [2.5, 97.5])
        return float(lo), float(hi)

    if np.isnan(r2):
        p = math.nan
    else:
        perm = [_ols(x, rng.permutation(y))[2] for _ in range(n_perm)]
        p = (1 + int(np.sum(np.asarray(perm) >= r2 - 1e-12))) / (1 + n_perm)
    return Fit(a, b, r2, x.size, ci(0), ci(1), ci(2), p)
