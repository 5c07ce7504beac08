"""Figures of the homotopy study: the barrier matrix and the single-linkage dendrogram."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np


def plot_barrier_matrix(result: dict[str, Any], path: str | Path) -> Path:
    """Heatmaps of the barrier matrix, plain and (when computed) up to permutation, side by
    side with one colour scale; rows ordered by class, class boundaries drawn, networks
    named when there is room. Saved as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = [v for v in ("plain", "aligned") if v in result]
    mats = {v: _matrix(result[v]) for v in variants}
    top = max(float(np.nanmax(m)) if np.isfinite(m).any() else 0.0 for m in mats.values())
    fig, axes = plt.subplots(1, len(variants), figsize=(5.5 * len(variants) + 1, 5),
                             squeeze=False, layout="constrained")  # fmt: skip
    names = [n["name"] for n in result.get("networks", [])]
    for ax, variant in zip(axes[0], variants):
        v = result[variant]
        labels = np.asarray(v["labels"])
        order = np.argsort(labels, kind="stable")
        im = ax.imshow(mats[variant][np.ix_(order, order)], cmap="viridis", vmin=0.0,
                       vmax=top or 1.0, interpolation="nearest")  # fmt: skip
        for edge in np.flatnonzero(np.diff(labels[order])) + 0.5:
            ax.axhline(edge, color="white", linewidth=1)
            ax.axvline(edge, color="white", linewidth=1)
        n = len(order)
        if len(names) == n and n <= 30:
            ticks = [names[i] for i in order]
            ax.set_xticks(range(n), ticks, rotation=90, fontsize=7)
            ax.set_yticks(range(n), ticks, fontsize=7)
        else:
            ax.set_xlabel("network (sorted by class)")
        what = "plain" if variant == "plain" else "up to permutation (aligned)"
        k = v["n_classes"]
        ax.set_title(f"{what}: {k} {'class' if k == 1 else 'classes'} at "
                     f"eps={result['settings']['eps']:g}", fontsize=10)  # fmt: skip
    fig.colorbar(im, ax=list(axes[0]), label="loss barrier (darker: lower)")
    return _save(fig, path)


def _matrix(v: dict[str, Any]) -> np.ndarray:
    return np.array([[np.nan if x is None else x for x in row] for row in v["barrier_matrix"]],
                    dtype=float)  # fmt: skip


def plot_dendrogram(result: dict[str, Any], path: str | Path, variant: str = "plain") -> Path:
    """Single-linkage dendrogram of minimal barriers of ``result[variant]`` with the
    threshold ``eps`` drawn, saved as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import dendrogram

    v = result[variant]
    Z = np.asarray(v["linkage"], dtype=float)
    eps = result["settings"]["eps"]
    fig, ax = plt.subplots(figsize=(8, 4))
    names = [n["name"] for n in result["networks"]]
    if len(Z):
        with warnings.catch_warnings():  # all merges at height 0: scipy's own y-limits are
            warnings.simplefilter("ignore", UserWarning)  # singular; ours are set below
            dendrogram(Z, ax=ax, labels=names, color_threshold=eps, leaf_rotation=90)
    top = max(float(Z[:, 2].max()) if len(Z) else 0.0, eps)
    ax.set_ylim(0.0, 1.1 * top)
    ax.axhline(eps, color="red", linestyle="--", linewidth=1, label=f"eps = {eps:g}")
    ax.set_ylabel("minimax loss barrier")
    ax.set_title(f"{variant}: single linkage of barriers")
    ax.legend()
    return _save(fig, path)


def _save(fig: Any, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
