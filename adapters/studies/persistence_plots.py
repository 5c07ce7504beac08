"""Figures for landscape persistence: diagrams, the study's scatter plot, R^2 against radius.

Every function builds a :class:`matplotlib.figure.Figure` on the Agg canvas (no pyplot
state, no display needed), saves it as PNG when ``path`` is given, and returns it. See
``docs/persistence.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from adapters.studies.persistence_study import PAPER, VARIANTS, StudyResult


def _figure(size: tuple[float, float] = (4.5, 4.0)) -> Figure:
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=120)
    return fig


def plot_diagrams(
    diagrams: Sequence[np.ndarray], title: str | None = None, path: str | Path | None = None
) -> Figure:
    """Birth-death plot of a list of diagrams (``H0``, ``H1``, ...): the finite pairs in the
    main panel, the essential classes (never dying) apart in a strip above it, one row per
    dimension at their birth values, with the count of each kind in the legend."""
    fig = _figure((4.8, 4.6))
    top, ax = fig.subplots(2, 1, sharex=True, height_ratios=(1, 5))
    dgms = [np.asarray(d, dtype=np.float64).reshape(-1, 2) for d in diagrams]
    values = np.concatenate([d[np.isfinite(d)] for d in dgms] + [np.zeros(0)])
    lo, hi = (values.min(), values.max()) if values.size else (0.0, 1.0)
    for dim, d in enumerate(dgms):
        finite = np.isfinite(d[:, 1])
        ax.scatter(d[finite, 0], d[finite, 1], s=12, alpha=0.8, color=f"C{dim}",
                   label=f"H{dim}: {int(finite.sum())} finite, {int((~finite).sum())} essential")
        top.scatter(d[~finite, 0], np.full(int((~finite).sum()), dim), s=60, alpha=0.6,
                    marker="|", color=f"C{dim}")  # fmt: skip
    ax.plot([lo, hi], [lo, hi], color="0.5", lw=0.8)
    ax.set_xlabel("birth (loss)")
    ax.set_ylabel("death (loss)")
    ax.legend(loc="lower right", fontsize=7)
    top.set_yticks(range(len(dgms)), [f"H{k}" for k in range(len(dgms))], fontsize=7)
    top.set_ylim(-0.6, len(dgms) - 0.4)
    top.set_ylabel("essential\n(birth)", fontsize=7)
    if title:
        top.set_title(title, fontsize=10)
    return _save(fig, path)


def plot_study(
    result: StudyResult,
    variant: str = "h0",
    radius: float | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Scatter of gap against the variant's persistence at ``radius`` (default: the radius
    with the highest R^2 for that variant), with the fitted line and the paper's numbers."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {VARIANTS}")
    if radius is None:
        r2 = [(-np.inf if np.isnan(v) else v, r) for r, v in result.r2_by_radius(variant)]
        radius = max(r2)[1]
    if (variant, radius) not in result.fits:
        raise ValueError(f"radius {radius} was not studied; radii: {result.settings.radii}")
    x, y, fit = result.pers[(variant, radius)], result.gaps, result.fits[(variant, radius)]
    fig = _figure()
    ax = fig.add_subplot()
    ax.scatter(x, y, s=18)
    if fit.degenerate is None:
        xs = np.linspace(x.min(), x.max(), 2)
        label = (f"gap = {fit.a:.3g} pers + {fit.b:.3g}\nR^2 = {fit.r2:.2f} "
                 f"[{fit.r2_ci[0]:.2f}, {fit.r2_ci[1]:.2f}], p = {fit.p_value:.3g}")  # fmt: skip
        ax.plot(xs, fit.a * xs + fit.b, color="C1", label=label)
    else:
        ax.plot([], [], " ", label=f"degenerate: {fit.degenerate}")
    ax.plot([], [], " ", label=f"paper: gap = {PAPER['a']} pers + {PAPER['b']}, "
                               f"R^2 = {PAPER['r2']}")  # fmt: skip
    ax.set_xlabel(f"total persistence ({variant}, radius {radius:g})")
    ax.set_ylabel("generalization gap")
    ax.legend(fontsize=7, loc="best")
    return _save(fig, path)


def plot_r2_vs_radius(result: StudyResult, path: str | Path | None = None) -> Figure:
    """Small multiples, one panel per variant: R^2 of its fit against the sampling radius
    (log axis, ticks at the studied radii) with its bootstrap interval, the paper's R^2
    dashed; the topological summaries in blue, the two baselines in grey."""
    radii = list(result.settings.radii)
    cols = 4
    rows = -(-len(VARIANTS) // cols)
    fig = _figure((2.4 * cols, 2.1 * rows))
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    for ax, v in zip(axes, VARIANTS):
        fits = [result.fits[(v, r)] for r in radii]
        r2 = np.array([f.r2 for f in fits], dtype=float)
        lo = np.array([f.r2_ci[0] for f in fits], dtype=float)
        hi = np.array([f.r2_ci[1] for f in fits], dtype=float)
        color = "0.45" if v in ("range", "loss") else "C0"
        # a percentile interval need not contain the estimate: clip the bars at the point
        below, above = np.clip(r2 - lo, 0, None), np.clip(hi - r2, 0, None)
        ax.errorbar(radii, r2, yerr=[below, above], marker="o", color=color, capsize=3)
        if np.isnan(r2).all():
            ax.text(0.5, 0.5, "no fit at any radius:\nthe summary is constant", ha="center",
                    va="center", fontsize=8, transform=ax.transAxes)  # fmt: skip
        ax.axhline(PAPER["r2"], color="k", ls="--", lw=0.8)
        ax.set_title(v + (" (baseline)" if v in ("range", "loss") else ""), fontsize=9)
        ax.set_xscale("log")
        ax.set_xticks(radii, [f"{r:g}" for r in radii], fontsize=7)
        ax.minorticks_off()
        ax.tick_params(axis="y", labelsize=7)
    for k, ax in enumerate(axes[len(VARIANTS):], len(VARIANTS)):
        ax.axis("off")
        axes[k - cols].xaxis.set_tick_params(labelbottom=True)  # the panel above has no neighbour
    axes[0].set_ylim(-0.05, 1.05)
    axes[0].set_xlim(min(radii) / 1.6, max(radii) * 1.6)
    fig.supxlabel("sampling radius (relative, filter-normalized)", fontsize=9)
    fig.supylabel("R^2 of gap ~ summary", fontsize=9)
    fig.suptitle(f"dashed: the paper's R^2 = {PAPER['r2']}; bars: bootstrap interval",
                 fontsize=9)  # fmt: skip
    return _save(fig, path)
