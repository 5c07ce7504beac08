"""Figures of the homotopy study: the barrier matrix and the single-linkage dendrogram."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def plot_barrier_matrix(result: dict[str, Any], path: str | Path, variant: str = "plain") -> Path:
    """Heatmap of the barrier matrix of ``result[variant]`` (rows ordered by class), saved
    as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    v = result[variant]
    M = np.array([[np.nan if x is None else x for x in row] for row in v["barrier_matrix"]])
    order = np.argsort(np.asarray(v["labels"]), kind="stable")
    fig, ax = plt.subplots(figsize=(6, 5))
    im = ax.imshow(M[np.ix_(order, order)], cmap="viridis", interpolation="nearest")
    fig.colorbar(im, ax=ax, label="loss barrier")
    ax.set_title(f"{variant}: {v['n_classes']} classes at eps={result['settings']['eps']:g}")
    ax.set_xlabel("network (sorted by class)")
    ax.set_ylabel("network (sorted by class)")
    return _save(fig, path)


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
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
